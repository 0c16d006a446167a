"""LGBMStacker's executor: one call into components/lgbm_stacker/stacker.py (docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components.lgbm_stacker import stacker
from components.lgbm_stacker.settings import StackerSettings


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        stacker.stack_merged(single(input_dict["merged"]), single(output_dict["predictions"]),
                             single(output_dict["model"]), StackerSettings.from_json(exec_properties["stacker_settings"]),
                             exec_properties["num_folds"], exec_properties["num_classes"])
