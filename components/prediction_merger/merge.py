"""The keyed join of M models' predictions with the videos' labels and folds.

Every model must cover exactly the videos of the fold splits, the held-out split and
test, each once; anything else is an error naming the model and the video id. For each
video the candidates are the union of every model's top 20 labels (docs/method.md, Stage H),
each with its L2 features (`schemas/predictions.py: l2_feature_names`).

A dense row (3862 scores) is never shuffled. The join runs in two shuffles of small
data: (1) each model's top 20 per video → the video's candidates (and the coverage
checks); (2) each model's score and rank of just those candidates, looked up while its
dense rows stream past → one row per video. Shuffled bytes, and the local runner's
memory, are about a hundredth of a join of the dense rows.
"""
import apache_beam as beam
import numpy as np
import tensorflow as tf

from schemas import predictions as rows
from schemas import video_level
from common.errors import InvalidInputError

VIDEO = "video"


def video_key(serialized: bytes, fold: int):
    """(video id, (fold, hard labels)) of a video-level record."""
    feature = tf.train.Example.FromString(serialized).features.feature
    video_id = feature[video_level.ID_KEY].bytes_list.value[0].decode()
    labels = np.asarray(feature[video_level.LABELS_KEY].int64_list.value, np.int64)
    return video_id, (fold, labels)


def dense_scores(serialized: bytes, model_name: str) -> tuple[str, np.ndarray]:
    row = rows.decode_prediction(serialized)
    if row.class_ids is not None:
        raise InvalidInputError(f"model '{model_name}': video '{row.video_id}' has sparse scores; "
                                "L1 predictions must be dense")
    if not np.isfinite(row.scores).all():
        raise InvalidInputError(f"model '{model_name}': video '{row.video_id}' has NaN or infinite scores")
    return row.video_id, row.scores


def top_labels(scores: np.ndarray) -> np.ndarray:
    """A model's top 20 class ids (unordered) of one video; every class where there are fewer."""
    count = min(rows.CANDIDATES_PER_MODEL, scores.size)
    return np.argpartition(-scores, count - 1)[:count]


def candidate_set(video_id: str, grouped: dict, model_names: list[str]):
    """(video id, (fold, labels, candidates)); every model and the video appear exactly once."""
    videos = list(grouped[VIDEO])
    if not videos:
        model = next(name for name in model_names if list(grouped[name]))
        raise InvalidInputError(f"model '{model}': video '{video_id}' is not among the input videos")
    if len(videos) > 1:
        raise InvalidInputError(f"video '{video_id}' occurs {len(videos)} times in the examples")
    tops = []
    for name in model_names:
        found = list(grouped[name])
        if len(found) != 1:
            problem = "has no prediction" if not found else f"has {len(found)} predictions"
            raise InvalidInputError(f"model '{name}': video '{video_id}' {problem}")
        tops.append(found[0])
    fold, labels = videos[0]
    return video_id, (fold, labels, np.unique(np.concatenate(tops)))


def model_column(scores: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One model's scores of the candidates and its ranks of them: the classes it scores
    strictly higher (0 = its top label; ties share a rank)."""
    candidate_scores = scores[candidates]
    return candidate_scores, (scores[None, :] > candidate_scores[:, None]).sum(axis=1)


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


def candidates_of(video_id: str, fold: int, labels: np.ndarray, scores: np.ndarray) -> rows.CandidateRow:
    """The whole definition on one video's dense scores [models, classes]."""
    candidates = np.unique(np.concatenate([top_labels(model_scores) for model_scores in scores]))
    columns = [model_column(model_scores, candidates) for model_scores in scores]
    return l2_row(video_id, fold, labels, candidates,
                  np.stack([c[0] for c in columns], axis=1), np.stack([c[1] for c in columns], axis=1))


def assemble(video_id: str, grouped: dict, model_names: list[str]) -> rows.CandidateRow:
    (fold, labels, candidates), = grouped[VIDEO]
    columns = [next(iter(grouped[name])) for name in model_names]
    return l2_row(video_id, fold, labels, candidates,
                  np.stack([c[0] for c in columns], axis=1), np.stack([c[1] for c in columns], axis=1))


@beam.ptransform_fn
def MergePredictions(pipeline, video_splits: dict, prediction_files: dict):  # pylint: disable=invalid-name
    """video_splits: fold number → file pattern; prediction_files: model name → patterns.

    Returns a PCollection of CandidateRow.
    """
    names = list(prediction_files)
    videos = ([pipeline | f"Read{fold}" >> beam.io.ReadFromTFRecord(pattern)
               | f"Key{fold}" >> beam.Map(video_key, fold)
               for fold, pattern in video_splits.items()]
              | "Videos" >> beam.Flatten())

    def read_dense(name: str, stage: str):
        # Each shuffle reads the files afresh: a dense PCollection consumed twice would be
        # held whole by the runner until the second consumer's side input is ready.
        return ([pipeline | f"{stage}Read{name}{i}" >> beam.io.ReadFromTFRecord(pattern)
                 for i, pattern in enumerate(prediction_files[name])]
                | f"{stage}All{name}" >> beam.Flatten()
                | f"{stage}Decode{name}" >> beam.Map(dense_scores, name))

    tops = {name: read_dense(name, "Tops") | f"Top{name}" >> beam.MapTuple(
        lambda video_id, scores: (video_id, top_labels(scores))) for name in names}
    candidate_sets = ({VIDEO: videos, **tops}
                      | "JoinTops" >> beam.CoGroupByKey()
                      | "Candidates" >> beam.Map(lambda joined: candidate_set(*joined, names)))
    candidates_by_id = beam.pvalue.AsDict(candidate_sets | "CandidatesOnly" >> beam.MapTuple(
        lambda video_id, video: (video_id, video[2])))
    columns = {name: read_dense(name, "Columns") | f"Column{name}" >> beam.Map(
        lambda row, lookup: (row[0], model_column(row[1], lookup[row[0]])), candidates_by_id)
        for name in names}
    return ({VIDEO: candidate_sets, **columns}
            | "JoinColumns" >> beam.CoGroupByKey()
            | "Rows" >> beam.Map(lambda joined: assemble(*joined, names)))
