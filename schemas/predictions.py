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
    feature = {ID_KEY: _bytes(video_id.encode()), SCORES_KEY: _array(scores, FLOATS)}
    if class_ids is not None:
        feature[CLASS_IDS_KEY] = _array(class_ids, INTS)
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


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


def decode_dense_predictions(serialized, where: str) -> tuple[list[str], np.ndarray]:
    """(video ids, scores [b, C] float32) of a batch of dense prediction rows, parsed in
    one step; a row with class ids or of another length raises InvalidInputError naming
    `where` and the row's position in the batch."""
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
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


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
