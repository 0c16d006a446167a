"""SoftLabelIndexer: the sparse video × class soft-label matrix, attached to the videos.

Reads the stack's out-of-fold probabilities (every labelled, non-held-out video) and
writes the training videos with their soft labels, partitioned by fold like the input
(components/soft_label_indexer/index.py). No test or held-out video gets soft labels:
nothing may train on them.
"""
from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples

import y8m_types
from components.soft_label_indexer import executor


class SoftLabelIndexerSpec(types.ComponentSpec):
    PARAMETERS = {"num_folds": ExecutionParameter(type=int)}
    INPUTS = {"split_examples": ChannelParameter(type=Examples),
              "stack_predictions": ChannelParameter(type=y8m_types.Predictions)}
    OUTPUTS = {"soft_labels": ChannelParameter(type=y8m_types.SoftLabels)}


class SoftLabelIndexer(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = SoftLabelIndexerSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, split_examples, stack_predictions, num_folds: int):
        super().__init__(spec=SoftLabelIndexerSpec(
            split_examples=split_examples, stack_predictions=stack_predictions, num_folds=num_folds,
            soft_labels=types.Channel(type=y8m_types.SoftLabels)))
