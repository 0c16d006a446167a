"""SoftLabelIndexer's executor: one call into components/soft_label_indexer/index.py
(docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components.soft_label_indexer import index


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        index.index_soft_labels(single(input_dict["split_examples"]), single(input_dict["stack_predictions"]),
                                single(output_dict["soft_labels"]), exec_properties["num_folds"],
                                self._make_beam_pipeline())
