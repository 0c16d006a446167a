"""L1Assembler: an L1 model's K fold outputs (L1Trainer, one task per fold) joined into
the model's predictions: splits `oof`, `holdout` and `test`, keyed by video id, the
artifact PredictionMerger and GapEvaluator read (components/l1_assembler/assemble.py)."""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

import y8m_types
from components import model_inputs
from components.l1_assembler import executor


class L1AssemblerSpec(types.ComponentSpec):
    """The fixed keys; one `fold_predictions_<k>` key per fold is added per pipeline."""
    PARAMETERS = {"model_config": ExecutionParameter(type=str), "num_folds": ExecutionParameter(type=int)}
    INPUTS = {}
    OUTPUTS = {"predictions": ChannelParameter(type=y8m_types.Predictions)}


class L1Assembler(base_component.BaseComponent):
    SPEC_CLASS = L1AssemblerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, fold_predictions: list, model_config: str, num_folds: int):
        """`fold_predictions`: the model's L1Trainer outputs, one channel per fold."""
        spec_class = model_inputs.spec_with_model_inputs(L1AssemblerSpec, len(fold_predictions),
                                                         model_inputs.FOLD_KEY_PREFIX, y8m_types.FoldPredictions)
        super().__init__(spec=spec_class(
            model_config=model_config, num_folds=num_folds, predictions=types.Channel(type=y8m_types.Predictions),
            **model_inputs.model_input_channels(fold_predictions, model_inputs.FOLD_KEY_PREFIX)))
