"""Soft labels joined onto the videos they belong to (docs/method.md, Stage J).

A training record is the video-level Example plus `soft_label_ids` and
`soft_label_values`: the stack's out-of-fold probabilities on the video's candidates
(zero elsewhere). Trainers read features, hard and soft labels in one stream.

The video records are never shuffled, and no worker holds anything per video of the
whole set: (1) each fold file's video ids, with where each record lies (file, index), are
joined by id with the soft-label rows; (2) each fold file is read again with its routing
table (index → soft labels; bounded by the records of one file) and its records are
written with their soft labels attached. The shuffled bytes are the ids and the sparse
soft labels (about a tenth of the records).
"""
import apache_beam as beam
import numpy as np
import tensorflow as tf

from components import artifact_properties
from schemas import predictions as rows
from schemas.soft_labels import SOFT_IDS_KEY, SOFT_VALUES_KEY
from schemas import splits, video_level
from common.errors import InvalidInputError, unwrapped_input_errors


def record_batches(path: str):
    """(record indices, serialized records) of one TFRecord file, SCAN_BATCH records at a
    time, so that each batch is parsed in one step; a damaged file raises as `read_records`."""
    indices, records = [], []
    for index, serialized in video_level.read_records(path):
        indices.append(index)
        records.append(serialized)
        if len(records) == video_level.SCAN_BATCH:
            yield indices, records
            indices, records = [], []
    if records:
        yield indices, records


def video_places(numbered_file: tuple[int, tuple[int, str]]):
    """Pass 1 over one fold file: (video id, (file number, index)) of each record."""
    file, (_, path) = numbered_file
    for indices, records in record_batches(path):
        for index, video_id in zip(indices, video_level.video_ids_of(records)):
            yield video_id, (file, index)


def keyed_soft_labels(path: str):
    """(video id, (class ids, probabilities) as int64 and float32 bytes) of each stack row
    of one file, a batch of rows parsed and checked at a time."""
    for _, records in record_batches(path):
        raw_ids, raw_scores, raw_class_ids = rows.parse_prediction_batch(records)
        dense = [position for position, class_ids in enumerate(raw_class_ids) if not class_ids]
        if dense:
            raise InvalidInputError(f"stack prediction of video '{raw_ids[dense[0]].decode()}' is dense; "
                                    "expected sparse rows")
        sparse = rows.sparse_rows_of(raw_ids, raw_scores, raw_class_ids, path)
        ends = np.cumsum(sparse.lengths)
        improper = ~(np.isfinite(sparse.scores) & (sparse.scores >= 0) & (sparse.scores <= 1))
        if improper.any():
            video_id = sparse.video_ids[int(np.searchsorted(ends, np.argmax(improper), side="right"))]
            raise InvalidInputError(f"stack prediction of video '{video_id}' is not a probability in [0, 1]")
        for video_id, start, end in zip(sparse.video_ids, ends - sparse.lengths, ends):
            yield video_id, (sparse.class_ids[start:end].tobytes(), sparse.scores[start:end].tobytes())


def soft_label_route(video_id: str, grouped: dict):
    """(file number, (index, soft labels)) of a video with one record and one soft-label row."""
    places, soft = list(grouped["video"]), list(grouped["soft"])
    if len(places) != 1 or len(soft) != 1:
        raise InvalidInputError(f"video '{video_id}': {len(places)} video records and {len(soft)} "
                                "soft-label rows; expected one of each")
    file, index = places[0]
    return file, (index, soft[0])


def with_soft_labels(serialized: bytes, soft_labels: tuple[bytes, bytes]) -> bytes:
    """The video's Example with its soft labels added."""
    example = tf.train.Example.FromString(serialized)
    class_ids, values = soft_labels
    example.features.feature[SOFT_IDS_KEY].int64_list.value.extend(np.frombuffer(class_ids, np.int64).tolist())
    example.features.feature[SOFT_VALUES_KEY].float_list.value.extend(np.frombuffer(values, np.float32).tolist())
    return example.SerializeToString(deterministic=True)


def labelled_records(routed_file, fold_files: list[tuple[int, str]]):
    """Pass 2 over one fold file with its routing table: (fold, Example with soft labels)
    of each of its records."""
    file, routes = routed_file
    fold, path = fold_files[file]
    soft_of = dict(routes)
    for index, serialized in video_level.read_records(path):
        if index not in soft_of:  # the first pass read this file otherwise
            raise InvalidInputError(f"{path}: record {index} changed while the job ran")
        yield fold, with_soft_labels(serialized, soft_of.pop(index))
    if soft_of:
        raise InvalidInputError(f"{path} lost records while the job ran")


@beam.ptransform_fn
def JoinSoftLabels(pipeline, fold_patterns: list[str], soft_label_pattern: str):  # pylint: disable=invalid-name
    """Returns (fold, serialized Example with soft labels) for every video of the folds;
    `fold_patterns[k]`: the files of fold k (globbed when the pipeline is built)."""
    fold_files = [(fold, path) for fold, pattern in enumerate(fold_patterns)
                  for path in sorted(tf.io.gfile.glob(pattern))]
    places = (pipeline
              | "FoldFiles" >> beam.Create(list(enumerate(fold_files)))
              | "SpreadFoldFiles" >> beam.Reshuffle()
              | "VideoIds" >> beam.FlatMap(video_places))
    soft = (pipeline
            | "SoftFiles" >> beam.Create(sorted(tf.io.gfile.glob(soft_label_pattern)))
            | "SpreadSoftFiles" >> beam.Reshuffle()
            | "KeySoft" >> beam.FlatMap(keyed_soft_labels))
    return ({"video": places, "soft": soft}
            | "Join" >> beam.CoGroupByKey()
            | "Route" >> beam.MapTuple(soft_label_route)
            | "RoutesByFile" >> beam.GroupByKey()
            | "Attach" >> beam.FlatMap(labelled_records, fold_files))


def index_soft_labels(split_examples, stack_predictions, soft_labels, num_folds: int,
                      beam_pipeline: beam.Pipeline) -> None:
    """SoftLabelIndexer's work: the fold videos with their soft labels, partitioned by fold."""
    names = splits.fold_split_names(num_folds)
    oof_pattern = splits.split_files_pattern(stack_predictions, splits.OOF)
    fold_patterns = [splits.split_files_pattern(split_examples, name) for name in names]
    with unwrapped_input_errors(), beam_pipeline as pipeline:
        joined = pipeline | "Join" >> JoinSoftLabels(fold_patterns, oof_pattern)
        parts = joined | "ByFold" >> beam.Partition(lambda row, _: row[0], num_folds)
        for name, part in zip(names, parts):
            _ = (part
                 | f"Records{name}" >> beam.Values()
                 | f"Write{name}" >> beam.io.WriteToTFRecord(
                     splits.split_prefix(soft_labels, name), file_name_suffix=splits.TFRECORD_SUFFIX))
    artifact_properties.set_split_names(soft_labels, names)
