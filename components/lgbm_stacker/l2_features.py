"""The L2 table: one row per (video, candidate label), as PredictionMerger built it.

`original`: the candidate's class id and every model's score (docs/method.md, Stage H).
`extended`: every feature PredictionMerger computed (ranks, score statistics, how many
models put the candidate in their top 20) plus the class's frequency in the training
folds, which depends on the fold being fitted and so is added here.
"""
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from schemas import predictions as rows

FEATURE_SETS = ("original", "extended")
PRIOR = "class_prior"


class CandidateTable(NamedTuple):
    video_ids: list[str]
    folds: np.ndarray  # int64 [videos]
    labels: list[np.ndarray]  # hard labels per video
    row_video: np.ndarray  # int64 [rows]: index into video_ids
    candidates: np.ndarray  # int64 [rows]
    features: np.ndarray  # float32 [rows, merged features]
    targets: np.ndarray  # int8 [rows]: candidate is a true label


def load_candidates(pattern: str, num_features: int) -> CandidateTable:
    video_ids, video_folds, labels = [], [], []
    row_video, candidates, features, targets = [], [], [], []
    files = tf.io.gfile.glob(pattern)
    for serialized in (tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator() if files else []):
        row = rows.decode_candidates(serialized)
        row_video.append(np.full(row.candidates.size, len(video_ids), np.int64))
        video_ids.append(row.video_id)
        video_folds.append(row.fold)
        labels.append(row.labels)
        candidates.append(row.candidates)
        features.append(row.features)
        targets.append(np.isin(row.candidates, row.labels).astype(np.int8))
    if not video_ids:
        empty = np.zeros(0, np.int64)
        return CandidateTable([], empty, [], empty, empty, np.zeros((0, num_features), np.float32),
                              np.zeros(0, np.int8))
    return CandidateTable(video_ids, np.asarray(video_folds, np.int64), labels, np.concatenate(row_video),
                          np.concatenate(candidates), np.concatenate(features), np.concatenate(targets))


def class_prior(labels: list[np.ndarray], num_classes: int) -> np.ndarray:
    """Fraction of videos carrying each class."""
    counts = np.bincount(np.concatenate(labels) if labels else np.zeros(0, np.int64), minlength=num_classes)
    return counts / max(len(labels), 1)


def feature_names(feature_set: str, merged_names: list[str]) -> list[str]:
    if feature_set == "original":
        return [name for name in merged_names if name == "class_id" or name.startswith("score:")]
    return merged_names + [PRIOR]


def build_features(table: CandidateTable, feature_set: str, merged_names: list[str],
                   prior: np.ndarray) -> np.ndarray:
    """[rows, features] float32 in the order of `feature_names`."""
    if feature_set == "original":
        columns = [merged_names.index(name) for name in feature_names("original", merged_names)]
        return table.features[:, columns]
    return np.concatenate([table.features, prior[table.candidates][:, None].astype(np.float32)], axis=1)
