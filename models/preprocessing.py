"""The student's input preprocessing as one tensorflow-transform graph, for training and serving.

`preprocessing_fn` turns the raw video-level keys into the model input `features`
[batch, 1152] = [mean_rgb; mean_audio]. With `standardize` each of the 1152 dimensions
is scaled to zero mean and unit variance by statistics of a full pass over the training
videos (`tft.scale_to_z_score`, elementwise); without it the transform only assembles
the vector. `analyze` runs that pass as a Beam job and writes the transform graph; the
trainer applies it to its batches (`transform_layer`) and the serving signature embeds
the same graph (models/serving.py), so training and serving run identical ops with
identical constants and cannot drift.

The pass streams: its memory is one batch of `ANALYSIS_BATCH_SIZE` records and the
analyzers' accumulators (a count, a mean and a variance for each of the 1152 dimensions),
whatever the number of videos.
"""
from typing import Callable

import apache_beam as beam
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import schema_utils
from tfx_bsl.public import tfxio

from schemas import video_level

FEATURES_KEY = "features"
RAW_KEYS = (video_level.RGB_KEY, video_level.AUDIO_KEY)
# Records a batch of the analysis (about 5 kB each): the reader batches them, and the
# analyzers reduce a batch to its count, mean and variance before the next one. Fixed,
# rather than tuned by Beam, so that it bounds the stage's memory by configuration.
ANALYSIS_BATCH_SIZE = 1000


def raw_feature_spec() -> dict:
    """What the transform reads of a video-level record (ids and labels stay outside it)."""
    spec = video_level.feature_spec()
    return {key: spec[key] for key in RAW_KEYS}


def preprocessing_fn_for(standardize: bool) -> Callable[[dict], dict]:
    """The TFT preprocessing_fn: raw `mean_rgb`, `mean_audio` → `features`."""
    def preprocessing_fn(inputs: dict) -> dict:
        parts = [inputs[key] for key in RAW_KEYS]
        if standardize:
            parts = [tft.scale_to_z_score(part, elementwise=True) for part in parts]
        return {FEATURES_KEY: tf.concat(parts, axis=1)}
    return preprocessing_fn


def analyze(pipeline: beam.Pipeline, file_pattern: str, transform_dir: str,
            standardize: bool, temp_dir: str, batch_size: int = ANALYSIS_BATCH_SIZE) -> None:
    """Adds the full-pass analysis over the video-level TFRecords (gzip by extension) to
    `pipeline`; the transform graph is in `transform_dir` once the pipeline has run.
    `temp_dir` takes TFT's intermediate files; the caller removes it after the run.

    Memory: `batch_size` records at a time and the accumulators, not the videos. That
    holds because the records come from one read of one file pattern: tfxio reads several
    patterns as one read each, flattened, and Beam's local runner materializes a Flatten
    of several inputs whole before its consumer runs (measured: about 20 kB a video held).
    """
    source = tfxio.TFExampleRecord(file_pattern=[file_pattern],
                                   schema=schema_utils.schema_from_feature_spec(raw_feature_spec()),
                                   telemetry_descriptors=["y8m", "student-preprocessing"])
    with tft_beam.Context(temp_dir=temp_dir):
        transform_fn = ((pipeline | "ReadTrainingVideos" >> source.BeamSource(batch_size),
                         source.TensorAdapterConfig())
                        | "Analyze" >> tft_beam.AnalyzeDataset(preprocessing_fn_for(standardize)))
        _ = transform_fn | "WriteTransformGraph" >> tft_beam.WriteTransformFn(transform_dir)


def load(transform_dir: str) -> tft.TFTransformOutput:
    return tft.TFTransformOutput(transform_dir)


def transform_layer(transform_output: tft.TFTransformOutput):
    """The transform graph as a (tf_keras) layer: raw-key dict in, `features` dict out."""
    return transform_output.transform_features_layer()


def split_raw(features):
    """A [batch, 1152] `[mean_rgb; mean_audio]` array or tensor as the transform's raw keys."""
    return {video_level.RGB_KEY: features[:, :video_level.RGB_SIZE],
            video_level.AUDIO_KEY: features[:, video_level.RGB_SIZE:]}
