"""The keyed join of M models' predictions with the videos' labels and folds.

Every model must cover exactly the videos of the fold splits, the held-out split and
test, each once; anything else is an error naming the model and the video id. For each
video the candidates are the union of every model's top 20 labels (method.md, Stage H),
each with its L2 features (`schemas/predictions.py: l2_feature_names`).

Only one video's rows are ever joined at a time; the runner's shuffle (CoGroupByKey)
carries the dense rows between reading and joining.
"""
import apache_beam as beam
import numpy as np
import tensorflow as tf

from components.fold_splitter import folds
from schemas import predictions as rows
from schemas import video_level
from y8m.errors import InvalidInputError

VIDEO = "video"


def video_key(serialized: bytes, fold: int):
    """(video id, (fold, hard labels)) of a video-level record."""
    feature = tf.train.Example.FromString(serialized).features.feature
    video_id = feature[video_level.ID_KEY].bytes_list.value[0].decode()
    labels = np.asarray(feature[video_level.LABELS_KEY].int64_list.value, np.int64)
    return video_id, (fold, labels)


def prediction_key(serialized: bytes, model_name: str):
    row = rows.decode_prediction(serialized)
    if row.class_ids is not None:
        raise InvalidInputError(f"model '{model_name}': video '{row.video_id}' has sparse scores; "
                                "L1 predictions must be dense")
    if not np.isfinite(row.scores).all():
        raise InvalidInputError(f"model '{model_name}': video '{row.video_id}' has NaN or infinite scores")
    return row.video_id, row.scores


def candidate_row(video_id: str, grouped: dict, model_names: list[str]) -> rows.CandidateRow:
    """Joins one video's groups; every model and the video itself must appear exactly once."""
    videos = list(grouped[VIDEO])
    if not videos:
        model = next(name for name in model_names if list(grouped[name]))
        raise InvalidInputError(f"model '{model}': video '{video_id}' is not among the input videos")
    if len(videos) > 1:
        raise InvalidInputError(f"video '{video_id}' occurs {len(videos)} times in the examples")
    fold, labels = videos[0]
    model_scores = []
    for name in model_names:
        found = list(grouped[name])
        if len(found) != 1:
            problem = "has no prediction" if not found else f"has {len(found)} predictions"
            raise InvalidInputError(f"model '{name}': video '{video_id}' {problem}")
        model_scores.append(found[0])
    return candidates_of(video_id, fold, labels, np.stack(model_scores))


def candidates_of(video_id: str, fold: int, labels: np.ndarray, scores: np.ndarray) -> rows.CandidateRow:
    """scores: [models, classes] → the candidate row with its L2 features.

    A model's rank of a candidate counts the classes it scores strictly higher (0 = its
    top label), so ties share a rank; "in the top 20" means a rank below 20.
    """
    top = np.argpartition(-scores, rows.CANDIDATES_PER_MODEL - 1, axis=1)[:, :rows.CANDIDATES_PER_MODEL]
    candidates = np.unique(top)
    candidate_scores = scores[:, candidates].T  # [n, models]
    ranks = (scores[None, :, :] > candidate_scores[:, :, None]).sum(axis=2)  # [n, models]
    features = np.concatenate([
        candidates[:, None], candidate_scores, ranks,
        candidate_scores.mean(axis=1, keepdims=True), candidate_scores.max(axis=1, keepdims=True),
        candidate_scores.min(axis=1, keepdims=True), candidate_scores.std(axis=1, keepdims=True),
        (ranks < rows.CANDIDATES_PER_MODEL).sum(axis=1, keepdims=True),
    ], axis=1).astype(np.float32)
    return rows.CandidateRow(video_id, fold, labels, candidates, features)


@beam.ptransform_fn
def MergePredictions(pipeline, video_splits: dict, prediction_files: dict):  # pylint: disable=invalid-name
    """video_splits: fold number → file pattern; prediction_files: model name → patterns.

    Returns a PCollection of CandidateRow.
    """
    keyed = {}
    keyed[VIDEO] = ([pipeline | f"Read{fold}" >> beam.io.ReadFromTFRecord(pattern)
                     | f"Key{fold}" >> beam.Map(video_key, fold)
                     for fold, pattern in video_splits.items()]
                    | "Videos" >> beam.Flatten())
    for name, patterns in prediction_files.items():
        keyed[name] = ([pipeline | f"Read{name}{i}" >> beam.io.ReadFromTFRecord(pattern)
                        for i, pattern in enumerate(patterns)]
                       | f"All{name}" >> beam.Flatten()
                       | f"Key{name}" >> beam.Map(prediction_key, name))
    names = list(prediction_files)
    return (keyed
            | "Join" >> beam.CoGroupByKey()
            | "Candidates" >> beam.Map(lambda joined: candidate_row(*joined, names)))


def split_of_row(row: rows.CandidateRow) -> str:
    return "oof" if row.fold >= 0 else folds.split_of(row.fold)
