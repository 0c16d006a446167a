"""StudentTransform: the student's input preprocessing, a tensorflow-transform graph
analysed (a Beam job) over the student's training videos; the first of the student's
tasks, it also checks that the student's weights fit the size budget before any
network trains (components/student/distill.py). The analysis streams the folds: its
memory is a batch of records and the per-feature accumulators (models/preprocessing.py)."""
import os

import apache_beam as beam
import tensorflow as tf
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import TransformGraph

import y8m_types
from components.student import distill
from models import layers
from components.student.config import StudentConfig
from schemas.video_level import NUM_CLASSES


@component(use_beam=True)
def StudentTransform(
    soft_labels: InputArtifact[y8m_types.SoftLabels],
    transform_graph: OutputArtifact[TransformGraph],
    student_config: Parameter[str],
    num_folds: Parameter[int] = 5,
    num_classes: Parameter[int] = NUM_CLASSES,
    max_model_bytes: Parameter[int] = 10**9,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    """`student_config`: the profile's student (components/student/config.py, `StudentConfig`) as JSON."""
    config = StudentConfig.from_json(student_config)
    distill.check_weights_fit(layers.averaged(distill.build_networks(config, num_classes)),
                              config.weights_dtype, max_model_bytes)
    analysis_tmp = os.path.join(transform_graph.uri, "analysis-tmp")
    with beam_pipeline as pipeline:
        distill.analyze_training_features(pipeline, soft_labels, num_folds, transform_graph.uri,
                                          config.standardize, analysis_tmp)
    if tf.io.gfile.exists(analysis_tmp):
        tf.io.gfile.rmtree(analysis_tmp)
