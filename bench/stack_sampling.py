"""What training the stack on a sample of the fold videos costs: out-of-fold, held-out
and test GAP@20, seconds and peak memory of LGBMStacker's code (`stacker.stack`) with
`max_train_videos` at fractions of the fold videos, on the latest merged artifact
(PredictionMerger's output) of a `y8m run`. Each fraction runs in a fresh process, so its
peak RSS is its own.

    uv run --frozen python bench/stack_sampling.py RUN_DIR [--profile quick] [--fractions 1 0.5 0.25]
"""
import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
import types

import psutil

from components.evaluator import evaluate
from components.lgbm_stacker import stacker
from pipeline.profile import load_profile
from schemas import splits
from schemas.video_level import NUM_CLASSES
from stack_feature_sets import latest_merged, split_labels


def reset_peak_rss() -> None:
    """Restarts the peak below (Linux: writing 5 to clear_refs resets VmHWM to the current RSS)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def peak_rss_mb() -> float:
    """The process's peak resident memory since `reset_peak_rss` (Linux: VmHWM)."""
    with open("/proc/self/status") as status:
        kilobytes = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return kilobytes / 1024


def stack_once(run_dir: str, profile_name: str, fraction: float) -> dict:
    profile = load_profile(profile_name)
    uri, merged_names = latest_merged(run_dir)
    sources = stacker.split_sources(types.SimpleNamespace(uri=uri))
    labels = split_labels(sources, profile.stacker.chunk_videos)
    fold_videos = len(labels[splits.OOF])
    settings = dataclasses.replace(profile.stacker, max_train_videos=max(1, round(fraction * fold_videos)))
    rss_before = psutil.Process().memory_info().rss / 2**20
    reset_peak_rss()
    with tempfile.TemporaryDirectory() as directory:
        predictions = types.SimpleNamespace(uri=directory)
        started = time.perf_counter()
        summary = stacker.stack(sources, merged_names, settings, profile.folds, NUM_CLASSES, predictions, directory)
        seconds = time.perf_counter() - started
        peak = peak_rss_mb()
        gaps = {split: evaluate.score_split("stack", split, evaluate.read_top_k(predictions, split),
                                            labels[split], NUM_CLASSES)["gap"] for split in sources}
    return {"fraction": fraction, "train_videos": settings.max_train_videos, "fold_videos": fold_videos,
            **gaps, "trees": [fold["trees"] for fold in summary["folds"]], "seconds": round(seconds, 1), "rss_before_mb": round(rss_before), "peak_rss_mb": round(peak)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--fractions", type=float, nargs="+", default=[1.0, 0.5, 0.25])
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # one fraction, in this process
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(stack_once(args.run_dir, args.profile, args.one)), flush=True)
        return
    print("| training videos | OOF GAP | held-out GAP | test GAP | trees per fold | stacker seconds "
          "| RSS before → peak (MB) |")
    print("|---|---|---|---|---|---|---|")
    for fraction in args.fractions:
        finished = subprocess.run([sys.executable, os.path.abspath(__file__), args.run_dir, "--profile", args.profile,
                                   "--one", str(fraction)], check=True, capture_output=True, text=True)
        result = json.loads(finished.stdout.strip().splitlines()[-1])
        print(f"| {result['train_videos']:,} of {result['fold_videos']:,} ({fraction:.0%}) | {result['oof']:.4f} "
              f"| {result['holdout']:.4f} | {result['test']:.4f} | {', '.join(map(str, result['trees']))} "
              f"| {result['seconds']} "
              f"| {result['rss_before_mb']:,} → {result['peak_rss_mb']:,} |", flush=True)


if __name__ == "__main__":
    main()
