"""L1Trainer: one model config trained fold by fold, giving out-of-fold predictions.

For fold k the model trains on every other fold, validates on fold k (GAP@20 drives the
learning-rate plateau, early stopping and the restored best weights), then predicts
fold k (out-of-fold), the held-out split and test. Held-out and test predictions are
the mean over the K fold models. Predictions are stored keyed by video id.
"""
import json

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Examples

import y8m_types
from components import splits
from components.l1_trainer import trainer
from schemas.video_level import NUM_CLASSES


@component
def L1Trainer(
    examples: InputArtifact[Examples],
    predictions: OutputArtifact[y8m_types.Predictions],
    model_config: Parameter[str],
    num_folds: Parameter[int] = 5,
    num_classes: Parameter[int] = NUM_CLASSES,
):
    """`model_config` is a JSON object: name, family, kwargs, training (see pipeline/profile.py)."""
    config = json.loads(model_config)
    summary = trainer.train_out_of_fold(
        examples, predictions, config, num_folds=num_folds, num_classes=num_classes)
    splits.set_split_names(predictions, list(trainer.PREDICTION_SPLITS))
    predictions.set_string_custom_property("model_name", config["name"])
    predictions.set_string_custom_property("kind", "l1")
    predictions.set_string_custom_property("training_summary", json.dumps(summary))
