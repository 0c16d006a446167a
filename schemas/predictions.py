"""Records that carry scores between stages, keyed by video id.

Prediction row (`tf.train.Example`): `id` (bytes), `scores`, and optionally
`class_ids`. Without `class_ids` the scores are a dense vector over all classes (L1
models, the student); with them, sparse scores of those classes (the stack, whose
scores exist only on candidate labels). Scores are probabilities in [0, 1].

Numeric arrays are stored as one bytes value of little-endian float32 / int32: a
3862-float row decodes about 90 times faster than from a `float_list`, which matters
when dozens of models' predictions for millions of videos are merged.

Candidate row (`tf.train.Example`, the output of PredictionMerger): one video, its
candidate labels (the union of every model's top 20), the L2 features of each candidate
(row-major [candidate, feature], columns named by components/l2_features.py,
`l2_feature_names`), the video's hard
labels and its fold.
"""
from typing import NamedTuple, Optional

import numpy as np
import tensorflow as tf

from common.errors import InvalidInputError
from schemas import protobuf_wire as wire

ID_KEY = "id"
SCORES_KEY = "scores"
CLASS_IDS_KEY = "class_ids"

CANDIDATES_KEY = "candidates"
FEATURES_KEY = "features"
LABELS_KEY = "labels"
FOLD_KEY = "fold"

# Each L1 model proposes its top 20 labels as candidates (docs/method.md, Stage H).
CANDIDATES_PER_MODEL = 20


class PredictionRow(NamedTuple):
    video_id: str
    class_ids: Optional[np.ndarray]  # None: dense scores over all classes
    scores: np.ndarray


class CandidateRow(NamedTuple):
    video_id: str
    fold: int
    labels: np.ndarray  # int64 hard labels (empty for test)
    candidates: np.ndarray  # int64 [n]
    features: np.ndarray  # float32 [n, L2 features]


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


FLOATS = np.dtype("<f4")
INTS = np.dtype("<i4")


def _array(values, dtype: np.dtype) -> tf.train.Feature:
    return _bytes(np.ascontiguousarray(values, dtype=dtype).tobytes())


def _read_array(feature: tf.train.Feature, dtype: np.dtype) -> np.ndarray:
    return np.frombuffer(feature.bytes_list.value[0], dtype=dtype)


def _ints(values) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=np.asarray(values, np.int64).ravel()))


def encode_prediction(video_id: str, scores, class_ids=None) -> bytes:
    # deterministic: the map's entries in key order. Otherwise their order follows a hash
    # seeded per process, and one row has several encodings: a resumed or cached run's
    # files would differ in their bytes.
    feature = {ID_KEY: _bytes(video_id.encode()), SCORES_KEY: _array(scores, FLOATS)}
    if class_ids is not None:
        feature[CLASS_IDS_KEY] = _array(class_ids, INTS)
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def decode_prediction(serialized: bytes) -> PredictionRow:
    feature = tf.train.Example.FromString(serialized).features.feature
    scores = _read_array(feature[SCORES_KEY], FLOATS).astype(np.float32)
    class_ids = None
    if CLASS_IDS_KEY in feature:
        class_ids = _read_array(feature[CLASS_IDS_KEY], INTS).astype(np.int64)
    return PredictionRow(feature[ID_KEY].bytes_list.value[0].decode(), class_ids, scores)


def parse_prediction_batch(serialized) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(video ids, scores, class ids) of a batch of prediction rows parsed in one step, each
    an object array of every row's raw bytes (class ids b"" for a dense row)."""
    parsed = tf.io.parse_example(serialized, {
        ID_KEY: tf.io.FixedLenFeature([], tf.string),
        SCORES_KEY: tf.io.FixedLenFeature([], tf.string),
        CLASS_IDS_KEY: tf.io.FixedLenFeature([], tf.string, default_value=b"")})
    return parsed[ID_KEY].numpy(), parsed[SCORES_KEY].numpy(), parsed[CLASS_IDS_KEY].numpy()


def _entry_header(key: bytes, size: int) -> bytes:
    """The bytes `encode_prediction` writes before the value of `key` (`size` bytes): the
    map entry of Features, its key, and the Feature, BytesList and bytes value that wrap it."""
    value = wire.field_head(1, size)
    bytes_list = wire.field_head(1, len(value) + size)
    feature = wire.field_head(2, len(bytes_list) + len(value) + size)
    key_field = wire.length_delimited(1, key)
    entry = wire.field_head(1, len(key_field) + len(feature) + len(bytes_list) + len(value) + size)
    return entry + key_field + feature + bytes_list + value


def _entry_key_and_size(record: bytes, position: int) -> tuple[bytes, int, int]:
    """(key, value size, end) of the Features map entry at `position` of a record laid out
    as `_entry_header` lays it out (the tags are not read: `DenseLayout.of` compares them)."""
    entry_size, start = wire.read_varint(record, position + 1)
    key_size, key_start = wire.read_varint(record, start + 1)
    position = key_start + key_size
    for _ in range(3):  # Feature, BytesList, the bytes value: each a tag and a size
        size, position = wire.read_varint(record, position + 1)
    return record[key_start:key_start + key_size], size, start + entry_size


class DenseLayout(NamedTuple):
    """Where a dense prediction row of one length keeps its id and scores, for a row that
    is byte for byte as `encode_prediction` writes one (its two map entries in either
    order): such a row holds exactly that id and those scores, so reading them at their
    offsets is `tf.io.parse_example`'s result without its cost."""
    prefix: bytes  # the Example's header and the first entry's
    middle: bytes  # the second entry's header
    middle_start: int
    id_start: int
    id_end: int
    scores_start: int
    score_count: int

    @classmethod
    def of(cls, record: bytes) -> Optional["DenseLayout"]:
        """The layout of `record`, or None when it is not a row as `encode_prediction` writes one."""
        try:
            _, start = wire.read_varint(record, 1)
            first_key, first_size, second_start = _entry_key_and_size(record, start)
            second_key, second_size, _ = _entry_key_and_size(record, second_start)
        except ValueError:  # a varint runs past the end: not such a row
            return None
        if {first_key, second_key} != {ID_KEY.encode(), SCORES_KEY.encode()}:
            return None
        first, middle = _entry_header(first_key, first_size), _entry_header(second_key, second_size)
        prefix = wire.field_head(1, len(first) + first_size + len(middle) + second_size) + first
        middle_start = len(prefix) + first_size
        second_start = middle_start + len(middle)
        if (len(record) != second_start + second_size or not record.startswith(prefix)
                or not record.startswith(middle, middle_start)):
            return None
        scores_start, scores_size = (len(prefix), first_size) if first_key == SCORES_KEY.encode() else \
            (second_start, second_size)
        id_start, id_size = (second_start, second_size) if first_key == SCORES_KEY.encode() else \
            (len(prefix), first_size)
        if scores_size % FLOATS.itemsize:
            return None
        return cls(prefix, middle, middle_start, id_start, id_start + id_size, scores_start,
                   scores_size // FLOATS.itemsize)

    def holds(self, record: bytes) -> bool:
        """Whether `record`, of this layout's length, has this layout."""
        return record.startswith(self.prefix) and record.startswith(self.middle, self.middle_start)

    def record(self, video_id: bytes, scores: bytes) -> bytes:
        """The row of this layout with that id and those scores (of this layout's sizes)."""
        first, second = (scores, video_id) if self.scores_start < self.id_start else (video_id, scores)
        return b"".join((self.prefix, first, self.middle, second))


def _decode_encoded_dense_rows(serialized) -> Optional[tuple[list[str], np.ndarray]]:
    """(video ids, scores [b, C]) of a batch of rows that are each as `encode_prediction`
    writes a dense row, all with the same number of scores; None for any other batch."""
    layouts = {}  # by record length
    ids, scores = [], None
    for position, record in enumerate(serialized):
        layout = layouts.get(len(record))
        if layout is None or not layout.holds(record):
            layout = layouts[len(record)] = DenseLayout.of(record)
            if layout is None:
                return None
        if scores is None:
            scores = np.empty((len(serialized), layout.score_count), np.float32)
        if layout.score_count != scores.shape[1]:
            return None
        ids.append(record[layout.id_start:layout.id_end].decode())
        scores[position] = np.frombuffer(record, FLOATS, layout.score_count, layout.scores_start)
    return (ids, scores) if scores is not None else None


def encode_dense_predictions(video_ids: list[str], scores: np.ndarray) -> list[bytes]:
    """`encode_prediction` of each dense row (scores [b, C]), the same bytes at a fraction of
    the cost: the first row of each id length is encoded by it, the others laid out as that
    row (DenseLayout)."""
    layouts, encoded = {}, []
    for video_id, row in zip(video_ids, np.ascontiguousarray(scores, FLOATS)):
        raw_id = video_id.encode()
        layout = layouts.get(len(raw_id))
        if layout is None:
            encoded.append(encode_prediction(video_id, row))
            layouts[len(raw_id)] = DenseLayout.of(encoded[-1])
        else:
            encoded.append(layout.record(raw_id, row.tobytes()))
    return encoded


def decode_dense_predictions(serialized, where: str) -> tuple[list[str], np.ndarray]:
    """(video ids, scores [b, C] float32) of a batch of dense prediction rows: read at their
    offsets where every row is as `encode_prediction` writes one, else parsed in one step;
    a row with class ids or of another length raises InvalidInputError naming `where` and
    the row's position in the batch."""
    decoded = _decode_encoded_dense_rows(serialized)
    if decoded is not None:
        return decoded
    raw_ids, scores, class_ids = parse_prediction_batch(serialized)
    ids = [video_id.decode() for video_id in raw_ids]
    sparse = [position for position, row_class_ids in enumerate(class_ids) if row_class_ids]
    if sparse:
        raise InvalidInputError(f"{where}: video '{ids[sparse[0]]}' has sparse scores; dense rows expected")
    lengths = np.array([len(row) for row in scores])
    if (lengths != lengths[0]).any():
        position = int(np.argmax(lengths != lengths[0]))
        raise InvalidInputError(f"{where}: video '{ids[position]}' has {lengths[position] // FLOATS.itemsize} "
                                f"scores, video '{ids[0]}' {lengths[0] // FLOATS.itemsize}")
    return ids, np.frombuffer(b"".join(scores), FLOATS).reshape(len(ids), -1).astype(np.float32, copy=False)


class SparseRows(NamedTuple):
    """A batch of sparse prediction rows: row i's pairs are the `lengths[i]` after the
    pairs of the rows before it."""
    video_ids: list[str]
    lengths: np.ndarray  # int64
    class_ids: np.ndarray  # int64, every row's in turn
    scores: np.ndarray  # float32


def sparse_rows_of(raw_ids: np.ndarray, raw_scores: np.ndarray, raw_class_ids: np.ndarray, where: str) -> SparseRows:
    """The sparse rows of `parse_prediction_batch`'s output; a row whose class ids and
    scores differ in number raises InvalidInputError naming `where` and its video."""
    lengths = np.array([len(row) for row in raw_scores], np.int64) // FLOATS.itemsize
    id_lengths = np.array([len(row) for row in raw_class_ids], np.int64) // INTS.itemsize
    if (lengths != id_lengths).any():
        position = int(np.argmax(lengths != id_lengths))
        raise InvalidInputError(f"{where}: video '{raw_ids[position].decode()}' has {lengths[position]} scores "
                                f"and {id_lengths[position]} class ids")
    return SparseRows([video_id.decode() for video_id in raw_ids], lengths,
                      np.frombuffer(b"".join(raw_class_ids), INTS).astype(np.int64),
                      np.frombuffer(b"".join(raw_scores), FLOATS).astype(np.float32))


def top_k_of(row: PredictionRow, k: int = CANDIDATES_PER_MODEL) -> tuple[np.ndarray, np.ndarray]:
    """The row's k best (class ids, scores), best first; ties go to the lower class id."""
    class_ids = row.class_ids if row.class_ids is not None else np.arange(row.scores.size)
    order = np.lexsort((class_ids, -row.scores))[:k]
    return class_ids[order], row.scores[order]


def encode_candidates(row: CandidateRow) -> bytes:
    feature = {
        ID_KEY: _bytes(row.video_id.encode()),
        FOLD_KEY: _ints([row.fold]),
        LABELS_KEY: _ints(row.labels),
        CANDIDATES_KEY: _array(row.candidates, INTS),
        FEATURES_KEY: _array(row.features, FLOATS),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def decode_candidates(serialized: bytes) -> CandidateRow:
    feature = tf.train.Example.FromString(serialized).features.feature
    candidates = _read_array(feature[CANDIDATES_KEY], INTS).astype(np.int64)
    return CandidateRow(
        video_id=feature[ID_KEY].bytes_list.value[0].decode(),
        fold=int(feature[FOLD_KEY].int64_list.value[0]),
        labels=np.asarray(feature[LABELS_KEY].int64_list.value, np.int64),
        candidates=candidates,
        features=_read_array(feature[FEATURES_KEY], FLOATS).reshape(candidates.size, -1),
    )
