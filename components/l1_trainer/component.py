"""L1Trainer: one fold of one L1 model; a pipeline has one per (model, fold).

For fold k the model trains on every other fold, validates on fold k (GAP@20 drives the
learning-rate plateau, early stopping and the restored best weights), then predicts
fold k (out-of-fold), the held-out split and test. L1Assembler joins the K fold outputs
of a model into its predictions (held-out and test: the mean over the fold models), so
on a cluster every (model, fold) trains at the same time.

Given SoftLabelIndexer's output and a `soft_label_weight` w, the model trains on
`w·soft + (1 − w)·hard` targets and is still validated on hard labels: the original's
second round of label denoising (docs/method.md, Stage L).

A frame-level family reads the `frame_features` input (FrameFeatures' output: the same
videos in the same splits) instead; its predictions have the same format and ids.
"""
import json

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Examples

import y8m_types
from components import artifact_properties
from components.l1_trainer import trainer
from schemas import splits
from schemas.video_level import NUM_CLASSES
from models.model_config import L1ModelConfig


@component
def L1Trainer(
    examples: InputArtifact[Examples],
    fold_predictions: OutputArtifact[y8m_types.FoldPredictions],
    model_config: Parameter[str],
    fold: Parameter[int],
    soft_labels: InputArtifact[y8m_types.SoftLabels] = None,
    frame_features: InputArtifact[Examples] = None,
    num_folds: Parameter[int] = 5,
    num_classes: Parameter[int] = NUM_CLASSES,
):
    """`model_config`: one of the profile's L1 models (models/model_config.py, `L1ModelConfig`)
    as JSON; a second-round model (soft_label_weight) reads `soft_labels` too. A frame-level
    family (models/frame_zoo.py) reads `frame_features` (FrameFeatures' output) instead of `examples`."""
    config = L1ModelConfig.from_json(model_config)
    summary = trainer.train_fold(examples, fold_predictions, config, fold=fold, num_folds=num_folds,
                                 num_classes=num_classes, soft_labels=soft_labels, frame_features=frame_features)
    artifact_properties.set_split_names(fold_predictions, list(splits.PREDICTION_SPLITS))
    fold_predictions.set_string_custom_property(artifact_properties.MODEL_NAME, config.name)
    fold_predictions.set_int_custom_property(artifact_properties.FOLD, fold)
    fold_predictions.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, json.dumps(summary))
