"""The fold/split contract of the pipeline: which split a video is in, what the splits
are called, and how an artifact lays them out.

Folds: the fold of a labelled video is a pure function of its id (`fold_of`), so every
stage (L1 models, stacker, soft labels, frame-level data) uses the same assignment and
out-of-fold predictions of different models are comparable. About `holdout_fraction` of
the labelled videos form the held-out split, which nothing trains on: the student, whose
targets come from teachers trained on every fold, is judged there.

Split names: VideoExampleGen writes `labelled` and `test`. FoldSplitter and FrameFeatures
write every split of the pipeline (`pipeline_split_names`): the fold splits `fold_0` …
`fold_{K-1}` (`fold_split_names`), `holdout` and `test`; SoftLabelIndexer writes the fold
splits only. A model's predictions, and the merged candidate rows, are in
`PREDICTION_SPLITS`: `oof` (every fold video, scored by the model that did not train on
its fold), `holdout` and `test`; the student's in `STUDENT_PREDICTION_SPLITS` (it has no
honest out-of-fold scores).

Layout: a split is a folder `<uri>/Split-<name>/` of TFRecord files, gzipped
(`*.tfrecord.gz`, `split_files_pattern`) but for FrameFeatures' splits, which are
uncompressed (`*.tfrecord`, `frame_split_files_pattern`). Which splits an artifact has is
recorded on the artifact (components/artifact_properties.py, `set_split_names`).
"""
import glob
import hashlib
import os

import tensorflow as tf

from schemas import predictions, tfrecord_files, video_level

LABELLED = "labelled"  # VideoExampleGen's: the train and validate files pooled
TEST = "test"
HOLDOUT = "holdout"
OOF = "oof"
PREDICTION_SPLITS = (OOF, HOLDOUT, TEST)
STUDENT_PREDICTION_SPLITS = (HOLDOUT, TEST)

# The fold numbers of the splits that are no fold (`fold_of`, `split_of`).
HOLDOUT_FOLD = -1
TEST_FOLD = -2

TFRECORD_SUFFIX = ".tfrecord.gz"
COMPRESSION = "GZIP"  # tf.data's and TFRecordWriter's compression_type of such files
FILE_FORMAT = "tfrecords_gzip"  # the `file_format` custom property of such Examples
# Frame-feature splits are uncompressed: quantized frames hardly compress, and gzip would
# cost several times the parse, dequantize and aggregate work of a record.
FRAME_TFRECORD_SUFFIX = ".tfrecord"
FRAME_COMPRESSION = ""
FRAME_FILE_FORMAT = "tfrecords"
# Records per file of the splits the pipeline writes row by row (predictions, stack and
# student outputs): a gzip file is read whole by one worker, so this bounds what a reader
# holds per file (PredictionMerger's routing table) and lets a split be read in parallel.
RECORDS_PER_FILE = 10_000
# Records a batch-wise reader takes at a time (`read_split_batches`): 1,024 dense rows
# are about 16 MB.
READ_BATCH = 1024


def _hash64(video_id: str, salt) -> int:
    digest = hashlib.sha256(f"{salt}:{video_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _unit_hash(video_id: str, seed: int) -> float:
    return _hash64(video_id, seed) / 2.0**64


def sample_key(video_id: str, purpose: str, seed: int = 0) -> int:
    """A 64-bit hash of a video id for drawing a sample by id (those with the smallest
    keys): independent of the order the videos come in and, through `purpose`, of
    `fold_of`'s assignment (a sample by `fold_of`'s own hash would take one fold)."""
    return _hash64(video_id, f"{purpose}:{seed}")


def fold_of(video_id: str, num_folds: int, holdout_fraction: float, seed: int = 0) -> int:
    """The fold 0..num_folds-1 of a labelled video, or HOLDOUT_FOLD."""
    position = _unit_hash(video_id, seed)
    if position < holdout_fraction:
        return HOLDOUT_FOLD
    fold = int((position - holdout_fraction) / (1.0 - holdout_fraction) * num_folds)
    return min(fold, num_folds - 1)


def fold_split_name(fold: int | str) -> str:
    return f"fold_{fold}"


def fold_split_names(num_folds: int) -> list[str]:
    return [fold_split_name(fold) for fold in range(num_folds)]


def pipeline_folds(num_folds: int) -> list[int]:
    """Every fold number of the pipeline: the folds, HOLDOUT_FOLD and TEST_FOLD."""
    return [*range(num_folds), HOLDOUT_FOLD, TEST_FOLD]


def split_of(fold: int) -> str:
    """The split name of a fold number (HOLDOUT_FOLD and TEST_FOLD included)."""
    if fold == HOLDOUT_FOLD:
        return HOLDOUT
    if fold == TEST_FOLD:
        return TEST
    return fold_split_name(fold)


def pipeline_split_names(num_folds: int) -> list[str]:
    """Every split of the pipeline, in the order of `pipeline_folds`."""
    return [split_of(fold) for fold in pipeline_folds(num_folds)]


def prediction_split_of(fold: int) -> str:
    """The prediction split of a video of that fold: `oof` for every fold video."""
    return OOF if fold >= 0 else split_of(fold)


def split_dir(artifact, split: str) -> str:
    return os.path.join(artifact.uri, f"Split-{split}")


def split_files_pattern(artifact, split: str) -> str:
    return os.path.join(split_dir(artifact, split), "*" + TFRECORD_SUFFIX)


def split_files(artifact, split: str) -> list[str]:
    """The files of a split in name order: a local folder listed by Python (TensorFlow's
    glob costs about a millisecond a call), any other through TensorFlow's file systems."""
    pattern = split_files_pattern(artifact, split)
    return sorted(tf.io.gfile.glob(pattern) if "://" in pattern else glob.glob(pattern))


def frame_split_files_pattern(artifact, split: str) -> str:
    """The files of one split of FrameFeatures' output."""
    return os.path.join(split_dir(artifact, split), "*" + FRAME_TFRECORD_SUFFIX)


def fold_files_patterns(artifact, num_folds: int) -> list[str]:
    """The files of every fold split (for the student: its training videos)."""
    return [split_files_pattern(artifact, name) for name in fold_split_names(num_folds)]


def all_folds_files_pattern(artifact) -> str:
    """One pattern of the files of every fold split of an artifact that has fold splits
    only (SoftLabelIndexer's): for a Beam read, where several patterns would be several
    reads, flattened, which the local runner holds whole."""
    return split_files_pattern(artifact, fold_split_name("*"))


def split_prefix(artifact, split: str) -> str:
    """The Beam `WriteToTFRecord` prefix of a split."""
    return os.path.join(split_dir(artifact, split), "part")


def read_split_records(artifact, split: str):
    """The serialized records of a split, file by file in name order (streamed)."""
    for batch in read_split_batches(artifact, split):
        yield from batch


def read_split_batches(artifact, split: str, batch_size: int = READ_BATCH):
    """The serialized records of a split as lists of up to `batch_size` records, file by
    file in name order (streamed; schemas/tfrecord_files.py, at about the rate of a plain
    read); a damaged file raises InvalidInputError naming it and its first lost record."""
    yield from tfrecord_files.read_batches(split_files(artifact, split), batch_size)


def write_split_records(artifact, split: str, records, dense_scores: bool = False,
                        records_per_file: int = RECORDS_PER_FILE) -> None:
    """Writes serialized records as gzipped TFRecord files of the split, `records_per_file`
    to a file (`part-00000…`, in the order of the records; at least one file).

    `dense_scores`: the records are dense score rows, stored in the gzip container without
    deflating: their float32 bits shrink by only 8% at 18 times the write time (measured:
    1.1 s against 0.06 s per 2,000 rows), and every reader stays the same."""
    os.makedirs(split_dir(artifact, split), exist_ok=True)
    options = tf.io.TFRecordOptions(compression_type=COMPRESSION, compression_level=0 if dense_scores else None)
    writer = None
    try:
        for position, record in enumerate(records):
            if position % records_per_file == 0:
                if writer:
                    writer.close()
                writer = tf.io.TFRecordWriter(_numbered_file(artifact, split, position // records_per_file),
                                              options=options)
            writer.write(record)
    finally:
        if writer:
            writer.close()
    if writer is None:  # an empty split still has its file
        tf.io.TFRecordWriter(_numbered_file(artifact, split, 0), options=options).close()


def concatenate_split_files(sources: list, split: str, artifact) -> None:
    """The split of `artifact` as the records of `split` of every source artifact, source
    after source: their files copied byte for byte (a stream of records at the storage's
    rate, no record parsed), renumbered so that name order is source order. Every split
    the pipeline writes has at least one file (`write_split_records`), so this one does."""
    os.makedirs(split_dir(artifact, split), exist_ok=True)
    files = [path for source in sources for path in split_files(source, split)]
    for number, path in enumerate(files):
        tf.io.gfile.copy(path, _numbered_file(artifact, split, number), overwrite=True)


def _numbered_file(artifact, split: str, number: int) -> str:
    """Zero-padded, so that name order (`read_split_records`) is the order written."""
    return f"{split_prefix(artifact, split)}-{number:05d}{TFRECORD_SUFFIX}"


def write_dense_predictions(artifact, split: str, batches) -> None:
    """One dense prediction row (schemas/predictions.py) per video, from (video ids,
    scores [b, C]) batches, written as they come."""
    write_split_records(artifact, split, (predictions.encode_prediction(video_id, row)
                                          for ids, scores in batches for video_id, row in zip(ids, scores)),
                        dense_scores=True)


def write_fold_splits(artifact, labelled_files: list[str], test_files: list[str], num_folds: int,
                      holdout_fraction: float, seed: int = 0, num_classes: int = video_level.NUM_CLASSES) -> None:
    """FoldSplitter's output layout written in process, for measurements on data that fits
    in memory (FoldSplitter is the Beam job of the pipeline): every labelled video to its
    fold or the held-out split by `fold_of`, every test video to `test`; records validated."""
    by_split = {name: [] for name in pipeline_split_names(num_folds)}
    for path in labelled_files:
        for record, serialized in video_level.read_validated(path, num_classes):
            by_split[split_of(fold_of(record.video_id, num_folds, holdout_fraction, seed))].append(serialized)
    for path in test_files:
        by_split[TEST].extend(serialized for _, serialized in video_level.read_validated(path, num_classes))
    for split, records in by_split.items():
        write_split_records(artifact, split, records)
