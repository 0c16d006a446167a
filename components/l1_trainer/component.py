"""L1Trainer: one fold of one L1 model; a pipeline has one per (model, fold).

For fold k the model trains on every other fold, validates on fold k (GAP@20 drives the
learning-rate plateau, early stopping and the restored best weights), then predicts
fold k (out-of-fold), the held-out split and test (components/l1_trainer/trainer.py).
L1Assembler joins the K fold outputs of a model into its predictions (held-out and test:
the mean over the fold models), so on a cluster every (model, fold) trains at the same time.

Given SoftLabelIndexer's output and a `soft_label_weight` w, the model trains on
`w·soft + (1 − w)·hard` targets and is still validated on hard labels: the original's
second round of label denoising (docs/method.md, Stage L).

A frame-level family reads the `frame_features` input (FrameFeatures' output: the same
videos in the same splits) instead; its predictions have the same format and ids.
"""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples

import y8m_types
from components.l1_trainer import executor
from schemas.video_level import NUM_CLASSES


class L1TrainerSpec(types.ComponentSpec):
    PARAMETERS = {"model_config": ExecutionParameter(type=str), "fold": ExecutionParameter(type=int),
                  "num_folds": ExecutionParameter(type=int), "num_classes": ExecutionParameter(type=int)}
    INPUTS = {"examples": ChannelParameter(type=Examples),
              "soft_labels": ChannelParameter(type=y8m_types.SoftLabels, optional=True),
              "frame_features": ChannelParameter(type=Examples, optional=True)}
    OUTPUTS = {"fold_predictions": ChannelParameter(type=y8m_types.FoldPredictions)}


class L1Trainer(base_component.BaseComponent):
    SPEC_CLASS = L1TrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, examples, model_config: str, fold: int, num_folds: int, soft_labels=None,
                 frame_features=None, num_classes: int = NUM_CLASSES):
        """`model_config`: one of the profile's L1 models (models/model_config.py, `L1ModelConfig`)
        as JSON; a second-round model (soft_label_weight) reads `soft_labels` too. A frame-level
        family (models/frame_zoo.py) reads `frame_features` (FrameFeatures' output) instead of `examples`."""
        super().__init__(spec=L1TrainerSpec(
            examples=examples, soft_labels=soft_labels, frame_features=frame_features, model_config=model_config,
            fold=fold, num_folds=num_folds, num_classes=num_classes,
            fold_predictions=types.Channel(type=y8m_types.FoldPredictions)))
