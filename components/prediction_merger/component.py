"""PredictionMerger: every L1 model's predictions joined by video id, as candidate rows.

Outputs splits `oof` (labelled fold videos, with their fold), `holdout` and `test`
(components/prediction_merger/merge.py).
"""
from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples

import y8m_types
from components import model_inputs
from components.prediction_merger import executor


class PredictionMergerSpec(types.ComponentSpec):
    """The fixed keys; the per-model prediction keys are added per pipeline."""
    PARAMETERS = {"num_folds": ExecutionParameter(type=int)}
    INPUTS = {"split_examples": ChannelParameter(type=Examples)}
    OUTPUTS = {"merged": ChannelParameter(type=y8m_types.MergedPredictions)}


class PredictionMerger(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = PredictionMergerSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, split_examples, predictions: list, num_folds: int):
        """`predictions`: one channel per L1 model (each L1Trainer's `predictions`)."""
        spec_class = model_inputs.spec_with_model_inputs(PredictionMergerSpec, len(predictions))
        super().__init__(spec=spec_class(
            split_examples=split_examples, num_folds=num_folds,
            merged=types.Channel(type=y8m_types.MergedPredictions),
            **model_inputs.model_input_channels(predictions)))
