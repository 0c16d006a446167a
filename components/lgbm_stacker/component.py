"""LGBMStacker: one LightGBM binary classifier over (video, candidate) rows, K-fold.

Trained on the same folds as the L1 models (at most `max_train_videos` of their videos,
sampled by id), with early stopping on the left-out fold; gives out-of-fold
probabilities for every labelled video and the mean of the K models for the held-out
split and test, reading and writing the splits a chunk of videos at a time. The
boosters are saved in LightGBM's text format (components/lgbm_stacker/stacker.py).
"""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Model

import y8m_types
from components.lgbm_stacker import executor
from schemas.video_level import NUM_CLASSES


class LGBMStackerSpec(types.ComponentSpec):
    PARAMETERS = {"stacker_settings": ExecutionParameter(type=str), "num_folds": ExecutionParameter(type=int),
                  "num_classes": ExecutionParameter(type=int)}
    INPUTS = {"merged": ChannelParameter(type=y8m_types.MergedPredictions)}
    OUTPUTS = {"predictions": ChannelParameter(type=y8m_types.Predictions), "model": ChannelParameter(type=Model)}


class LGBMStacker(base_component.BaseComponent):
    SPEC_CLASS = LGBMStackerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, merged, num_folds: int, stacker_settings: str = "{}", num_classes: int = NUM_CLASSES):
        """`stacker_settings`: the profile's stacker (components/lgbm_stacker/settings.py) as JSON."""
        super().__init__(spec=LGBMStackerSpec(
            merged=merged, stacker_settings=stacker_settings, num_folds=num_folds, num_classes=num_classes,
            predictions=types.Channel(type=y8m_types.Predictions), model=types.Channel(type=Model)))
