"""The keyed join of M models' predictions with the videos' labels and folds.

Every model must cover exactly the videos of the fold splits, the held-out split and
test, each once; anything else is an error naming the model and the video id. For each
video the candidates are the union of every model's top 20 labels (docs/method.md, Stage H),
each with its L2 features (`schemas/predictions.py: l2_feature_names`).

A dense row (3862 scores) is never shuffled, and no worker holds anything per video of
the whole set. Each model's files are read twice, a file per task:
(1) each row's top 20, with where the row lies (file, index) → joined by video id with
    the videos: the video's candidates (and the coverage checks), and per model and file
    a routing table (index → video id, candidates);
(2) each file again with its routing table (bounded by the rows of one file: the
    writers' `splits.RECORDS_PER_FILE`): each row's scores and ranks of its candidates
    → joined by video id: one row per video.
Shuffled bytes are about a hundredth of a join of the dense rows; a distributed runner
spills them to disk, the local runner keeps them in memory.
"""
import apache_beam as beam
import numpy as np
import tensorflow as tf

from schemas import predictions as rows
from schemas import video_level
from common.errors import InvalidInputError

VIDEO = "video"
COLUMNS = "columns"
ROUTES = "routes"
SHUFFLED_INTS = np.int32


def video_key(serialized: bytes, fold: int):
    """(video id, (fold, hard labels packed)) of a video-level record."""
    feature = tf.train.Example.FromString(serialized).features.feature
    video_id = feature[video_level.ID_KEY].bytes_list.value[0].decode()
    return video_id, (fold, packed(feature[video_level.LABELS_KEY].int64_list.value))


def video_keys(fold: int, path: str):
    """`video_key` of every record of one video-level file of the fold."""
    for _, serialized in video_level.read_records(path):
        yield video_key(serialized, fold)


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


def packed(class_ids: np.ndarray) -> bytes:
    """Class ids or ranks as they are shuffled: int32 bytes (a pickled int64 array, Beam's
    fallback for numpy, is several times larger, and the local runner holds every shuffle)."""
    return np.asarray(class_ids, SHUFFLED_INTS).tobytes()


def unpacked(data: bytes) -> np.ndarray:
    return np.frombuffer(data, SHUFFLED_INTS)


def file_rows(path: str, model_name: str):
    """(index, video id, dense scores) of every row of one prediction file."""
    for index, serialized in video_level.read_records(path):
        yield (index, *dense_scores(serialized, model_name))


def file_tops(numbered_path: tuple[int, str], model_name: str):
    """Pass 1 over one prediction file: (video id, (file number, index, top 20)) of each row."""
    file, path = numbered_path
    for index, video_id, scores in file_rows(path, model_name):
        yield video_id, (file, index, packed(top_labels(scores)))


def candidate_set(video_id: str, grouped: dict, model_names: list[str]):
    """(video id, (fold, labels, candidates)); and under tag ROUTES, per model, where its
    row of the video lies with the candidates to look up there: ((model, file number),
    (index, video id, candidates)). Every model and the video appear exactly once."""
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
    candidates = packed(np.unique(np.concatenate([unpacked(top) for _, _, top in tops])))
    yield video_id, (fold, labels, candidates)
    for name, (file, index, _) in zip(model_names, tops):
        yield beam.pvalue.TaggedOutput(ROUTES, ((name, file), (index, video_id, candidates)))


def file_columns(routed_file, prediction_files: dict):
    """Pass 2 over one prediction file, with its routing table (index → video id,
    candidates; bounded by the rows of one file): (video id, (model, its scores and
    ranks of the candidates)) of each row."""
    (model_name, file), routes = routed_file
    wanted = {index: (video_id, candidates) for index, video_id, candidates in routes}
    path = prediction_files[model_name][file]
    for index, video_id, scores in file_rows(path, model_name):
        expected_id, candidates = wanted.pop(index, (None, None))
        if video_id != expected_id:  # the first pass read this file otherwise
            raise InvalidInputError(f"model '{model_name}': {path}: record {index} changed while the job ran")
        candidate_scores, ranks = model_column(scores, unpacked(candidates))
        yield video_id, (model_name, candidate_scores.tobytes(), packed(ranks))
    if wanted:
        raise InvalidInputError(f"model '{model_name}': {path} lost records while the job ran")


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
    by_model = {name: (np.frombuffer(scores, np.float32), unpacked(ranks))
                for name, scores, ranks in grouped[COLUMNS]}
    columns = [by_model[name] for name in model_names]
    return l2_row(video_id, fold, unpacked(labels).astype(np.int64), unpacked(candidates).astype(np.int64),
                  np.stack([c[0] for c in columns], axis=1), np.stack([c[1] for c in columns], axis=1))


@beam.ptransform_fn
def MergePredictions(pipeline, video_splits: dict, prediction_files: dict):  # pylint: disable=invalid-name
    """video_splits: fold number → file pattern (globbed when the pipeline is built);
    prediction_files: model name → its prediction files (paths).

    Returns a PCollection of CandidateRow.
    """
    names = list(prediction_files)
    # One read of every file: Beam's local runner would hold a Flatten of one read per split whole.
    video_files = [(fold, path) for fold, pattern in video_splits.items() for path in sorted(tf.io.gfile.glob(pattern))]
    videos = (pipeline
              | "VideoFiles" >> beam.Create(video_files)
              | "SpreadVideoFiles" >> beam.Reshuffle()
              | "Videos" >> beam.FlatMapTuple(video_keys))
    tops = {name: (pipeline
                   | f"Files{name}" >> beam.Create(list(enumerate(prediction_files[name])))
                   | f"SpreadFiles{name}" >> beam.Reshuffle()
                   | f"Tops{name}" >> beam.FlatMap(file_tops, name))
            for name in names}
    candidate_sets = ({VIDEO: videos, **tops}
                      | "JoinTops" >> beam.CoGroupByKey()
                      | "Candidates" >> beam.FlatMap(lambda joined: candidate_set(*joined, names)).with_outputs(
                          ROUTES, main="candidates"))
    columns = (candidate_sets[ROUTES]
               | "RoutesByFile" >> beam.GroupByKey()
               | "Columns" >> beam.FlatMap(file_columns, prediction_files))
    return ({VIDEO: candidate_sets.candidates, COLUMNS: columns}
            | "JoinColumns" >> beam.CoGroupByKey()
            | "Rows" >> beam.Map(lambda joined: assemble(*joined, names)))
