"""PredictionMerger's executor: one call into components/prediction_merger/merge.py
(docs/design.md, "Component shape")."""
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components import model_inputs
from components.prediction_merger import merge


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        merge.merge_all(artifact_utils.get_single_instance(input_dict["split_examples"]),
                        model_inputs.model_artifacts(input_dict),
                        artifact_utils.get_single_instance(output_dict["merged"]),
                        exec_properties["num_folds"], self._make_beam_pipeline())
