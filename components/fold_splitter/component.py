"""FoldSplitter: every labelled video to its fold (or the held-out split), by its id.

Outputs the examples partitioned into `fold_0..fold_{K-1}`, `holdout` and `test`, and
the fold table (`folds-*.csv`: `video_id,split`), the one assignment all stages share
(components/fold_splitter/split.py).
"""
from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples

import y8m_types
from components.fold_splitter import executor


class FoldSplitterSpec(types.ComponentSpec):
    PARAMETERS = {"num_folds": ExecutionParameter(type=int), "holdout_fraction": ExecutionParameter(type=float),
                  "seed": ExecutionParameter(type=int)}
    INPUTS = {"examples": ChannelParameter(type=Examples)}
    OUTPUTS = {"split_examples": ChannelParameter(type=Examples),
               "fold_table": ChannelParameter(type=y8m_types.FoldTable)}


class FoldSplitter(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = FoldSplitterSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples, num_folds: int, holdout_fraction: float = 0.1, seed: int = 0):
        super().__init__(spec=FoldSplitterSpec(
            examples=examples, num_folds=num_folds, holdout_fraction=holdout_fraction, seed=seed,
            split_examples=types.Channel(type=Examples), fold_table=types.Channel(type=y8m_types.FoldTable)))
