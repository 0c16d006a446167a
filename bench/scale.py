"""Scale: the whole pipeline at N and at factor × N videos, each component in a process of
its own, and for every component its peak resident memory and seconds per 1,000 videos
at both sizes, with their ratios (issue 12: at 8N within 1.25× of N for memory, 1.3×
for time).

    PYTHONPATH=. TF_USE_LEGACY_KERAS=1 python bench/scale.py [--videos 25000] [--factor 8] [--frames] [--keep DIR]

- Data: `y8m.synthetic.generate`, video-level, with the real vocabulary's 3,862 classes
  (what the prediction tables hold per video), in shards of a fixed size: the number of
  shards grows with N, as the real data's does, and streaming readers hold a shard at most.
  With `--frames`, frame-level files of the same videos too (at most MAX_FRAMES frames a
  video), FrameFeatures, and a small frame-level model beside the video-level one.
- Profile: tests/tiny_profile.yaml as the contract test shrinks it (2 folds, one L1
  model, a student of two networks), trained for EPOCHS epochs: every component of the
  graph and every fan-out and fan-in, small models; the same profile at both sizes.
- Processes: the Kubeflow package compiled from that profile, each task run as Kubeflow
  Pipelines' launcher runs it (tests/kfp_launcher.py): its compiled command in a
  subprocess of its own, in topological order. The package carries the default local
  Beam arguments (the FnApiRunner, in memory, in the task's process), so a Beam
  component's work happens in its task's process and the peak RSS covers it.
- Measured: each task process's wall seconds and peak RSS (`ru_maxrss` from `wait4`,
  tests/process_usage.py), without the launcher's copying of artifacts.
- Start-up: a task first imports TFX and TensorFlow (about 20 s and several hundred MB),
  which dominates small N. The baseline row is a process that imports the task
  entrypoint (pipeline.kubeflow_entrypoint: TFX, TensorFlow) and does nothing else; the
  "above base" ratios subtract it from both sizes.
"""
import argparse
import contextlib
import math
import os
import platform
import shlex
import sys
import tempfile
import time

import yaml

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(REPOSITORY, "tests")
sys.path.insert(0, TESTS)  # the stand-in KFP launcher lives with the tests that use it

from kfp_launcher import Launcher, load_package, run_measured, task_order  # noqa: E402
from pipeline.kubeflow_runner import compile_pipeline  # noqa: E402
from pipeline.profile import parse_profile  # noqa: E402
from schemas.video_level import NUM_CLASSES  # noqa: E402
from y8m import synthetic  # noqa: E402

PIPELINE_ROOT = "minio://mlpipeline/v2/artifacts/y8m-pipeline/scale"
FOLDS = 2
EPOCHS = 2
# Videos per shard index, whatever N: train, validate and test each get one shard per
# this many videos (a train shard holds about 60% of them, validate and test 20% each).
VIDEOS_PER_SHARD = 500
SEED = 0
MEMORY_TARGET = 1.25
TIME_TARGET = 1.3
# Profile settings that bound a component's memory whatever N: the component may grow up
# to them (issue 12).
# (component type → the settings that cap it, as read from the profile).
CAPS = {
    "LGBMStacker": lambda profile: {"stacker.chunk_videos": profile.stacker.chunk_videos,
                                    "stacker.max_train_videos": profile.stacker.max_train_videos},
    "L1Trainer": lambda profile: {"training.shuffle_buffer (records)": max(
        model.training.shuffle_buffer for model in profile.l1_models)},
    "StudentTrainer": lambda profile: {"training.shuffle_buffer (records)": max(
        network.recipe.shuffle_buffer for network in profile.student.networks())},
}
# A task's longest run: the largest task of the default 25k/200k run must fit.
TASK_TIMEOUT_SECONDS = 6 * 3600
MB = 1e6
# The frame-level variant (`--frames`): frame-level files of the same videos, FrameFeatures,
# and one small frame-level L1 model beside the video-level one.
MAX_FRAMES = 20
FRAME_MODEL = {"name": "soft_bow", "family": "soft_bow",
               "kwargs": {"max_frames": MAX_FRAMES, "clusters": 32, "hidden_size": 64},
               "training": {"batch_size": 32, "max_epochs": EPOCHS, "learning_rate": 0.003,
                            "shuffle_buffer": 2000}}


def bench_profile(frames: bool):
    with open(os.path.join(TESTS, "tiny_profile.yaml")) as source:
        raw = yaml.safe_load(source)
    raw["folds"] = FOLDS
    raw["l1_models"] = raw["l1_models"][:1]
    if frames:
        raw["l1_models"].append(FRAME_MODEL)
    raw["student"]["members"] = [dict(raw["student"]["members"][0], copies=2)]
    for section in [*raw["l1_models"], *raw["student"]["members"]]:
        section["training"]["max_epochs"] = EPOCHS
    return parse_profile(raw, "scale", "bench/scale.py profile")


def generate(data_dir: str, videos: int, frames: bool) -> None:
    shards = math.ceil(videos / VIDEOS_PER_SHARD)
    synthetic.generate(data_dir, videos=videos, classes=NUM_CLASSES, seed=SEED, shards=shards, frames=frames,
                       max_frames=MAX_FRAMES)


def compile_package(work_dir: str, data_dir: str, profile, frames: bool) -> dict:
    path = os.path.join(work_dir, "pipeline.yaml")
    compile_pipeline(path, profile=profile, image="y8m:scale",
                     labelled_patterns=[f"{data_dir}/train*.tfrecord", f"{data_dir}/validate*.tfrecord"],
                     test_patterns=[f"{data_dir}/test*.tfrecord"],
                     frame_patterns=[f"{data_dir}/frames/*.tfrecord"] if frames else None,
                     serving_model_dir=os.path.join(work_dir, "serving_model"), num_classes=NUM_CLASSES)
    pipeline_spec, _ = load_package(path)
    return pipeline_spec


def run_pipeline(work_dir: str, videos: int, profile, frames: bool) -> dict:
    """Task → its process's usage, for the whole pipeline on `videos` new videos."""
    data_dir = os.path.join(work_dir, "data")
    started = time.monotonic()
    generate(data_dir, videos, frames)
    print(f"{videos} videos generated in {time.monotonic() - started:.0f} s", flush=True)
    pipeline_spec = compile_package(work_dir, data_dir, profile, frames)
    launcher = Launcher(pipeline_spec, PIPELINE_ROOT, work_dir)
    for task in task_order(pipeline_spec):
        result = launcher.run_task(task, timeout=TASK_TIMEOUT_SECONDS)
        if result.returncode != 0:
            raise SystemExit(f"{task} failed at {videos} videos:\n{result.stderr[-3000:]}")
        usage = launcher.usage[task]
        print(f"  {task}: {usage.seconds:.0f} s, {usage.peak_rss_bytes / MB:.0f} MB", flush=True)
    return launcher.usage


def start_up_baseline():
    """The usage of a process that imports what every task imports, and stops."""
    env = {**os.environ, "PYTHONPATH": REPOSITORY, "TF_USE_LEGACY_KERAS": "1"}
    result, usage = run_measured([sys.executable, "-c", "import pipeline.kubeflow_entrypoint"], env=env,
                                 cwd=REPOSITORY, timeout=TASK_TIMEOUT_SECONDS)
    if result.returncode != 0:
        raise SystemExit(f"the start-up baseline failed:\n{result.stderr[-3000:]}")
    return usage


def component_type(task: str) -> str:
    """`L1Trainer-mlp-fold-0` → `L1Trainer`."""
    return task.split("-")[0]


def ratio(large: float, small: float) -> float:
    return large / small if small > 0 else float("inf")


def table_rows(small: dict, large: dict) -> list[tuple[str, object, object]]:
    """(label, usage at N, usage at factor × N): a task alone, or a fan-out's maximum then
    each of its tasks. A fan-out's maximum is of each measure apart."""
    groups = {}
    for task in small:
        groups.setdefault(component_type(task), []).append(task)
    rows = []
    for name, tasks in groups.items():
        if len(tasks) == 1:
            rows.append((tasks[0], small[tasks[0]], large[tasks[0]]))
            continue
        rows.append((f"{name} (max of {len(tasks)})", maximum([small[t] for t in tasks]),
                     maximum([large[t] for t in tasks])))
        rows.extend((f"  {task}", small[task], large[task]) for task in tasks)
    return rows


def maximum(usages: list):
    return type(usages[0])(seconds=max(u.seconds for u in usages), cpu_seconds=max(u.cpu_seconds for u in usages),
                           peak_rss_bytes=max(u.peak_rss_bytes for u in usages))


def flags(memory_ratio: float, memory_above_base: float, time_ratio: float, time_above_base: float) -> str:
    """MEM / TIME where a ratio exceeds its target; in parentheses where only the ratio
    above the start-up baseline does (growth that start-up hides at this N)."""
    marks = []
    for name, whole, above, target in (("MEM", memory_ratio, memory_above_base, MEMORY_TARGET),
                                       ("TIME", time_ratio, time_above_base, TIME_TARGET)):
        if whole > target:
            marks.append(name)
        elif above > target:
            marks.append(f"({name.lower()})")
    return " ".join(marks)


def cap_note(label: str, profile) -> str:
    caps = CAPS.get(component_type(label.strip().split(" ")[0]))
    if not caps:
        return ""
    return "cap: " + ", ".join(f"{name}={value}" for name, value in caps(profile).items())


def print_table(small: dict, large: dict, baseline, videos: int, factor: int, profile) -> None:
    per_1000 = 1000 / videos
    base_seconds, base_mb = baseline.seconds, baseline.peak_rss_bytes / MB
    size = f"{factor}N"
    print(f"{'component':34s} {'MB N':>7s} {'MB ' + size:>7s} {'ratio':>6s} {'>base':>6s}"
          f" {'s/1k N':>7s} {'s/1k ' + size:>8s} {'ratio':>6s} {'>base':>6s}  flags")
    for label, at_n, at_large in table_rows(small, large):
        mb_n, mb_large = at_n.peak_rss_bytes / MB, at_large.peak_rss_bytes / MB
        s_n, s_large = at_n.seconds * per_1000, at_large.seconds * per_1000 / factor
        memory_ratio, memory_above = ratio(mb_large, mb_n), ratio(mb_large - base_mb, mb_n - base_mb)
        time_ratio = ratio(s_large, s_n)
        time_above = ratio((at_large.seconds - base_seconds) / factor, at_n.seconds - base_seconds)
        marks = " ".join(part for part in (flags(memory_ratio, memory_above, time_ratio, time_above),
                                           cap_note(label, profile)) if part)
        print(f"{label:34s} {mb_n:7.0f} {mb_large:7.0f} {memory_ratio:6.2f} {memory_above:6.2f}"
              f" {s_n:7.1f} {s_large:8.1f} {time_ratio:6.2f} {time_above:6.2f}  {marks}")
    print(f"{'start-up baseline (per process)':34s} {base_mb:7.0f} {'':7s} {'':6s} {'':6s}"
          f" {base_seconds * per_1000:7.1f} {base_seconds * per_1000 / factor:8.1f}  "
          f"({base_seconds:.1f} s, {base_mb:.0f} MB: import pipeline.kubeflow_entrypoint)")


def machine() -> str:
    with open("/proc/meminfo") as meminfo:
        total_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    return (f"{len(os.sched_getaffinity(0))} cores usable ({os.cpu_count()} online, {model}), "
            f"{total_kib / 2**20:.0f} GiB memory, {platform.system()} {platform.release()}, Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=25000, help="N, the smaller size")
    parser.add_argument("--factor", type=int, default=8, help="the larger size is factor × N")
    parser.add_argument("--keep", help="keep the data, packages and artifacts of both runs in this folder")
    parser.add_argument("--frames", action="store_true",
                        help=f"with frame-level files ({MAX_FRAMES} frames at most a video), FrameFeatures and a "
                             "frame-level model")
    args = parser.parse_args()
    print("command:", shlex.join(["python", *sys.argv]))
    print("machine:", machine(), flush=True)
    profile = bench_profile(args.frames)
    baseline = start_up_baseline()
    usage = {}
    work_folder = contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory(prefix="y8m-scale-")
    with work_folder as work_root:
        for videos in (args.videos, args.videos * args.factor):
            print(f"\n{videos} videos:", flush=True)
            started = time.monotonic()
            usage[videos] = run_pipeline(os.path.join(work_root, f"videos-{videos}"), videos, profile, args.frames)
            print(f"{videos} videos: pipeline in {time.monotonic() - started:.0f} s", flush=True)
    print(f"\npeak RSS (MB) and wall seconds per 1,000 videos of each task's process; N = {args.videos}, "
          f"{args.factor}N = {args.videos * args.factor}; targets: memory ≤ {MEMORY_TARGET}×, time ≤ {TIME_TARGET}×;"
          " '>base': the ratio less the start-up baseline")
    print_table(usage[args.videos], usage[args.videos * args.factor], baseline, args.videos, args.factor, profile)


if __name__ == "__main__":
    main()
