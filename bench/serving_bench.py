"""Benchmark: serving throughput (videos/s, batch 256, CPU) of the student's exported
SavedModel from serialized Examples against the bare Keras model on already-parsed
tensors, in the same run. Target: ratio >= 0.85.

The SavedModel is written by the Distiller's export code (TFT standardisation graph
inside, raw serialized video-level Examples in, top 20 plus every class's probability
out) and called through its loaded signature as `y8m predict` calls it. The bare model
is the same tf_keras student called in a tf.function on the features already parsed
into tensors; both turn their outputs into numpy arrays. After a warm-up, each repeat
times both over the same videos, batch by batch in turn (so that both see the same
load); the medians over repeats are reported, since the machine is noisy.

    uv run --frozen python bench/serving_bench.py [--videos 2560] [--repeats 7] \
        [--profile quick] [--weights-dtype float32|float16|both]

The student is the profile's, untrained (its weights do not change the work).
"""
import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import apache_beam as beam  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from components.student import distill  # noqa: E402
from models import layers, preprocessing, serving  # noqa: E402
from pipeline.beam_options import beam_args  # noqa: E402
from pipeline.profile import load_profile  # noqa: E402
from schemas.video_level import FEATURE_SIZE, NUM_CLASSES, RGB_SIZE, make_example  # noqa: E402

BATCH_SIZE = 256
TARGET = 0.85


def synthetic_videos(videos: int, seed: int = 0) -> tuple[list[bytes], np.ndarray]:
    """Serialized video-level Examples and their [mean_rgb; mean_audio] rows."""
    rng = np.random.default_rng(seed)
    features = np.clip(rng.normal(0.0, 0.5, size=(videos, FEATURE_SIZE)), -2.0, 2.0).astype(np.float32)
    records = [make_example(f"{i:04d}", [], row[:RGB_SIZE], row[RGB_SIZE:]).SerializeToString()
               for i, row in enumerate(features)]
    return records, features


def analysed_transform(records: list[bytes], work_dir: str) -> str:
    """The standardisation graph of these videos, by the Distiller's TFT analysis."""
    path = os.path.join(work_dir, "videos.tfrecord.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for record in records:
            writer.write(record)
    transform_dir = os.path.join(work_dir, "transform")
    with beam.Pipeline(argv=beam_args("local")) as pipeline:
        preprocessing.analyze(pipeline, path, transform_dir, True, os.path.join(work_dir, "tmp"))
    return transform_dir


def batches(items, size: int = BATCH_SIZE) -> list:
    return [items[start:start + size] for start in range(0, len(items), size)]


def timed(run_batch, batch) -> float:
    started = time.perf_counter()
    run_batch(batch)
    return time.perf_counter() - started


def compare(serve_batch, bare_batch, serialized: list, parsed: list, repeats: int) -> dict:
    """Median videos/s of both and the median of the per-repeat ratios. The two run batch
    by batch in turn (alternating which goes first), so that both see the same load."""
    videos = sum(len(batch) for batch in serialized)
    for batch, rows in zip(serialized[:2], parsed[:2]):  # warm-up: tracing, thread pools, allocator
        timed(serve_batch, batch), timed(bare_batch, rows)
    serve_rates, bare_rates = [], []
    for _ in range(repeats):
        serve_seconds = bare_seconds = 0.0
        for index, (batch, rows) in enumerate(zip(serialized, parsed)):
            if index % 2:
                bare_seconds += timed(bare_batch, rows)
                serve_seconds += timed(serve_batch, batch)
            else:
                serve_seconds += timed(serve_batch, batch)
                bare_seconds += timed(bare_batch, rows)
        serve_rates.append(videos / serve_seconds)
        bare_rates.append(videos / bare_seconds)
    ratios = [served / bare for served, bare in zip(serve_rates, bare_rates)]
    return {"serve": statistics.median(serve_rates), "bare": statistics.median(bare_rates),
            "ratio": statistics.median(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=2560)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--profile", default="quick", help="the profile whose student is served")
    parser.add_argument("--weights-dtype", choices=[*serving.WEIGHTS_DTYPES, "both"], default="both")
    args = parser.parse_args()
    dtypes = serving.WEIGHTS_DTYPES if args.weights_dtype == "both" else (args.weights_dtype,)

    records, features = synthetic_videos(args.videos)
    student = load_profile(args.profile).student
    model = layers.averaged(distill.build_networks(student, NUM_CLASSES))
    bare = tf.function(lambda x: model(x, training=False))
    parsed = [tf.constant(rows) for rows in batches(features)]

    def bare_batch(rows):
        return bare(rows).numpy()

    print(f"{args.profile} profile's student ({', '.join(network.family for network in student.networks())}), "
          f"{NUM_CLASSES} classes, {model.count_params():,} parameters; "
          f"{args.videos} videos in batches of {BATCH_SIZE}; {args.repeats} repeats, medians")
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as work_dir:
        transform_dir = analysed_transform(records, work_dir)
        for dtype in dtypes:
            export_dir = os.path.join(work_dir, f"export-{dtype}")
            serving.export(model, export_dir, transform_dir, dtype)
            serve = serving.load(export_dir)
            result = compare(lambda batch: serving.predict_serialized(serve, batch), bare_batch,
                             batches(records), parsed, args.repeats)
            verdict = "meets" if result["ratio"] >= TARGET else "MISSES"
            print(f"{dtype:>8} weights: SavedModel {serving.saved_model_bytes(export_dir) / 1e6:7.1f} MB | "
                  f"serving {result['serve']:7.0f} videos/s | bare Keras {result['bare']:7.0f} videos/s | "
                  f"ratio {result['ratio']:.2f} ({verdict} the target >= {TARGET})")


if __name__ == "__main__":
    main()
