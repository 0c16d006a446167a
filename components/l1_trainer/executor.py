"""L1Trainer's executor: one call into components/l1_trainer/trainer.py (docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components.l1_trainer import trainer
from models.model_config import L1ModelConfig


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        optional = {key: single(input_dict[key]) if input_dict.get(key) else None
                    for key in ("soft_labels", "frame_features")}
        trainer.train_and_record_fold(single(input_dict["examples"]), single(output_dict["fold_predictions"]),
                                      L1ModelConfig.from_json(exec_properties["model_config"]),
                                      exec_properties["fold"], exec_properties["num_folds"],
                                      exec_properties["num_classes"], **optional)
