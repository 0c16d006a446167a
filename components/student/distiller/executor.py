"""The Distiller's executor: one call into components/student/distill.py (docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components import model_inputs
from components.student import distill
from components.student.config import StudentConfig


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        distill.distill_student(model_inputs.model_artifacts(input_dict, model_inputs.NETWORK_KEY_PREFIX),
                                single(input_dict["transform_graph"]), single(input_dict["split_examples"]),
                                single(output_dict["model"]), single(output_dict["predictions"]),
                                StudentConfig.from_json(exec_properties["student_config"]),
                                exec_properties["num_classes"], exec_properties["max_model_bytes"])
