"""Benchmark: SoftLabelIndexer against the dense numpy equivalent of its work, at N and 4N videos.

The indexer (`components/soft_label_indexer/index.py`, a Beam job on the local in-process
runner) reads K = 5 fold splits of video-level records (gzipped TFRecords as FoldSplitter
writes them) and the stack's sparse out-of-fold rows (about 60 candidates a video), and
writes each fold video's record with its soft labels attached, by fold.

Its limit is the same output made in memory by plain means (`dense_soft_labels`): every
fold file read a batch of 1,024 records per step of TensorFlow's reader, the batch's
video ids parsed in one `tf.io.parse_example`, the soft-label rows parsed a batch at a
time and joined by a dict on the id, each record's soft labels attached as the indexer
must (a parse and re-serialization of the record's protobuf: its output holds the same
bytes), and the records written gzip-compressed at the level Beam's writer uses. Not a
bound on I/O bytes: deflating the output costs more than reading and writing its bytes,
and the indexer cannot skip it. It holds every record in memory, which the indexer must
not (it holds one file's routing table), and it checks nothing. Each run checks that
both wrote the same records per fold.

Both are timed in CPU seconds of this process (every thread; Beam's in-process runner
works in this process) and in wall seconds: on a machine shared with other jobs the wall
clock also counts the time spent waiting for a core, so the CPU ratio is the one that
compares the work. Prints the ratio limit / indexer (1.0 = as fast as the plain
equivalent; target >= 0.6). A run on a few videos first takes the one-time start of
TensorFlow and Beam out of the measurement.

    uv run --frozen python bench/soft_label_bench.py [--videos 2000]
"""
import argparse
import hashlib
import os
import sys
import tempfile
import types
import zlib

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from assembler_bench import Timer, ratio  # noqa: E402

CLASSES = 3862
FOLDS = 5
CANDIDATES = 60
BATCH = 1024


def write_inputs(directory: str, videos: int, seed: int = 0) -> tuple:
    """(split examples, stack predictions): `videos` fold videos, each with a soft-label row."""
    from schemas import predictions as rows
    from schemas import splits, video_level
    rng = np.random.default_rng(seed)
    examples = types.SimpleNamespace(uri=os.path.join(directory, "split_examples"))
    ids = [f"v{i:07d}" for i in range(videos)]
    for fold in range(FOLDS):
        fold_ids = ids[fold::FOLDS]
        splits.write_split_records(examples, splits.fold_split_name(fold), (
            video_level.make_example(video_id, rng.choice(CLASSES, 3, replace=False),
                                     rng.uniform(-2, 2, video_level.RGB_SIZE).astype(np.float32),
                                     rng.uniform(-2, 2, video_level.AUDIO_SIZE).astype(np.float32)).SerializeToString()
            for video_id in fold_ids), records_per_file=videos // FOLDS // 2 + 1)
    stack = types.SimpleNamespace(uri=os.path.join(directory, "stack"))
    splits.write_split_records(stack, splits.OOF, (
        rows.encode_prediction(video_id, rng.random(CANDIDATES, dtype=np.float32),
                               class_ids=np.sort(rng.choice(CLASSES, CANDIDATES, replace=False)))
        for video_id in rng.permutation(ids)))
    return examples, stack


def run_indexer(examples, stack, output) -> None:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from components.soft_label_indexer import index
    from pipeline.beam_options import beam_args
    artifact = _Artifact(output)
    index.index_soft_labels(examples, stack, artifact, FOLDS, beam.Pipeline(options=PipelineOptions(beam_args("local"))))


class _Artifact(types.SimpleNamespace):
    """Enough of an artifact for `index_soft_labels`: a uri and its custom properties."""

    def __init__(self, uri: str):
        super().__init__(uri=uri, properties={})

    def set_string_custom_property(self, key: str, value: str) -> None:
        self.properties[key] = value


def dense_soft_labels(examples, stack, output: str) -> None:
    """The indexer's output made in memory by plain means (the limit; see the docstring)."""
    import tensorflow as tf

    from schemas import predictions as rows
    from schemas import splits, video_level
    from schemas.soft_labels import SOFT_IDS_KEY, SOFT_VALUES_KEY
    soft_of = {}
    for batch in splits.read_split_batches(stack, splits.OOF, BATCH):
        parsed = tf.io.parse_example(batch, {rows.ID_KEY: tf.io.FixedLenFeature([], tf.string),
                                             rows.SCORES_KEY: tf.io.FixedLenFeature([], tf.string),
                                             rows.CLASS_IDS_KEY: tf.io.FixedLenFeature([], tf.string)})
        for video_id, scores, class_ids in zip(*(parsed[key].numpy() for key in
                                                 (rows.ID_KEY, rows.SCORES_KEY, rows.CLASS_IDS_KEY))):
            soft_of[video_id] = (np.frombuffer(class_ids, rows.INTS).tolist(),
                                 np.frombuffer(scores, rows.FLOATS).tolist())
    id_spec = {video_level.ID_KEY: tf.io.FixedLenFeature([], tf.string)}
    options = tf.io.TFRecordOptions(compression_type=splits.COMPRESSION, compression_level=zlib.Z_DEFAULT_COMPRESSION)
    for fold in range(FOLDS):
        split = splits.fold_split_name(fold)
        written = types.SimpleNamespace(uri=output)
        os.makedirs(splits.split_dir(written, split))
        with tf.io.TFRecordWriter(splits.split_prefix(written, split) + splits.TFRECORD_SUFFIX, options) as writer:
            for batch in splits.read_split_batches(examples, split, BATCH):
                for video_id, serialized in zip(tf.io.parse_example(batch, id_spec)[video_level.ID_KEY].numpy(), batch):
                    example = tf.train.Example.FromString(serialized)
                    class_ids, values = soft_of.pop(video_id)
                    example.features.feature[SOFT_IDS_KEY].int64_list.value.extend(class_ids)
                    example.features.feature[SOFT_VALUES_KEY].float_list.value.extend(values)
                    writer.write(example.SerializeToString())


def records_digest(directory: str) -> dict:
    """Per fold split: the number of records and a digest of their sorted bytes."""
    import tensorflow as tf
    digests = {}
    for split in sorted(os.listdir(directory)):
        files = sorted(tf.io.gfile.glob(os.path.join(directory, split, "*.gz")))
        records = sorted(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())
        digests[split] = (len(records), hashlib.sha256(b"".join(records)).hexdigest())
    return digests


def measure(directory: str, videos: int) -> dict:
    examples, stack = write_inputs(directory, videos)
    indexed, dense = os.path.join(directory, "indexed"), os.path.join(directory, "dense")
    with Timer() as indexer:
        run_indexer(examples, stack, indexed)
    with Timer() as limit:
        dense_soft_labels(examples, stack, dense)
    if records_digest(indexed) != records_digest(dense):
        raise AssertionError("the indexer and the dense equivalent wrote different records")
    return {"videos": videos, "indexer": indexer, "limit": limit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soft-label-bench-") as directory:
        measure(directory, 4 * FOLDS)  # the one-time start of TensorFlow's readers and of Beam
    for videos in (args.videos, 4 * args.videos):
        with tempfile.TemporaryDirectory(prefix="soft-label-bench-") as directory:
            r = measure(directory, videos)
        indexer, limit = r["indexer"], r["limit"]
        print(f"N={videos:6d}: indexer {indexer}, dense equivalent {limit}: {ratio(limit, indexer)}", flush=True)


if __name__ == "__main__":
    main()
