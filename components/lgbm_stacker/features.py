"""L2 rows: one per (video, candidate label), with the features the stacker learns from.

`original`: the candidate's class id and every model's score (method.md, Stage H).
`extended`: also every model's rank of the candidate, mean/max/min/std of the scores,
how many models put it in their top 20, and the class's frequency in the training folds.
"""
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from schemas import predictions as rows

FEATURE_SETS = ("original", "extended")


class CandidateTable(NamedTuple):
    video_ids: list[str]
    folds: np.ndarray  # int64 [videos]
    labels: list[np.ndarray]  # hard labels per video
    row_video: np.ndarray  # int64 [rows]: index into video_ids
    candidates: np.ndarray  # int64 [rows]
    scores: np.ndarray  # float32 [rows, models]
    ranks: np.ndarray  # int64 [rows, models]
    targets: np.ndarray  # int8 [rows]: candidate is a true label


def load_candidates(pattern: str) -> CandidateTable:
    video_ids, video_folds, labels = [], [], []
    row_video, candidates, scores, ranks, targets = [], [], [], [], []
    files = tf.io.gfile.glob(pattern)
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP") if files else []
    for serialized in (dataset.as_numpy_iterator() if files else []):
        row = rows.decode_candidates(serialized)
        index = len(video_ids)
        video_ids.append(row.video_id)
        video_folds.append(row.fold)
        labels.append(row.labels)
        row_video.append(np.full(row.candidates.size, index, np.int64))
        candidates.append(row.candidates)
        scores.append(row.scores)
        ranks.append(row.ranks)
        targets.append(np.isin(row.candidates, row.labels).astype(np.int8))
    if not video_ids:
        empty = np.zeros(0, np.int64)
        return CandidateTable([], empty, [], empty, empty, np.zeros((0, 0), np.float32),
                              np.zeros((0, 0), np.int64), np.zeros(0, np.int8))
    return CandidateTable(video_ids, np.asarray(video_folds, np.int64), labels,
                          np.concatenate(row_video), np.concatenate(candidates),
                          np.concatenate(scores), np.concatenate(ranks), np.concatenate(targets))


def class_prior(labels: list[np.ndarray], num_classes: int) -> np.ndarray:
    """Fraction of videos carrying each class."""
    counts = np.bincount(np.concatenate(labels) if labels else np.zeros(0, np.int64), minlength=num_classes)
    return counts / max(len(labels), 1)


def feature_names(feature_set: str, num_models: int) -> list[str]:
    names = ["class_id"] + [f"score_{m}" for m in range(num_models)]
    if feature_set == "extended":
        names += [f"rank_{m}" for m in range(num_models)]
        names += ["score_mean", "score_max", "score_min", "score_std", "models_in_top20", "class_prior"]
    return names


def build_features(table: CandidateTable, feature_set: str, prior: np.ndarray) -> np.ndarray:
    """[rows, features] float32 in the order of `feature_names`."""
    columns = [table.candidates[:, None].astype(np.float32), table.scores]
    if feature_set == "extended":
        columns += [
            table.ranks.astype(np.float32),
            table.scores.mean(axis=1, keepdims=True),
            table.scores.max(axis=1, keepdims=True),
            table.scores.min(axis=1, keepdims=True),
            table.scores.std(axis=1, keepdims=True),
            (table.ranks < rows.CANDIDATES_PER_MODEL).sum(axis=1, keepdims=True).astype(np.float32),
            prior[table.candidates][:, None].astype(np.float32),
        ]
    return np.concatenate(columns, axis=1).astype(np.float32)
