"""Benchmark: videos per second of the FrameFeatures Beam job on the local multi-process
runner, against the limit measured in the same run: a plain single-process `tf.data`
loop doing the same parse + dequantize + aggregate. Target: N workers reach at least
0.7·N of that limit. Also peak memory (all processes of the job), which must stay flat
when the number of videos grows fourfold.

Two single-process loops are timed and the faster one is the limit: `tf.data` reading
with the job's own per-record code (protobuf parse + numpy), and a `tf.data` graph
(batched `parse_sequence_example`, `decode_raw`, masked mean/std/max), both on one
thread. The Beam job does more than either: it also routes every video to its fold and
writes the frame-feature records. Every job runs on N and 4N videos: "end to end" is 4N
over the whole job, start-up of the runner and its workers included (about 7 s for one
worker, 27 s for two on 2 cores); "steady" is the extra 3N videos over the extra time,
in which the fixed start-up cancels out.

    uv run --frozen python bench/frame_features_bench.py [--videos 1000] [--workers 1 2]
"""
import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import apache_beam as beam  # noqa: E402
import psutil  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from frame_models_ap import fold_split_examples  # noqa: E402

from components.frame_features import transforms  # noqa: E402
from schemas import frame_level, splits  # noqa: E402
from schemas.video_level import AUDIO_SIZE, RGB_SIZE  # noqa: E402
from y8m import synthetic  # noqa: E402

NUM_FOLDS = 5
CLASSES = 100
SHARDS = 8  # per partition: work items for the workers


class PeakMemory:
    """Peak summed RSS of this process and all its descendants, sampled every 50 ms."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def make_data(root: str, videos: int, max_frames: int):
    data_dir = os.path.join(root, "data")
    synthetic.generate(data_dir, videos=videos, classes=CLASSES, seed=1, frames=True, max_frames=max_frames,
                       shards=SHARDS)
    frame_files = sorted(tf.io.gfile.glob(os.path.join(data_dir, synthetic.FRAMES_DIR, "*.tfrecord")))
    return frame_files, fold_split_examples(data_dir, root, NUM_FOLDS, CLASSES)


def beam_job(frame_files, split_examples, output: str, workers: int) -> float:
    """Seconds of one FrameFeatures job (read, parse, aggregate, route, write)."""
    names = splits.pipeline_split_names(NUM_FOLDS)
    artifact = type("Artifact", (), {"uri": output})
    video_splits = {name: splits.split_files_pattern(split_examples, name) for name in names}
    prefixes = {name: splits.split_prefix(artifact, name) for name in names}
    argv = ["--runner=FnApiRunner", "--direct_running_mode=multi_processing", f"--direct_num_workers={workers}"]
    started = time.perf_counter()
    with beam.Pipeline(argv=argv) as pipeline:
        records, _ = pipeline | transforms.AggregateFrames(
            frame_files, video_splits, CLASSES, frame_level.MAX_FRAMES, 0.0)
        _ = records | transforms.WriteSplits(prefixes, splits.FRAME_TFRECORD_SUFFIX)
    return time.perf_counter() - started


def single_threaded():
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)


def one_thread(dataset: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.threading.private_threadpool_size = 1
    options.threading.max_intra_op_parallelism = 1
    return dataset.with_options(options)


def loop_with_job_code(frame_files) -> tuple[int, float]:
    """tf.data reading; the job's per-record parse, dequantize and aggregate."""
    started = time.perf_counter()
    count = 0
    for serialized in one_thread(tf.data.TFRecordDataset(frame_files)).as_numpy_iterator():
        frame_level.aggregate(frame_level.parse_frame_record(serialized, CLASSES))
        count += 1
    return count, time.perf_counter() - started


def loop_in_graph(frame_files, batch: int = 32) -> tuple[int, float]:
    """tf.data graph: batched SequenceExample parse, decode, dequantize, masked aggregates."""
    context = {"id": tf.io.FixedLenFeature([], tf.string), "labels": tf.io.VarLenFeature(tf.int64)}

    def aggregate(serialized):
        parsed, sequences, lengths = tf.io.parse_sequence_example(
            serialized, context_features=context, sequence_features=frame_level.raw_frames_spec())
        values = tf.concat([tf.io.decode_raw(sequences["rgb"], tf.uint8, fixed_length=RGB_SIZE),
                            tf.io.decode_raw(sequences["audio"], tf.uint8, fixed_length=AUDIO_SIZE)], axis=-1)
        values = tf.cast(values, tf.float32) * frame_level.DEQUANTIZE_SCALE + frame_level.DEQUANTIZE_BIAS
        mask = tf.sequence_mask(lengths["rgb"], tf.shape(values)[1], tf.float32)[:, :, None]
        count = tf.reduce_sum(mask, axis=1)
        mean = tf.reduce_sum(values * mask, axis=1) / count
        std = tf.sqrt(tf.reduce_sum(tf.square(values - mean[:, None]) * mask, axis=1) / count)
        maximum = tf.reduce_max(values * mask - (1.0 - mask) * 1e9, axis=1)
        return parsed["id"], mean, std, maximum

    dataset = one_thread(tf.data.TFRecordDataset(frame_files).batch(batch).map(aggregate))
    started = time.perf_counter()
    count = sum(int(ids.shape[0]) for ids, *_ in dataset)
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=1000, help="N; every job also runs on 4N")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-frames", type=int, default=frame_level.MAX_FRAMES)
    args = parser.parse_args()
    single_threaded()
    root = tempfile.mkdtemp(prefix="frame_bench_")
    try:
        run(root, args)
    finally:
        shutil.rmtree(root)


def run(root: str, args) -> None:
    started = time.perf_counter()
    sizes = (args.videos, 4 * args.videos)
    data = {size: make_data(os.path.join(root, f"data_{size}"), size, args.max_frames) for size in sizes}
    print(f"data: {sizes[0]} and {sizes[1]} videos (at most {args.max_frames} frames) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)

    rates = {}
    for name, loop in (("tf.data + job's per-record code", loop_with_job_code), ("tf.data graph", loop_in_graph)):
        loop(data[sizes[0]][0][:1])  # warm up
        count, seconds = loop(data[sizes[1]][0])
        rates[name] = count / seconds
        print(f"single process, one thread, {name}: {rates[name]:7.1f} videos/s", flush=True)
    limit = max(rates.values())
    print(f"limit: {limit:.1f} videos/s", flush=True)

    for workers in args.workers:
        seconds, peaks = {}, {}
        for size in sizes:
            with PeakMemory() as memory:
                seconds[size] = beam_job(*data[size], os.path.join(root, f"out_{workers}_{size}"), workers)
            peaks[size] = memory.peak / 2**20
        rate = sizes[1] / seconds[sizes[1]]
        # The extra 3N videos over the extra time: the runner's fixed start-up cancels out.
        steady = (sizes[1] - sizes[0]) / max(seconds[sizes[1]] - seconds[sizes[0]], 1e-9)
        print(f"\nBeam, {workers} worker(s): {seconds[sizes[0]]:.1f} s for {sizes[0]} videos, "
              f"{seconds[sizes[1]]:.1f} s for {sizes[1]}")
        print(f"  end to end {rate:6.1f} videos/s: ratio per worker {rate / (workers * limit):.2f}")
        print(f"  steady     {steady:6.1f} videos/s: ratio per worker {steady / (workers * limit):.2f} (target >= 0.7)")
        print(f"  peak memory {peaks[sizes[0]]:.0f} MiB at {sizes[0]} videos, {peaks[sizes[1]]:.0f} MiB at {sizes[1]}",
              flush=True)


if __name__ == "__main__":
    main()
