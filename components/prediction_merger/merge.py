"""The keyed join of M models' predictions with the videos' labels and folds.

Every model must cover exactly the videos of the fold splits, the held-out split and
test, each once; anything else is an error naming the model and the video id. For each
video the candidates are the union of every model's top 20 labels (docs/method.md, Stage H),
each with its L2 features (components/l2_features.py).

A dense row (3862 scores) is never shuffled, and no worker holds anything per video of
the whole set. Each model's files are read twice, a file per task:
(1) each row's top 20, with where the row lies (file, index) → joined by video id with
    the videos: the video's candidates (and the coverage checks), routed to each model's
    row of the video;
(2) the files of every model but the first, each with its routing table (index → video
    id, candidates; bounded by the rows of one file: the writers'
    `splits.RECORDS_PER_FILE`): each row's scores and ranks of its candidates, sent to
    the first model's file of the video;
(3) the first model's files, each with its routing table (index → video id,
    candidates, fold, labels) and the other models' columns of its rows: the rows.
Nothing is grouped by video id but the first join: the local runner holds a grouping
in memory with a key per video, and encodes the whole of it when it is read.
Shuffled bytes are about a hundredth of a join of the dense rows; a distributed runner
spills them to disk.
"""
import collections
import itertools
import json

import apache_beam as beam
import numpy as np
import tensorflow as tf

from components import artifact_properties, l2_features
from schemas import predictions as rows
from schemas import splits, video_level
from common.errors import InvalidInputError, unwrapped_input_errors

VIDEO_TAG = -1  # a video's value in the first join starts with it; a model's with its number
ROUTE_TAG = -1  # a first-model route in the last grouping starts with it; a column with its model's number
FIRST_MODEL = "first_model"
SHUFFLED_INTS = np.int32
PARSE_BATCH = 256  # prediction rows parsed in one step (about 4 MB)


def video_key(serialized: bytes, fold: int):
    """(video id, packed [VIDEO_TAG, fold], hard labels) of a video-level record."""
    feature = tf.train.Example.FromString(serialized).features.feature
    video_id = feature[video_level.ID_KEY].bytes_list.value[0].decode()
    return video_id, packed([VIDEO_TAG, fold], feature[video_level.LABELS_KEY].int64_list.value)


def video_keys(fold: int, path: str):
    """`video_key` of every record of one video-level file of the fold."""
    for _, serialized in video_level.read_records(path):
        yield video_key(serialized, fold)


def top_labels(scores: np.ndarray) -> np.ndarray:
    """A model's top 20 class ids (unordered) of one video; every class where there are fewer."""
    count = min(rows.CANDIDATES_PER_MODEL, scores.size)
    return np.argpartition(-scores, count - 1)[:count]


def packed(*parts) -> bytes:
    """Arrays of ints (class ids, ranks, numbers) or float32 scores as the one bytes object
    a shuffled value is: int32 [number of parts, their sizes, their values] (float32 by
    their bits). Beam's local runner holds every shuffled value as a Python object: one
    bytes object is a fraction of a tuple of arrays, and a pickled int64 array (Beam's
    fallback for numpy) is several times larger."""
    arrays = [np.asarray(part) for part in parts]
    arrays = [array.view(SHUFFLED_INTS) if array.dtype == np.float32 else array.astype(SHUFFLED_INTS)
              for array in arrays]
    return np.concatenate([np.array([len(arrays), *(array.size for array in arrays)], SHUFFLED_INTS),
                           *arrays]).tobytes()


def unpacked(data: bytes) -> list[np.ndarray]:
    """The int32 parts of `packed` (float32 parts: `.view(np.float32)`)."""
    ints = np.frombuffer(data, SHUFFLED_INTS)
    count = ints[0]
    ends = 1 + count + np.cumsum(ints[1:1 + count])
    return [ints[end - size:end] for end, size in zip(ends, ints[1:1 + count])]


def file_rows(path: str, model_name: str):
    """(index, video id, dense scores) of every row of one prediction file, parsed and
    checked a batch of rows at a time."""
    records, start = video_level.read_records(path), 0
    while batch := [serialized for _, serialized in itertools.islice(records, PARSE_BATCH)]:
        ids, scores = rows.decode_dense_predictions(batch, f"model '{model_name}': {path}")
        finite = np.isfinite(scores).all(axis=1)
        if not finite.all():
            raise InvalidInputError(f"model '{model_name}': video '{ids[int(np.argmin(finite))]}' has NaN or "
                                    "infinite scores")
        yield from zip(itertools.count(start), ids, scores)
        start += len(batch)


def file_tops(model_number: int, file: int, path: str, model_name: str):
    """Pass 1 over one prediction file: (video id, packed [model number, file number,
    index], top 20) of each row."""
    for index, video_id, scores in file_rows(path, model_name):
        yield video_id, packed([model_number, file, index], top_labels(scores))


def input_file_keys(input_file: tuple[int, int, str], model_names: list[str]):
    """The first join's (video id, packed value) of every record of one input file:
    (VIDEO_TAG, fold, path) a video-level file (video_keys), (model number, file
    number, path) a prediction file (file_tops)."""
    tag, number, path = input_file
    if tag == VIDEO_TAG:
        return video_keys(number, path)
    return file_tops(tag, number, path, model_names[tag])


def candidate_routes(video_id: str, values, model_names: list[str]):
    """The video's candidates (the union of its models' top 20), routed to its row of
    every model. Under tag FIRST_MODEL: (first model's file number, (video id, packed
    [ROUTE_TAG, index], candidates, [fold], labels)); for every other model: ((model
    number, file number), (video id, packed [index, first model's file number],
    candidates)). Every model and the video must appear exactly once."""
    videos, tops = [], [[] for _ in model_names]
    for value in values:
        head, *rest = unpacked(value)
        (videos if head[0] == VIDEO_TAG else tops[head[0]]).append((head, *rest))
    if not videos:
        model = next(name for name, found in zip(model_names, tops) if found)
        raise InvalidInputError(f"model '{model}': video '{video_id}' is not among the input videos")
    if len(videos) > 1:
        raise InvalidInputError(f"video '{video_id}' occurs {len(videos)} times in the examples")
    for name, found in zip(model_names, tops):
        if len(found) != 1:
            problem = "has no prediction" if not found else f"has {len(found)} predictions"
            raise InvalidInputError(f"model '{name}': video '{video_id}' {problem}")
    (_, fold), labels = videos[0]
    rows_of_video = [found[0] for found in tops]
    candidates = np.unique(np.concatenate([top for _, top in rows_of_video]))
    (_, first_file, first_index), _ = rows_of_video[0]
    yield beam.pvalue.TaggedOutput(FIRST_MODEL, (int(first_file), (
        video_id, packed([ROUTE_TAG, first_index], candidates, [fold], labels))))
    for model_number, ((_, file, index), _) in enumerate(rows_of_video[1:], start=1):
        yield (model_number, int(file)), (video_id, packed([index, first_file], candidates))


def routed_rows(path: str, model_name: str, wanted: dict):
    """(route, dense scores) of every row of one prediction file; `wanted`: its routing
    table, index → route whose first item is the video id the first pass read there."""
    for index, video_id, scores in file_rows(path, model_name):
        route = wanted.pop(index, None)
        if route is None or route[0] != video_id:  # the first pass read this file otherwise
            raise InvalidInputError(f"model '{model_name}': {path}: record {index} changed while the job ran")
        yield route, scores
    if wanted:
        raise InvalidInputError(f"model '{model_name}': {path} lost records while the job ran")


def file_columns(routed_file, prediction_files: list[list[str]], model_names: list[str]):
    """Pass 2 over one file of a model other than the first, with its routing table:
    (first model's file number, (video id, packed [model number], its scores and ranks
    of the candidates)) of each row."""
    (model_number, file), routes = routed_file
    wanted = {}
    for video_id, route in routes:
        (index, first_file), candidates = unpacked(route)
        wanted[index] = (video_id, candidates, int(first_file))
    path = prediction_files[model_number][file]
    for (video_id, candidates, first_file), scores in routed_rows(path, model_names[model_number], wanted):
        yield first_file, (video_id, packed([model_number], *model_column(scores, candidates)))


def file_candidate_rows(grouped_file, prediction_files: list[list[str]], model_names: list[str]):
    """Pass 3 over one file of the first model, with its routing table and the other
    models' columns of its rows (both bounded by the rows of one file): the CandidateRow
    of each row."""
    file, values = grouped_file
    wanted, other_columns = {}, collections.defaultdict(dict)
    for video_id, value in values:
        head, *parts = unpacked(value)
        if head[0] == ROUTE_TAG:
            candidates, (fold,), labels = parts
            wanted[head[1]] = (video_id, candidates, int(fold), labels)
        else:
            scores, ranks = parts
            other_columns[video_id][head[0]] = (scores.view(np.float32), ranks)
    path = prediction_files[0][file]
    for (video_id, candidates, fold, labels), scores in routed_rows(path, model_names[0], wanted):
        others = other_columns.pop(video_id, {})
        columns = [model_column(scores, candidates)] + [others[number] for number in range(1, len(model_names))]
        yield l2_features.l2_row(video_id, fold, labels.astype(np.int64), candidates.astype(np.int64),
                     np.stack([c[0] for c in columns], axis=1), np.stack([c[1] for c in columns], axis=1))


def model_column(scores: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One model's scores of the candidates and its ranks of them: the classes it scores
    strictly higher (0 = its top label; ties share a rank)."""
    candidate_scores = scores[candidates]
    return candidate_scores, (scores[None, :] > candidate_scores[:, None]).sum(axis=1)


def candidates_of(video_id: str, fold: int, labels: np.ndarray, scores: np.ndarray) -> rows.CandidateRow:
    """The whole definition on one video's dense scores [models, classes]."""
    candidates = np.unique(np.concatenate([top_labels(model_scores) for model_scores in scores]))
    columns = [model_column(model_scores, candidates) for model_scores in scores]
    return l2_features.l2_row(video_id, fold, labels, candidates,
                  np.stack([c[0] for c in columns], axis=1), np.stack([c[1] for c in columns], axis=1))


@beam.ptransform_fn
def MergePredictions(pipeline, video_splits: dict, prediction_files: dict):  # pylint: disable=invalid-name
    """video_splits: fold number → file pattern (globbed when the pipeline is built);
    prediction_files: model name → its prediction files (paths).

    Returns a PCollection of CandidateRow.
    """
    names = list(prediction_files)
    files = [prediction_files[name] for name in names]
    # Every input file in one read, straight into the first grouping: the local runner
    # holds a Flatten of reads from different stages whole before it groups them.
    input_files = ([(VIDEO_TAG, fold, path) for fold, pattern in video_splits.items()
                    for path in sorted(tf.io.gfile.glob(pattern))]
                   + [(number, file, path) for number in range(len(names)) for file, path in enumerate(files[number])])
    # Plain GroupByKeys of tagged bytes: CoGroupByKey would wrap every value in a tuple with its tag.
    routes = (pipeline
              | "InputFiles" >> beam.Create(input_files)
              | "SpreadInputFiles" >> beam.Reshuffle()
              | "Read" >> beam.FlatMap(input_file_keys, names)
              | "JoinTops" >> beam.GroupByKey()
              | "Candidates" >> beam.FlatMap(lambda joined: candidate_routes(*joined, names)).with_outputs(
                  FIRST_MODEL, main="other_models"))
    other_columns = (routes.other_models
                     | "RoutesByFile" >> beam.GroupByKey()
                     | "Columns" >> beam.FlatMap(file_columns, files, names))
    return ((routes[FIRST_MODEL], other_columns)
            | "ForFirstModelFiles" >> beam.Flatten()
            | "ByFirstModelFile" >> beam.GroupByKey()
            | "Rows" >> beam.FlatMap(file_candidate_rows, files, names))


def prediction_files(artifact, model_name: str) -> list[str]:
    """The files of every prediction split; a split without files is an error."""
    files = []
    for split in splits.PREDICTION_SPLITS:
        pattern = splits.split_files_pattern(artifact, split)
        split_files = sorted(tf.io.gfile.glob(pattern))
        if not split_files:
            raise InvalidInputError(f"model '{model_name}': no '{split}' prediction files at {pattern}")
        files += split_files
    return files


def merge_all(split_examples, predictions: list, merged, num_folds: int, beam_pipeline) -> None:
    """PredictionMerger's work: every model's predictions merged into candidate rows, by split."""
    model_files = {}
    for artifact in sorted(predictions, key=artifact_properties.model_name):
        name = artifact_properties.model_name(artifact)
        if name in model_files:
            raise InvalidInputError(f"two prediction artifacts are named '{name}'")
        model_files[name] = prediction_files(artifact, name)
    if not model_files:
        raise InvalidInputError("no model predictions to merge")
    video_splits = {fold: splits.split_files_pattern(split_examples, splits.split_of(fold))
                    for fold in splits.pipeline_folds(num_folds)}
    with unwrapped_input_errors(), beam_pipeline as pipeline:
        candidate_rows = pipeline | "Merge" >> MergePredictions(video_splits, model_files)
        parts = candidate_rows | "BySplit" >> beam.Partition(
            lambda row, _: splits.PREDICTION_SPLITS.index(splits.prediction_split_of(row.fold)),
            len(splits.PREDICTION_SPLITS))
        for split, part in zip(splits.PREDICTION_SPLITS, parts):
            _ = (part
                 | f"Encode{split}" >> beam.Map(rows.encode_candidates)
                 | f"Write{split}" >> beam.io.WriteToTFRecord(
                     splits.split_prefix(merged, split), file_name_suffix=splits.TFRECORD_SUFFIX))
    artifact_properties.set_split_names(merged, list(splits.PREDICTION_SPLITS))
    merged.set_string_custom_property(artifact_properties.MODEL_NAMES, json.dumps(list(model_files)))
    merged.set_string_custom_property(artifact_properties.FEATURE_NAMES,
                                      json.dumps(l2_features.l2_feature_names(list(model_files))))
