"""End-to-end speed of one profile at two commits, in the same run of this script; or
where the time of one finished run went.

Each commit is checked out into a temporary git worktree and runs `y8m run` on the same
inputs, through this environment's Python with the worktree first on the path (so a
commit before a change and the commit with it run on the same machine, minutes apart).
Prints each run's wall time, every stage's GAP, and the speed-up with the largest GAP
difference. The commits run one after the other, `--rounds` times, alternating which
goes first, so that a slow spell of a shared machine does not favour one.

    uv run --frozen python bench/pipeline_speed.py --before REV [--after HEAD] \\
        --train 'DIR/validate00[0-2]?.tfrecord' --train 'DIR/validate003[01].tfrecord' \\
        --test 'DIR/validate003[2-9].tfrecord' [--profile quick]

With `--run OUTPUT_DIR` (a finished `y8m run`'s output directory) it prints, from the
run's `metrics.json`, each component's seconds, the part of them inside training steps
(what the L1 and student trainers recorded per epoch: the steps with their input
pipeline, not validation, reading or writing predictions) and everything else, then the
same summed per component type, and the shares of the run's wall time:

    uv run --frozen python bench/pipeline_speed.py --run runs/real-quick
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The runner's progress line of a finished component, e.g. "[3/27] L1Trainer-mlp-fold-0: done in 41 s".
DONE_LINE = re.compile(r"\[\d+/\d+\] ([\w-]+): done in (\d+) s")


def seconds_by_component_type(log_text: str) -> dict:
    """Seconds per component type (the id without its model, fold or index), summed."""
    totals = collections.Counter()
    for component_id, seconds in DONE_LINE.findall(log_text):
        totals[component_type(component_id)] += int(seconds)
    return dict(totals)


def run_at(revision: str, args, workdir: str) -> dict:
    """Wall seconds and stage GAPs of `y8m run` at `revision`."""
    tree = os.path.join(workdir, "tree")
    subprocess.run(["git", "-C", REPOSITORY, "worktree", "add", "--detach", tree, revision],
                   check=True, capture_output=True)
    try:
        output = os.path.join(workdir, "out")
        command = [sys.executable, "-c", "from y8m.cli import main; main()", "run", "--output", output,
                   "--profile", args.profile]
        command += [flag for pattern in args.train for flag in ("--train", pattern)]
        command += [flag for pattern in args.test for flag in ("--test", pattern)]
        environment = {**os.environ, "PYTHONPATH": tree, "TF_USE_LEGACY_KERAS": "1"}
        started = time.monotonic()
        log_path = os.path.join(workdir, "log.txt")
        with open(log_path, "w") as log:
            subprocess.run(command, cwd=tree, env=environment, stdout=log, stderr=subprocess.STDOUT, check=True)
        seconds = time.monotonic() - started
        with open(log_path) as log:
            components = seconds_by_component_type(log.read())
        with open(os.path.join(output, "metrics.json")) as source:
            report = json.load(source)
        gaps = {f"{stage['name']}/{stage['split']}": stage["gap"] for stage in report["stages"]}
        return {"seconds": seconds, "gaps": gaps, "components": components}
    finally:
        subprocess.run(["git", "-C", REPOSITORY, "worktree", "remove", "--force", tree], check=True)


def component_type(component_id: str) -> str:
    """The component's type: its id without its model, fold or index."""
    return component_id.split("-")[0]


def time_breakdown(run: dict) -> dict:
    """Where a run's time went, from `metrics.json`'s `run`: per component and per component
    type, (seconds, seconds inside training steps, everything else); and the totals."""
    step_seconds = run.get("training_step_seconds", {})
    components = {component: (seconds, step_seconds.get(component, 0.0), seconds - step_seconds.get(component, 0.0))
                  for component, seconds in run["component_seconds"].items()}
    by_type = {}
    for component, times in components.items():
        name = component_type(component)
        by_type[name] = tuple(total + part for total, part in zip(by_type.get(name, (0.0, 0.0, 0.0)), times))
    summed = tuple(sum(times[i] for times in components.values()) for i in range(3))
    return {"components": components, "types": by_type, "summed": summed, "wall": run["seconds"]}


def print_time_breakdown(breakdown: dict) -> None:
    header = f"{'':32s} {'seconds':>9s} {'in steps':>9s} {'other':>9s} {'steps %':>8s}"

    def line(name: str, times: tuple) -> str:
        seconds, steps, other = times
        return f"{name:32s} {seconds:9.1f} {steps:9.1f} {other:9.1f} {100 * steps / max(seconds, 1e-9):7.0f}%"

    print(f"{'component':32s}" + header[32:])
    for component, times in breakdown["components"].items():
        print(line(component, times))
    print(f"\n{'component type (summed)':32s}" + header[32:])
    for name, times in sorted(breakdown["types"].items(), key=lambda item: -item[1][0]):
        print(line(name, times))
    print(line("all components", breakdown["summed"]))
    wall, (seconds, steps, other) = breakdown["wall"], breakdown["summed"]
    # Components that ran side by side (`--parallel`) sum to more than the wall time.
    print(f"\nrun: {wall:.1f} s of wall time; components {seconds:.1f} s summed ({seconds / wall:.2f} x the wall "
          f"time); inside training steps {steps:.1f} s ({100 * steps / wall:.0f}% of the wall time), everything "
          f"else {other:.1f} s in components and {max(wall - seconds, 0.0):.1f} s of wall time outside any")


def report_run(output_dir: str) -> None:
    with open(os.path.join(output_dir, "metrics.json")) as source:
        run = json.load(source)["run"]
    print_time_breakdown(time_breakdown(run))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", help="a finished run's output directory: where its time went")
    parser.add_argument("--before", help="the commit to compare against")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--train", action="append")
    parser.add_argument("--test", action="append")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.run:
        report_run(args.run)
        return
    if not (args.before and args.train and args.test):
        parser.error("give --run OUTPUT_DIR, or --before, --train and --test")
    results = {args.before: [], args.after: []}
    for round_index in range(args.rounds):
        order = [args.before, args.after] if round_index % 2 == 0 else [args.after, args.before]
        for revision in order:
            with tempfile.TemporaryDirectory(prefix="y8m-speed-") as workdir:
                result = run_at(revision, args, workdir)
            results[revision].append(result)
            print(f"round {round_index + 1} {revision}: {result['seconds']:.0f} s", flush=True)
    before, after = results[args.before], results[args.after]
    before_seconds = sum(r["seconds"] for r in before) / len(before)
    after_seconds = sum(r["seconds"] for r in after) / len(after)
    print(f"\n{'component (summed)':28s} {'before':>8s} {'after':>8s} {'ratio':>8s}")
    for name, old in before[-1]["components"].items():
        new = after[-1]["components"].get(name, 0)
        print(f"{name:28s} {old:7d}s {new:7d}s {old / max(new, 1):8.2f}")
    print(f"\n{'stage/split':28s} {'before':>8s} {'after':>8s} {'diff':>8s}")
    largest = 0.0
    for stage in before[-1]["gaps"]:
        old, new = before[-1]["gaps"][stage], after[-1]["gaps"].get(stage)
        if new is None:
            print(f"{stage:28s} {old:8.4f} {'-':>8s}")
            continue
        largest = max(largest, abs(new - old))
        print(f"{stage:28s} {old:8.4f} {new:8.4f} {new - old:+8.4f}")
    print(f"\nwall time: before {before_seconds:.0f} s, after {after_seconds:.0f} s; "
          f"speed-up {before_seconds / after_seconds:.2f}x (target 1.5); "
          f"largest GAP difference {largest:.4f} (target 0.005)")


if __name__ == "__main__":
    main()
