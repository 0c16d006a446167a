"""Benchmark: PredictionMerger's Beam join + L2 features against a dense numpy version.

For N and 4N videos and M models (3862 classes, dense float32 predictions in gzipped
TFRecords), runs (a) the merger's Beam transform on the local in-process runner and
(b) a dense numpy implementation of the same definitions that holds every prediction in
memory (the limit), each in a fresh process, and prints L2 rows per second, CPU seconds
(every thread of the process: on a machine shared with other jobs the wall clock also
counts the time spent waiting for a core) and peak memory. Targets: Beam at least 0.6 x
dense at N and 4N; Beam peak memory at 4N at most 1.3 x that at N.

    uv run --frozen python bench/merge_bench.py [--videos 2000] [--models 3]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

CLASSES = 3862
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_inputs(directory: str, videos: int, models: int, seed: int = 0) -> dict:
    import tensorflow as tf

    from schemas import predictions as rows
    from schemas import video_level
    rng = np.random.default_rng(seed)
    ids = [f"v{i:07d}" for i in range(videos)]
    labels = [rng.choice(CLASSES, 3, replace=False) for _ in ids]
    video_file = os.path.join(directory, "videos.tfrecord.gz")
    with tf.io.TFRecordWriter(video_file, options="GZIP") as writer:
        for video_id, video_labels in zip(ids, labels):
            writer.write(video_level.make_example(video_id, video_labels, np.zeros(1024), np.zeros(128))
                         .SerializeToString())
    model_files = {}
    for model in range(models):
        path = os.path.join(directory, f"model{model}.tfrecord.gz")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for video_id in rng.permutation(ids):  # file order differs per model
                writer.write(rows.encode_prediction(str(video_id), rng.random(CLASSES, dtype=np.float32)))
        model_files[f"m{model}"] = [path]
    return {"videos": video_file, "models": model_files}


def run_beam(inputs: dict, output: str) -> int:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from components.prediction_merger.merge import MergePredictions
    from pipeline.beam_options import beam_args
    from schemas import predictions as rows
    with beam.Pipeline(options=PipelineOptions(beam_args("local"))) as pipeline:
        _ = (pipeline
             | MergePredictions({0: inputs["videos"]}, inputs["models"])
             | beam.Map(rows.encode_candidates)
             | beam.io.WriteToTFRecord(output, file_name_suffix=".tfrecord.gz"))
    import tensorflow as tf
    files = tf.io.gfile.glob(output + "*")
    return sum(rows.decode_candidates(r).candidates.size
               for r in tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())


def run_dense(inputs: dict, output: str) -> int:
    """The same definitions over [models, videos, classes] arrays held in memory."""
    import tensorflow as tf

    from schemas import predictions as rows
    del output
    ids, scores = None, []
    for patterns in inputs["models"].values():
        decoded = [rows.decode_prediction(r) for r in tf.data.TFRecordDataset(patterns, compression_type="GZIP")
                   .as_numpy_iterator()]
        order = {row.video_id: i for i, row in enumerate(decoded)}
        ids = ids or sorted(order)
        scores.append(np.stack([decoded[order[v]].scores for v in ids]))
    scores = np.stack(scores)  # [M, N, C]
    models, videos, classes = scores.shape
    top = np.argpartition(-scores, 19, axis=2)[:, :, :20]
    is_candidate = np.zeros((videos, classes), bool)
    for model in range(models):
        np.put_along_axis(is_candidate, top[model], True, axis=1)
    video_of_row, class_of_row = np.nonzero(is_candidate)
    candidate_scores = scores[:, video_of_row, class_of_row].T  # [R, M]
    ranks = np.empty_like(candidate_scores, dtype=np.int64)
    for model in range(models):
        ordered = np.sort(scores[model], axis=1) + 2.0 * np.arange(videos)[:, None]  # rows kept apart
        query = candidate_scores[:, model] + 2.0 * video_of_row
        ranks[:, model] = classes - (np.searchsorted(ordered.ravel(), query, side="right") - video_of_row * classes)
    features = np.concatenate([class_of_row[:, None], candidate_scores, ranks, candidate_scores.mean(1, keepdims=True),
                               candidate_scores.max(1, keepdims=True), candidate_scores.min(1, keepdims=True),
                               candidate_scores.std(1, keepdims=True), (ranks < 20).sum(1, keepdims=True)], axis=1)
    return int(features.shape[0])


def child(kind: str, inputs_json: str, output: str) -> None:
    inputs = json.loads(inputs_json)
    started, cpu_started = time.perf_counter(), time.process_time()
    row_count = (run_beam if kind == "beam" else run_dense)(inputs, output)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": row_count, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak_mb}))


def measure(kind: str, inputs: dict, output: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", kind, json.dumps(inputs), output],
                            capture_output=True, text=True, check=True, cwd=ROOT,
                            env={**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"})
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--models", type=int, default=3)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        for videos in (args.videos, 4 * args.videos):
            size_dir = os.path.join(directory, str(videos))
            os.makedirs(size_dir)
            inputs = write_inputs(size_dir, videos, args.models)
            for kind in ("dense", "beam"):
                results[(kind, videos)] = measure(kind, inputs, os.path.join(size_dir, f"{kind}-out"))
                r = results[(kind, videos)]
                print(f"{kind:5s} N={videos:6d} M={args.models}: {r['rows']:8d} rows in {r['seconds']:6.1f} s = "
                      f"{r['rows'] / r['seconds']:8.0f} rows/s ({r['cpu_seconds']:6.1f} s CPU), "
                      f"peak {r['peak_mb']:6.0f} MB", flush=True)
    n, big = args.videos, 4 * args.videos
    assert results[("beam", n)]["rows"] == results[("dense", n)]["rows"], "Beam and dense disagree"
    for videos in (n, big):
        beam_rate = results[("beam", videos)]["rows"] / results[("beam", videos)]["seconds"]
        dense_rate = results[("dense", videos)]["rows"] / results[("dense", videos)]["seconds"]
        cpu_ratio = results[("dense", videos)]["cpu_seconds"] / results[("beam", videos)]["cpu_seconds"]
        print(f"rows/s ratio beam/dense at N={videos}: {beam_rate / dense_rate:.2f} wall, {cpu_ratio:.2f} CPU "
              "(target >= 0.6)")
    memory_ratio = results[("beam", big)]["peak_mb"] / results[("beam", n)]["peak_mb"]
    print(f"beam peak memory ratio 4N/N: {memory_ratio:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
