"""FoldSplitter's executor: one call into components/fold_splitter/split.py (docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components.fold_splitter import split


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        split.split_folds(single(input_dict["examples"]), single(output_dict["split_examples"]),
                          single(output_dict["fold_table"]), exec_properties["num_folds"],
                          exec_properties["holdout_fraction"], exec_properties["seed"], self._make_beam_pipeline())
