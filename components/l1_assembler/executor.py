"""L1Assembler's executor: one call into components/l1_assembler/assemble.py (docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components import model_inputs
from components.l1_assembler import assemble
from models.model_config import L1ModelConfig


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        assemble.assemble_model(model_inputs.model_artifacts(input_dict, model_inputs.FOLD_KEY_PREFIX),
                                artifact_utils.get_single_instance(output_dict["predictions"]),
                                exec_properties["num_folds"], L1ModelConfig.from_json(exec_properties["model_config"]))
