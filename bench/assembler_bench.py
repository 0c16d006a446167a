"""Benchmark: L1Assembler against the I/O limit of its bytes, at N and 4N videos.

An L1 model's K = 5 fold outputs (dense float32 scores over 3,862 classes, gzipped
TFRecords as L1Trainer writes them: N/K out-of-fold rows each, and every fold model's
scores of the same held-out (N/10) and test (N/4) videos) are joined by
`components/l1_assembler/assemble.py`. Its limit is reading every input byte and writing
every output byte at the rates this machine's file system gives in the same run, on the
same files (plain `read`/`write` of 16 MB blocks, no parsing): seconds = input bytes /
read rate + output bytes / write rate. Both are timed in CPU seconds of this process
(every thread) and in wall seconds: on a machine shared with other jobs the wall clock
also counts the time spent waiting for a core, so the CPU ratio is the one that compares
the work; on an idle machine the two agree. Prints the assembler's seconds, the limit's and
their ratios (limit / assembler; 1.0 = as fast as copying the bytes; target >= 0.6). A run
on a few videos first takes TensorFlow's one-time start-up out of the measurement.

    uv run --frozen python bench/assembler_bench.py [--videos 4000]
"""
import argparse
import glob
import os
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

CLASSES = 3862
FOLDS = 5
BLOCK = 16 << 20


def fold_artifacts(directory: str, videos: int, seed: int = 0) -> list:
    """K FoldPredictions artifacts as L1Trainer writes them."""
    import y8m_types
    from components import artifact_properties
    from schemas import splits
    rng = np.random.default_rng(seed)
    shared = {splits.HOLDOUT: [f"h{i:07d}" for i in range(videos // 10)],
              splits.TEST: [f"t{i:07d}" for i in range(videos // 4)]}
    artifacts = []
    for fold in range(FOLDS):
        artifact = y8m_types.FoldPredictions()
        artifact.uri = os.path.join(directory, f"fold-{fold}")
        split_ids = {splits.OOF: [f"f{fold}-{i:07d}" for i in range(videos // FOLDS)], **shared}
        for split, ids in split_ids.items():
            splits.write_dense_predictions(artifact, split, (
                (ids[start:start + 1024], rng.random((len(ids[start:start + 1024]), CLASSES), np.float32))
                for start in range(0, len(ids), 1024)))
        artifact.set_string_custom_property(artifact_properties.MODEL_NAME, "mlp")
        artifact.set_int_custom_property(artifact_properties.FOLD, fold)
        artifact.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, "{}")
        artifacts.append(artifact)
    return artifacts


def files_under(directory: str) -> list[str]:
    return [path for path in glob.glob(os.path.join(directory, "**", "*"), recursive=True) if os.path.isfile(path)]


class Timer:
    """CPU seconds of this process (every thread) and wall seconds of a `with` block."""

    def __enter__(self):
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc_info):
        self.cpu, self.wall = time.process_time() - self._cpu, time.perf_counter() - self._wall

    def __str__(self) -> str:
        return f"{self.cpu:6.2f} s CPU ({self.wall:6.2f} s wall)"


def ratio(limit: Timer, stage: Timer) -> str:
    """limit / stage in CPU and in wall seconds (1.0: the stage as fast as its limit)."""
    return f"ratio {limit.cpu / stage.cpu:.2f} CPU, {limit.wall / stage.wall:.2f} wall (target >= 0.6)"


def read_bytes(paths: list[str]) -> int:
    """Reads `paths` whole in BLOCK-sized reads; returns the bytes read."""
    total = 0
    for path in paths:
        with open(path, "rb") as source:
            while block := source.read(BLOCK):
                total += len(block)
    return total


def write_bytes(path: str, size: int) -> None:
    """Writes `size` bytes to a new file in BLOCK-sized writes (and removes it)."""
    block = np.random.default_rng(0).bytes(BLOCK)
    with open(path, "wb") as sink:
        for start in range(0, size, BLOCK):
            sink.write(block[:min(BLOCK, size - start)])
    os.remove(path)


def measure(directory: str, videos: int) -> dict:
    import y8m_types
    from components.l1_assembler import assemble
    inputs = fold_artifacts(os.path.join(directory, "folds"), videos)
    output = y8m_types.Predictions()
    output.uri = os.path.join(directory, "assembled")
    with Timer() as assembler:
        assemble.assemble(inputs, output, FOLDS, "mlp")
    out_bytes = sum(os.path.getsize(path) for path in files_under(output.uri))
    with Timer() as limit:
        in_bytes = read_bytes(files_under(os.path.join(directory, "folds")))
        write_bytes(os.path.join(directory, "write-rate"), out_bytes)
    return {"videos": videos, "in_mb": in_bytes / 1e6, "out_mb": out_bytes / 1e6, "assembler": assembler,
            "limit": limit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="assembler-bench-") as directory:
        measure(directory, 2 * FOLDS)  # TensorFlow's one-time start of its readers and parsers
    for videos in (args.videos, 4 * args.videos):
        with tempfile.TemporaryDirectory(prefix="assembler-bench-") as directory:
            r = measure(directory, videos)
        assembler, limit = r["assembler"], r["limit"]
        print(f"N={videos:6d}: {r['in_mb']:5.0f} MB in, {r['out_mb']:5.0f} MB out; assembler {assembler}, "
              f"I/O limit {limit}: {ratio(limit, assembler)}", flush=True)


if __name__ == "__main__":
    main()
