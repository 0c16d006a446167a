"""End-to-end speed of one profile at two commits, in the same run of this script.

Each commit is checked out into a temporary git worktree and runs `y8m run` on the same
inputs, through this environment's Python with the worktree first on the path (so a
commit before a change and the commit with it run on the same machine, minutes apart).
Prints each run's wall time, every stage's GAP, and the speed-up with the largest GAP
difference. The commits run one after the other, `--rounds` times, alternating which
goes first, so that a slow spell of a shared machine does not favour one.

    uv run --frozen python bench/pipeline_speed.py --before REV [--after HEAD] \\
        --train 'DIR/validate00[0-2]?.tfrecord' --train 'DIR/validate003[01].tfrecord' \\
        --test 'DIR/validate003[2-9].tfrecord' [--profile quick]
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
        totals[component_id.split("-")[0]] += int(seconds)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="the commit to compare against")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--train", action="append", required=True)
    parser.add_argument("--test", action="append", required=True)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
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
