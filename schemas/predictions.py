"""Records that carry scores between stages, keyed by video id.

Prediction row (`tf.train.Example`): `id` (bytes), `scores` (floats), and optionally
`class_ids` (int64). Without `class_ids` the scores are a dense vector over all classes
(L1 models, the student); with them, sparse scores of those classes (the stack, whose
scores exist only on candidate labels). Scores are probabilities in [0, 1].

Candidate row (`tf.train.Example`, the output of PredictionMerger): one video, its
candidate labels (the union of every model's top 20), each model's score and rank of
each candidate (row-major [candidate, model]), the video's hard labels and its fold.
"""
from typing import NamedTuple, Optional

import numpy as np
import tensorflow as tf

ID_KEY = "id"
SCORES_KEY = "scores"
CLASS_IDS_KEY = "class_ids"

CANDIDATES_KEY = "candidates"
CANDIDATE_SCORES_KEY = "candidate_scores"
CANDIDATE_RANKS_KEY = "candidate_ranks"
LABELS_KEY = "labels"
FOLD_KEY = "fold"

# Each L1 model proposes its top 20 labels as candidates (method.md, Stage H).
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
    scores: np.ndarray  # float32 [n, models]
    ranks: np.ndarray  # int64 [n, models], 0 = the model's top label


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _floats(values) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(values, np.float32).ravel()))


def _ints(values) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=np.asarray(values, np.int64).ravel()))


def encode_prediction(video_id: str, scores, class_ids=None) -> bytes:
    feature = {ID_KEY: _bytes(video_id.encode()), SCORES_KEY: _floats(scores)}
    if class_ids is not None:
        feature[CLASS_IDS_KEY] = _ints(class_ids)
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def decode_prediction(serialized: bytes) -> PredictionRow:
    feature = tf.train.Example.FromString(serialized).features.feature
    scores = np.asarray(feature[SCORES_KEY].float_list.value, np.float32)
    class_ids = None
    if CLASS_IDS_KEY in feature:
        class_ids = np.asarray(feature[CLASS_IDS_KEY].int64_list.value, np.int64)
    return PredictionRow(feature[ID_KEY].bytes_list.value[0].decode(), class_ids, scores)


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
        CANDIDATES_KEY: _ints(row.candidates),
        CANDIDATE_SCORES_KEY: _floats(row.scores),
        CANDIDATE_RANKS_KEY: _ints(row.ranks),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def decode_candidates(serialized: bytes) -> CandidateRow:
    feature = tf.train.Example.FromString(serialized).features.feature
    candidates = np.asarray(feature[CANDIDATES_KEY].int64_list.value, np.int64)
    n = candidates.size
    return CandidateRow(
        video_id=feature[ID_KEY].bytes_list.value[0].decode(),
        fold=int(feature[FOLD_KEY].int64_list.value[0]),
        labels=np.asarray(feature[LABELS_KEY].int64_list.value, np.int64),
        candidates=candidates,
        scores=np.asarray(feature[CANDIDATE_SCORES_KEY].float_list.value, np.float32).reshape(n, -1),
        ranks=np.asarray(feature[CANDIDATE_RANKS_KEY].int64_list.value, np.int64).reshape(n, -1),
    )
