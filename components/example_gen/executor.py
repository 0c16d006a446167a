"""VideoExampleGen's executor: one call into components/example_gen/video_records.py
(docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components.example_gen import video_records


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        video_records.import_videos(artifact_utils.get_single_instance(output_dict["examples"]),
                                    exec_properties["labelled_patterns"], exec_properties["test_patterns"],
                                    exec_properties["num_classes"], exec_properties["max_bad_fraction"],
                                    self._make_beam_pipeline())
