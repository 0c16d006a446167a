"""StudentTrainer's executor: one call into components/student/distill.py (docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components.student import distill
from components.student.config import StudentConfig


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        distill.train_student_network(single(input_dict["soft_labels"]), single(input_dict["transform_graph"]),
                                      single(output_dict["network"]),
                                      StudentConfig.from_json(exec_properties["student_config"]),
                                      exec_properties["network_index"], exec_properties["num_folds"],
                                      exec_properties["num_classes"])
