"""The YouTube-8M 2018 video-level record (`tf.train.Example`) and its validation.

Keys: `id` (bytes, anonymised 4-char id), `labels` (int64 list, 0..3861; empty for
test), `mean_rgb` (1024 floats), `mean_audio` (128 floats), both dequantized means.
"""
import io
import re
from typing import Iterator, NamedTuple

import numpy as np
import tensorflow as tf

from common.errors import InvalidInputError, one_line
from schemas.video_ids import decode_video_id

NUM_CLASSES = 3862
RGB_SIZE = 1024
AUDIO_SIZE = 128
FEATURE_SIZE = RGB_SIZE + AUDIO_SIZE

ID_KEY = "id"
LABELS_KEY = "labels"
RGB_KEY = "mean_rgb"
AUDIO_KEY = "mean_audio"

# The 2018 features are means of dequantized bytes, within [-2, 2] (schemas/frame_level.py).
# Values beyond 50 times that come from another format or a scaling mistake: VideoExampleGen
# counts such records, as it counts other bad ones.
MAX_FEATURE_MAGNITUDE = 100.0

# The value list each key holds (tf.train.Feature's `kind`) in the 2018 format.
FEATURE_KINDS = {ID_KEY: "bytes_list", LABELS_KEY: "int64_list", RGB_KEY: "float_list", AUDIO_KEY: "float_list"}
KIND_NAMES = {"bytes_list": "bytes", "int64_list": "int64", "float_list": "float"}


class VideoRecord(NamedTuple):
    video_id: str
    labels: np.ndarray  # int64 class ids
    mean_rgb: np.ndarray  # float32 [RGB_SIZE]
    mean_audio: np.ndarray  # float32 [AUDIO_SIZE]

    @property
    def magnitude(self) -> float:
        """The largest absolute feature value."""
        return float(max(np.abs(self.mean_rgb).max(), np.abs(self.mean_audio).max()))


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


def video_id_of(serialized: bytes) -> str:
    """The video id of a serialized video-level record (no other check)."""
    return tf.train.Example.FromString(serialized).features.feature[ID_KEY].bytes_list.value[0].decode()


def video_ids_of(serialized) -> list[str]:
    """The video ids of a batch of serialized video-level records, parsed in one step (no other check)."""
    parsed = tf.io.parse_example(serialized, {ID_KEY: tf.io.FixedLenFeature([], tf.string)})
    return [video_id.decode() for video_id in parsed[ID_KEY].numpy()]


def check_kind(feature: tf.train.Feature, expected: str, what: str) -> None:
    """ValueError when `feature` holds another kind of values than `expected` (a
    FEATURE_KINDS value); an empty feature passes (its length is checked elsewhere).
    `what`: the feature in the message ("'labels' of video abcd")."""
    kind = feature.WhichOneof("kind")
    if kind is not None and kind != expected:
        raise ValueError(f"{what} holds {KIND_NAMES[kind]} values, expected {KIND_NAMES[expected]}")


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
    check_kind(features[ID_KEY], FEATURE_KINDS[ID_KEY], f"'{ID_KEY}'")
    ids = features[ID_KEY].bytes_list.value
    if len(ids) != 1 or not ids[0]:
        raise ValueError(f"'{ID_KEY}' must hold exactly one non-empty bytes value")
    video_id = decode_video_id(ids[0])
    for key in (LABELS_KEY, RGB_KEY, AUDIO_KEY):
        if key in features:
            check_kind(features[key], FEATURE_KINDS[key], f"'{key}' of video {video_id}")
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


def cut_short_reason(offset) -> str:
    return f"the file is cut short (a record at byte {offset} is incomplete): copy it again"


def corrupted_reason(offset) -> str:
    return f"corrupted record at byte {offset} (its checksum does not match): the file is damaged; copy it again"


def cut_tail_reason(tail_bytes: int) -> str:
    return f"the file is cut short (its last {tail_bytes} bytes are not a whole record): copy it again"


def not_tfrecords_reason(path: str) -> str:
    """Why a file whose first record header is corrupt is not TFRecords."""
    with tf.io.gfile.GFile(path, "rb") as source:
        if source.read(len(GZIP_MAGIC)) == GZIP_MAGIC and not compression_of(path):
            return "not a valid TFRecord file: it is gzip-compressed; gunzip it, or rename it to end in .gz"
    return "not a valid TFRecord file (it does not start with a TFRecord header)"


def unreadable_reason(path: str, error: tf.errors.OpError) -> str:
    """What is wrong with a file TensorFlow could not read as TFRecords, and what to do,
    in the user's words (TensorFlow's message names its own ops and functions)."""
    detail = one_line(error.message)
    cut = re.search(r"truncated record at (\d+)", detail)
    if cut:
        return cut_short_reason(cut.group(1))
    if "Is this even a TFRecord file" in detail:
        return not_tfrecords_reason(path)
    corrupt = re.search(r"corrupted record at (\d+)", detail)
    if corrupt:
        return corrupted_reason(corrupt.group(1))
    if isinstance(error, (tf.errors.DataLossError, tf.errors.InvalidArgumentError)):
        return f"not a valid TFRecord file ({detail})"
    return f"cannot be read ({detail})"


class Damage(NamedTuple):
    """Where a TFRecord file stops being readable: the index of the first lost record, and why."""
    index: int
    reason: str


# Records a scan reads in one step of TensorFlow's reader.
SCAN_BATCH = 256
# A record is framed by its 8-byte length, a 4-byte checksum of it, and a 4-byte checksum of the data.
RECORD_FRAMING_BYTES = 16


def scan_records(path: str) -> Iterator[tuple[int, bytes] | Damage]:
    """Yields (record index, serialized record) of one TFRecord file (gzip by extension),
    then, when the rest of the file cannot be read, one Damage.

    Records are read SCAN_BATCH at a time (one step of TensorFlow's reader each, where a
    record at a time costs a step per record); from a batch that fails, one at a time, so
    that the Damage names the first record lost."""
    compression = compression_of(path)
    index = offset = 0
    for batch_size in (SCAN_BATCH, 1):
        batches = tf.data.TFRecordDataset(path, compression_type=compression).skip(index).batch(batch_size)
        try:
            for batch in batches.as_numpy_iterator():
                for record in batch:
                    yield index, record
                    index += 1
                    offset += RECORD_FRAMING_BYTES + len(record)
            break
        except tf.errors.OpError as error:
            if batch_size == 1:
                yield Damage(index, unreadable_reason(path, error))
                return
    # TensorFlow ends a file cut inside a record's length header without a word.
    size = tf.io.gfile.stat(path).length
    if not compression and offset != size:
        yield Damage(index, cut_tail_reason(size - offset))


try:  # scan_record_heads checks each record's length header against its checksum when one is installed
    from google_crc32c import value as _crc32c
except ImportError:
    try:
        from crc32c import crc32c as _crc32c
    except ImportError:
        _crc32c = None

# The 8-byte little-endian length and its 4-byte masked checksum that start a record.
RECORD_HEADER_BYTES = 12


def crc32c_installed() -> bool:
    """Whether TFRecord checksums can be computed here (`masked_crc32c`)."""
    return _crc32c is not None


def masked_crc32c(data: bytes) -> int:
    """A TFRecord checksum: the CRC-32C of `data`, rotated and offset."""
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


class RecordHead:
    """A record of scan_record_heads, valid until the scan moves on: `read` gives its next
    bytes, from its start, so that a caller reads only as far as it needs."""

    def __init__(self, source, index: int, offset: int, length: int, checksummed: bool):
        self.index, self.length = index, length
        self._source, self._offset, self._checksummed, self._read = source, offset, checksummed, 0

    def read(self, size: int = -1) -> bytes:
        """The record's next `size` bytes, or all that are left; fewer at its end."""
        left = self.length - self._read
        data = self._source.read(left if size < 0 else min(size, left))
        self._read += len(data)
        return data

    def damage(self) -> Damage | None:
        """A Damage (worded as scan_records') when the record's data does not match its
        checksum: the record and the rest of the file are lost. None when it matches or
        cannot be checked. Reads the whole record (for one found unusable), after the reads."""
        if not self._checksummed or _crc32c is None:
            return None
        self._source.seek(self._offset)
        data = self._source.read(self.length + 4)
        if len(data) == self.length + 4 and masked_crc32c(data[:-4]) == int.from_bytes(data[-4:], "little"):
            return None
        return Damage(self.index, corrupted_reason(self._offset))


def _open(path: str):
    # A local file through Python's small buffer: a GFile reads half a megabyte ahead
    # after each seek, more than a whole frame-level record.
    return tf.io.gfile.GFile(path, "rb") if "://" in path else open(path, "rb")


def scan_record_heads(path: str) -> Iterator[tuple[int, RecordHead] | Damage]:
    """scan_records' records, each to be read only as far as the caller needs: (record
    index, RecordHead), then, when the rest of the file cannot be read, one Damage (the
    same as scan_records' for a file cut short or a corrupt length header).

    In an uncompressed file, only each record's length header is checked (against its
    checksum when a CRC-32C implementation is installed, else only that the record fits in
    the file); the bytes not read, and the record's data checksum, are skipped unread
    (RecordHead.damage checks them). A gzip-compressed file is read in full (scan_records)."""
    if compression_of(path):
        for item in scan_records(path):
            if isinstance(item, Damage):
                yield item
            else:
                index, record = item
                yield index, RecordHead(io.BytesIO(record), index, 0, len(record), checksummed=False)
        return
    size = tf.io.gfile.stat(path).length
    index = offset = 0
    with _open(path) as source:
        while offset < size:
            source.seek(offset)
            header = source.read(RECORD_HEADER_BYTES)
            if len(header) < RECORD_HEADER_BYTES:  # TensorFlow ends here without a word
                yield Damage(index, cut_tail_reason(size - offset))
                return
            length = int.from_bytes(header[:8], "little")
            if _crc32c is not None and masked_crc32c(header[:8]) != int.from_bytes(header[8:], "little"):
                yield Damage(index, not_tfrecords_reason(path) if offset == 0 else corrupted_reason(offset))
                return
            end = offset + RECORD_FRAMING_BYTES + length
            if end > size:
                yield Damage(index, cut_short_reason(offset))
                return
            yield index, RecordHead(source, index, offset + RECORD_HEADER_BYTES, length, checksummed=True)
            index += 1
            offset = end


class RecordWriter:
    """An uncompressed TFRecord file written through Python's file object: TensorFlow's
    TFRecordWriter copies each record into a buffer of its own first, which costs about
    five times the checksums and the write (a frame-level record of 260 kB: 0.35 ms
    against 0.07)."""

    def __init__(self, path: str):
        self._file = open(path, "wb")

    def write(self, record: bytes) -> None:
        length = len(record).to_bytes(8, "little")
        self._file.write(length + masked_crc32c(length).to_bytes(4, "little"))
        self._file.write(record)
        self._file.write(masked_crc32c(record).to_bytes(4, "little"))

    def close(self) -> None:
        self._file.close()


def record_writer(path: str):
    """A writer (`write`, `close`) of an uncompressed TFRecord file: RecordWriter for a local
    file when a CRC-32C implementation is installed, else TensorFlow's."""
    if "://" in path or _crc32c is None:
        return tf.io.TFRecordWriter(path)
    return RecordWriter(path)


def read_records(path: str) -> Iterator[tuple[int, bytes]]:
    """Yields (record index, serialized record) of one TFRecord file (gzip by extension);
    a damaged file raises InvalidInputError naming the file and the first lost record."""
    for item in scan_records(path):
        if isinstance(item, Damage):
            raise damaged(path, item)
        yield item


def damaged(path: str, damage: Damage) -> InvalidInputError:
    """The error of a file that must be read whole, at its Damage."""
    return InvalidInputError(f"{path}: record {damage.index}: {damage.reason}")


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
