"""StudentTransform's executor: one call into components/student/distill.py (docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components.student import distill
from components.student.config import StudentConfig


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        distill.analyze_student_inputs(single(input_dict["soft_labels"]), single(output_dict["transform_graph"]),
                                       StudentConfig.from_json(exec_properties["student_config"]),
                                       exec_properties["num_folds"], exec_properties["num_classes"],
                                       exec_properties["max_model_bytes"], self._make_beam_pipeline())
