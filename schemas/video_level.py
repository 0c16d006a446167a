"""The YouTube-8M 2018 video-level record (`tf.train.Example`) and its validation.

Keys: `id` (bytes, anonymised 4-char id), `labels` (int64 list, 0..3861; empty for
test), `mean_rgb` (1024 floats), `mean_audio` (128 floats), both dequantized means.
"""
from typing import Iterator, NamedTuple

import numpy as np
import tensorflow as tf

from common.errors import InvalidInputError

NUM_CLASSES = 3862
RGB_SIZE = 1024
AUDIO_SIZE = 128
FEATURE_SIZE = RGB_SIZE + AUDIO_SIZE

ID_KEY = "id"
LABELS_KEY = "labels"
RGB_KEY = "mean_rgb"
AUDIO_KEY = "mean_audio"


class VideoRecord(NamedTuple):
    video_id: str
    labels: np.ndarray  # int64 class ids
    mean_rgb: np.ndarray  # float32 [RGB_SIZE]
    mean_audio: np.ndarray  # float32 [AUDIO_SIZE]


def feature_spec() -> dict:
    """The `tf.io.parse_example` spec of a video-level record."""
    return {
        ID_KEY: tf.io.FixedLenFeature([], tf.string),
        LABELS_KEY: tf.io.VarLenFeature(tf.int64),
        RGB_KEY: tf.io.FixedLenFeature([RGB_SIZE], tf.float32),
        AUDIO_KEY: tf.io.FixedLenFeature([AUDIO_SIZE], tf.float32),
    }


def make_example(video_id: str, labels, mean_rgb, mean_audio) -> tf.train.Example:
    return tf.train.Example(features=tf.train.Features(feature={
        ID_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[video_id.encode()])),
        LABELS_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(x) for x in labels])),
        RGB_KEY: tf.train.Feature(float_list=tf.train.FloatList(value=mean_rgb)),
        AUDIO_KEY: tf.train.Feature(float_list=tf.train.FloatList(value=mean_audio)),
    }))


def parse_video_record(serialized: bytes, num_classes: int = NUM_CLASSES) -> VideoRecord:
    """Parses and validates one record; raises ValueError saying what is wrong."""
    try:
        example = tf.train.Example.FromString(serialized)
    except Exception as error:  # protobuf raises its own DecodeError
        raise ValueError(f"not a tf.train.Example ({error})") from None
    features = example.features.feature
    for key in (ID_KEY, RGB_KEY, AUDIO_KEY):
        if key not in features:
            raise ValueError(f"missing feature '{key}'")
    ids = features[ID_KEY].bytes_list.value
    if len(ids) != 1 or not ids[0]:
        raise ValueError(f"'{ID_KEY}' must hold exactly one non-empty bytes value")
    video_id = ids[0].decode("utf-8", errors="replace")
    mean_rgb = np.asarray(features[RGB_KEY].float_list.value, dtype=np.float32)
    mean_audio = np.asarray(features[AUDIO_KEY].float_list.value, dtype=np.float32)
    if mean_rgb.shape != (RGB_SIZE,):
        raise ValueError(f"'{RGB_KEY}' of video {video_id} has {mean_rgb.size} values, expected {RGB_SIZE}")
    if mean_audio.shape != (AUDIO_SIZE,):
        raise ValueError(f"'{AUDIO_KEY}' of video {video_id} has {mean_audio.size} values, expected {AUDIO_SIZE}")
    if not (np.isfinite(mean_rgb).all() and np.isfinite(mean_audio).all()):
        raise ValueError(f"features of video {video_id} hold NaN or infinite values")
    labels = np.asarray(features[LABELS_KEY].int64_list.value if LABELS_KEY in features else [],
                        dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(f"label {bad} of video {video_id} is outside the vocabulary 0..{num_classes - 1}")
    return VideoRecord(video_id, labels, mean_rgb, mean_audio)


def compression_of(path: str) -> str:
    return "GZIP" if path.endswith(".gz") else ""


def read_records(path: str) -> Iterator[tuple[int, bytes]]:
    """Yields (record index, serialized record) of one TFRecord file (gzip by extension)."""
    dataset = tf.data.TFRecordDataset(path, compression_type=compression_of(path))
    index = 0
    try:
        for record in dataset.as_numpy_iterator():
            yield index, record
            index += 1
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as error:
        raise InvalidInputError(
            f"{path}: record {index}: not a valid TFRecord file ({error.message.splitlines()[0]})") from None


def read_validated(path: str, num_classes: int = NUM_CLASSES) -> Iterator[tuple[VideoRecord, bytes]]:
    """Yields (parsed record, serialized record) of a video-level file, validating each;
    errors name the file and record."""
    for index, serialized in read_records(path):
        try:
            yield parse_video_record(serialized, num_classes), serialized
        except ValueError as error:
            raise InvalidInputError(f"{path}: record {index}: {error}") from None


def read_video_records(path: str, num_classes: int = NUM_CLASSES) -> Iterator[VideoRecord]:
    """Reads and validates every record of a video-level file."""
    return (record for record, _ in read_validated(path, num_classes))
