"""L1Assembler: an L1 model's K fold outputs (L1Trainer, one task per fold) joined into
the model's predictions: splits `oof`, `holdout` and `test`, keyed by video id, the
artifact PredictionMerger and GapEvaluator read (components/l1_assembler/assemble.py)."""
import json

from tfx import types
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.types import artifact_utils
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

import y8m_types
from components import artifact_properties, model_inputs
from components.l1_assembler import assemble
from models.model_config import L1ModelConfig
from schemas import splits

FOLD_KEY_PREFIX = "fold_predictions_"


class L1AssemblerSpec(types.ComponentSpec):
    """The fixed keys; one `fold_predictions_<k>` key per fold is added per pipeline."""
    PARAMETERS = {"model_config": ExecutionParameter(type=str), "num_folds": ExecutionParameter(type=int)}
    INPUTS = {}
    OUTPUTS = {"predictions": ChannelParameter(type=y8m_types.Predictions)}


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        config = L1ModelConfig.from_json(exec_properties["model_config"])
        predictions = artifact_utils.get_single_instance(output_dict["predictions"])
        fold_summaries = assemble.assemble(model_inputs.model_artifacts(input_dict, FOLD_KEY_PREFIX),
                                           predictions, exec_properties["num_folds"], config.name)
        artifact_properties.set_split_names(predictions, list(splits.PREDICTION_SPLITS))
        predictions.set_string_custom_property(artifact_properties.MODEL_NAME, config.name)
        predictions.set_string_custom_property(artifact_properties.KIND, "l1")
        if config.second_round:
            # Its out-of-fold targets came from teachers trained on those folds: judged on held-out only.
            predictions.set_float_custom_property(artifact_properties.SOFT_LABEL_WEIGHT, config.soft_label_weight)
        predictions.set_string_custom_property(artifact_properties.TRAINING_SUMMARY,
                                               json.dumps({"folds": fold_summaries}))


class L1Assembler(base_component.BaseComponent):
    SPEC_CLASS = L1AssemblerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, fold_predictions: list, model_config: str, num_folds: int):
        """`fold_predictions`: the model's L1Trainer outputs, one channel per fold."""
        spec_class = model_inputs.spec_with_model_inputs(L1AssemblerSpec, len(fold_predictions),
                                                         FOLD_KEY_PREFIX, y8m_types.FoldPredictions)
        super().__init__(spec=spec_class(
            model_config=model_config, num_folds=num_folds, predictions=types.Channel(type=y8m_types.Predictions),
            **model_inputs.model_input_channels(fold_predictions, FOLD_KEY_PREFIX)))
