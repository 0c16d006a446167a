"""Benchmark: what the input fingerprint costs, against one plain read of the same records.

The fingerprint (common/input_files.py) hashes the bytes of every local input file
besides its name, size and time, each run (`y8m run`, and the first task of a Kubeflow
run). Measured on the given files (by default the 40 real video-level shards in
../shared/data): the fingerprint with content hashes, the one of names, sizes and times
alone, and one pass that reads every record of the files with tf.data (the least that
VideoExampleGen does with them). Prints the seconds of each (best of --repeats, files in
the page cache after the first), MB/s, and the ratio of the fingerprint to the read
(limit: --limit, 0.5 by default).

    uv run --frozen python bench/fingerprint_cost.py [--files GLOB] [--repeats 5]
"""
import argparse
import hashlib
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
DEFAULT_FILES = os.path.join(os.path.dirname(ROOT), "shared", "data", "youtube8m_samples",
                             "video_level_2018_validate", "validate*.tfrecord")


def best_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", default=DEFAULT_FILES)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--limit", type=float, default=0.5)
    args = parser.parse_args()
    import tensorflow as tf

    from common.input_files import expand_patterns, fingerprint

    files = expand_patterns([args.files], "benchmark")
    total_bytes = sum(os.path.getsize(path) for path in files)

    def stat_only():
        stats = [(path, tf.io.gfile.stat(path).length, tf.io.gfile.stat(path).mtime_nsec) for path in files]
        return hashlib.sha256(json.dumps(stats).encode()).hexdigest()

    def read_records():
        return sum(1 for _ in tf.data.TFRecordDataset(files))

    read_records()  # into the page cache, as a re-run finds them
    seconds = {"fingerprint": best_seconds(lambda: fingerprint(files), args.repeats),
               "stat_only": best_seconds(stat_only, args.repeats),
               "read_records": best_seconds(read_records, args.repeats)}
    ratio = seconds["fingerprint"] / seconds["read_records"]
    print(json.dumps({
        "files": len(files), "megabytes": round(total_bytes / 1e6, 1), "records": read_records(),
        "seconds": {name: round(value, 4) for name, value in seconds.items()},
        "fingerprint_mb_per_s": round(total_bytes / 1e6 / seconds["fingerprint"], 1),
        "fingerprint_over_read": round(ratio, 3), "limit": args.limit, "within_limit": ratio <= args.limit,
    }, indent=2))


if __name__ == "__main__":
    main()
