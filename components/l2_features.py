"""The L2 features, one home for PredictionMerger, which computes them for every
(video, candidate label) (`l2_row`, columns `l2_feature_names`), and LGBMStacker, which
reads them as a table and picks its feature set.

`original`: the candidate's class id and every model's score (docs/method.md, Stage H).
`extended`: every feature PredictionMerger computed (ranks, score statistics, how many
models put the candidate in their top 20) plus the class's frequency in the training
folds, which depends on the fold being fitted and so is added here.
"""
from typing import Iterator, NamedTuple

import numpy as np
import tensorflow as tf

from schemas import predictions as rows
from schemas import splits

PRIOR = "class_prior"


def l2_feature_names(model_names: list[str]) -> list[str]:
    """Columns of a candidate row's features (the stacker adds the fold-dependent prior)."""
    return (["class_id"] + [f"score:{name}" for name in model_names] + [f"rank:{name}" for name in model_names]
            + ["score_mean", "score_max", "score_min", "score_std", "models_in_top20"])


def l2_row(video_id: str, fold: int, labels: np.ndarray, candidates: np.ndarray,
           scores: np.ndarray, ranks: np.ndarray) -> rows.CandidateRow:
    """scores, ranks: [candidates, models] → the row with features in `l2_feature_names` order."""
    features = np.concatenate([
        candidates[:, None], scores, ranks,
        scores.mean(axis=1, keepdims=True), scores.max(axis=1, keepdims=True),
        scores.min(axis=1, keepdims=True), scores.std(axis=1, keepdims=True),
        (ranks < rows.CANDIDATES_PER_MODEL).sum(axis=1, keepdims=True),
    ], axis=1).astype(np.float32)
    return rows.CandidateRow(video_id, fold, labels, candidates, features)


class CandidateTable(NamedTuple):
    """The rows of some videos (a chunk of a split, or the stacker's training sample)."""
    video_ids: list[str]
    folds: np.ndarray  # int64 [videos]
    labels: list[np.ndarray]  # hard labels per video
    row_video: np.ndarray  # int64 [rows]: index into video_ids
    candidates: np.ndarray  # int64 [rows]
    features: np.ndarray  # float32 [rows, merged features]
    targets: np.ndarray  # int8 [rows]: candidate is a true label


def table_of(candidate_rows: list[rows.CandidateRow]) -> CandidateTable:
    """The table of some decoded candidate rows (at least one), in their order."""
    return CandidateTable(
        [row.video_id for row in candidate_rows],
        np.asarray([row.fold for row in candidate_rows], np.int64),
        [row.labels for row in candidate_rows],
        np.concatenate([np.full(row.candidates.size, index, np.int64) for index, row in enumerate(candidate_rows)]),
        np.concatenate([row.candidates for row in candidate_rows]),
        np.concatenate([row.features for row in candidate_rows]),
        np.concatenate([np.isin(row.candidates, row.labels).astype(np.int8) for row in candidate_rows]))


def read_chunks(pattern: str, chunk_videos: int) -> Iterator[CandidateTable]:
    """The split's videos in file order, as tables of `chunk_videos` videos (the last fewer)."""
    files = tf.io.gfile.glob(pattern)
    chunk = []
    for serialized in (tf.data.TFRecordDataset(files, compression_type=splits.COMPRESSION).as_numpy_iterator() if files else []):
        chunk.append(rows.decode_candidates(serialized))
        if len(chunk) == chunk_videos:
            yield table_of(chunk)
            chunk = []
    if chunk:
        yield table_of(chunk)


def class_prior(labels: list[np.ndarray], num_classes: int) -> np.ndarray:
    """Fraction of videos carrying each class."""
    counts = np.bincount(np.concatenate(labels) if labels else np.zeros(0, np.int64), minlength=num_classes)
    return counts / max(len(labels), 1)


def feature_names(feature_set: str, merged_names: list[str]) -> list[str]:
    if feature_set == "original":
        return [name for name in merged_names if name == "class_id" or name.startswith("score:")]
    return merged_names + [PRIOR]


def feature_matrix(features: np.ndarray, candidates: np.ndarray, feature_set: str, merged_names: list[str],
                   prior: np.ndarray) -> np.ndarray:
    """[rows, features] float32 in the order of `feature_names`, from rows' merged features."""
    if feature_set == "original":
        columns = [merged_names.index(name) for name in feature_names("original", merged_names)]
        return features[:, columns]
    return np.concatenate([features, prior[candidates][:, None].astype(np.float32)], axis=1)


def build_features(table: CandidateTable, feature_set: str, merged_names: list[str],
                   prior: np.ndarray) -> np.ndarray:
    return feature_matrix(table.features, table.candidates, feature_set, merged_names, prior)
