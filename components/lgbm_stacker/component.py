"""LGBMStacker: one LightGBM binary classifier over (video, candidate) rows, K-fold.

Trained on the same folds as the L1 models (at most `max_train_videos` of their videos,
sampled by id), with early stopping on the left-out fold; gives out-of-fold
probabilities for every labelled video and the mean of the K models for the held-out
split and test, reading and writing the splits a chunk of videos at a time. The
boosters are saved in LightGBM's text format.
"""
import json

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Model

import y8m_types
from components import artifact_properties
from components.lgbm_stacker import stacker
from components.lgbm_stacker.settings import StackerSettings
from schemas import splits
from schemas.video_level import NUM_CLASSES

@component
def LGBMStacker(
    merged: InputArtifact[y8m_types.MergedPredictions],
    predictions: OutputArtifact[y8m_types.Predictions],
    model: OutputArtifact[Model],
    stacker_settings: Parameter[str] = "{}",
    num_folds: Parameter[int] = 5,
    num_classes: Parameter[int] = NUM_CLASSES,
):
    settings = StackerSettings.from_json(stacker_settings)
    merged_names = json.loads(merged.get_string_custom_property(artifact_properties.FEATURE_NAMES))
    summary = stacker.stack(stacker.split_sources(merged), merged_names, settings, num_folds, num_classes,
                            predictions, model.uri)
    artifact_properties.set_split_names(predictions, list(splits.PREDICTION_SPLITS))
    predictions.set_string_custom_property(artifact_properties.MODEL_NAME, "stack")
    predictions.set_string_custom_property(artifact_properties.KIND, "stack")
    predictions.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, json.dumps(summary))
    model.set_string_custom_property(artifact_properties.FEATURE_NAMES, json.dumps(summary["feature_names"]))
