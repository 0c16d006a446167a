"""Distiller: the student (one network, or several averaged) on soft ⊕ hard labels, exported for serving.

A tensorflow-transform analysis (a Beam job) over the student's training videos writes
the preprocessing graph to `<model>/transform`; the student trains on its output, and
the SavedModel in `<model>/Format-Serving` (where the standard Pusher looks) embeds it.
The student's predictions on the held-out split and test are made by that exported
graph from serialized Examples: what is judged is exactly what is pushed.
"""
import json
import os

import apache_beam as beam
import tensorflow as tf
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Examples, Model

import y8m_types
from components import artifact_properties, splits
from components.distiller import distill
from models import layers
from models.model_config import StudentConfig
from schemas.video_level import NUM_CLASSES
from common.errors import UserError


@component(use_beam=True)
def Distiller(
    soft_labels: InputArtifact[y8m_types.SoftLabels],
    split_examples: InputArtifact[Examples],
    model: OutputArtifact[Model],
    predictions: OutputArtifact[y8m_types.Predictions],
    student_config: Parameter[str],
    num_folds: Parameter[int] = 5,
    num_classes: Parameter[int] = NUM_CLASSES,
    max_model_bytes: Parameter[int] = 10**9,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    """`student_config`: the profile's student (models/model_config.py, `StudentConfig`) as JSON."""
    config = StudentConfig.from_json(student_config)
    networks = distill.build_networks(config, num_classes)
    student = layers.averaged(networks)  # what is exported; shares the networks' layers
    distill.check_weights_fit(student, config.weights_dtype, max_model_bytes)

    transform_dir = os.path.join(model.uri, distill.TRANSFORM_DIR)
    analysis_tmp = os.path.join(model.uri, "transform-analysis-tmp")
    with beam_pipeline as pipeline:
        distill.analyze_training_features(pipeline, soft_labels, num_folds, transform_dir,
                                          config.standardize, analysis_tmp)
    if tf.io.gfile.exists(analysis_tmp):
        tf.io.gfile.rmtree(analysis_tmp)

    summaries = distill.train_networks(networks, soft_labels, config, num_folds, num_classes, transform_dir,
                                      log_dir=os.path.join(model.uri, "logs"))
    exported = distill.export_and_predict(student, model, split_examples, predictions, transform_dir,
                                          config.weights_dtype)
    if exported["saved_model_bytes"] > max_model_bytes:
        raise UserError(f"the student's SavedModel ({config.weights_dtype} weights) is "
                        f"{exported['saved_model_bytes']:,} bytes, over the budget of {max_model_bytes:,} bytes")
    splits.set_split_names(predictions, list(splits.STUDENT_PREDICTION_SPLITS))
    predictions.set_string_custom_property(artifact_properties.MODEL_NAME, "student")
    predictions.set_string_custom_property(artifact_properties.KIND, "student")
    model.set_int_custom_property(artifact_properties.SAVED_MODEL_BYTES, exported["saved_model_bytes"])
    model.set_int_custom_property(artifact_properties.PARAMETERS, int(student.count_params()))
    model.set_string_custom_property(artifact_properties.WEIGHTS_DTYPE, config.weights_dtype)
    model.set_int_custom_property(artifact_properties.STANDARDIZE, int(config.standardize))
    # Size and held-out GAP per weights dtype: the exported one, and float32 beside float16.
    model.set_string_custom_property(artifact_properties.PRECISIONS, json.dumps(exported["precisions"]))
    model.set_int_custom_property(artifact_properties.MEMBERS, len(networks))
    model.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, json.dumps(
        [{key: value for key, value in summary.items() if key != "history"} for summary in summaries]))
