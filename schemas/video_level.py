"""The YouTube-8M 2018 video-level record (`tf.train.Example`) and its validation.

Keys: `id` (bytes, anonymised 4-char id), `labels` (int64 list, 0..3861; empty for
test), `mean_rgb` (1024 floats), `mean_audio` (128 floats), both dequantized means.
"""
import re
from typing import Iterator, NamedTuple

import numpy as np
import tensorflow as tf

from common.errors import InvalidInputError, one_line

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


GZIP_MAGIC = b"\x1f\x8b"


def unreadable_reason(path: str, error: tf.errors.OpError) -> str:
    """What is wrong with a file TensorFlow could not read as TFRecords, and what to do,
    in the user's words (TensorFlow's message names its own ops and functions)."""
    detail = one_line(error.message)
    cut = re.search(r"truncated record at (\d+)", detail)
    if cut:
        return f"the file is cut short (a record at byte {cut.group(1)} is incomplete): copy it again"
    if "Is this even a TFRecord file" in detail:
        with tf.io.gfile.GFile(path, "rb") as source:
            if source.read(len(GZIP_MAGIC)) == GZIP_MAGIC and not compression_of(path):
                return "not a valid TFRecord file: it is gzip-compressed; gunzip it, or rename it to end in .gz"
        return "not a valid TFRecord file (it does not start with a TFRecord header)"
    corrupt = re.search(r"corrupted record at (\d+)", detail)
    if corrupt:
        return (f"corrupted record at byte {corrupt.group(1)} (its checksum does not match): "
                "the file is damaged; copy it again")
    if isinstance(error, (tf.errors.DataLossError, tf.errors.InvalidArgumentError)):
        return f"not a valid TFRecord file ({detail})"
    return f"cannot be read ({detail})"


class Damage(NamedTuple):
    """Where a TFRecord file stops being readable: the index of the first lost record, and why."""
    index: int
    reason: str


# A record is framed by its 8-byte length, a 4-byte checksum of it, and a 4-byte checksum of the data.
RECORD_FRAMING_BYTES = 16


def scan_records(path: str) -> Iterator[tuple[int, bytes] | Damage]:
    """Yields (record index, serialized record) of one TFRecord file (gzip by extension),
    then, when the rest of the file cannot be read, one Damage."""
    compression = compression_of(path)
    dataset = tf.data.TFRecordDataset(path, compression_type=compression)
    index = offset = 0
    try:
        for record in dataset.as_numpy_iterator():
            yield index, record
            index += 1
            offset += RECORD_FRAMING_BYTES + len(record)
    except tf.errors.OpError as error:
        yield Damage(index, unreadable_reason(path, error))
        return
    # TensorFlow ends a file cut inside a record's length header without a word.
    size = tf.io.gfile.stat(path).length
    if not compression and offset != size:
        yield Damage(index, f"the file is cut short (its last {size - offset} bytes are not a whole record): "
                            "copy it again")


def read_records(path: str) -> Iterator[tuple[int, bytes]]:
    """Yields (record index, serialized record) of one TFRecord file (gzip by extension);
    a damaged file raises InvalidInputError naming the file and the first lost record."""
    for item in scan_records(path):
        if isinstance(item, Damage):
            raise InvalidInputError(f"{path}: record {item.index}: {item.reason}")
        yield item


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
