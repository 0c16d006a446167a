"""FrameFeatures's executor: one call into components/frame_features/transforms.py
(docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components.frame_features import transforms


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        transforms.write_frame_features(
            exec_properties["frame_patterns"], single(input_dict["split_examples"]),
            single(output_dict["frame_features"]), exec_properties["num_folds"], exec_properties["num_classes"],
            exec_properties["max_frames"], exec_properties["max_bad_fraction"], self._make_beam_pipeline())
