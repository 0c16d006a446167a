"""The whole pipeline under LocalDagRunner on tiny synthetic data: outputs, contracts, caching."""
import csv
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from cli_checks import running
from pipeline.local_runner import run_local
from pipeline.pipeline import trainer_id
from pipeline.profile import parse_profile
from pipeline.beam_options import beam_args
from rewritten_inputs import negate_features, restore
from schemas.submission import read_submission
from y8m import scoring, synthetic
from y8m.predict import predict

TINY_PROFILE = os.path.join(os.path.dirname(__file__), "tiny_profile.yaml")
CLASSES = 20

FRAMES = 8

pytestmark = pytest.mark.e2e


def tiny_profile_raw_with_frame_model() -> dict:
    """The tiny profile plus one frame-level model, fed by the frame-level files."""
    with open(TINY_PROFILE) as source:
        raw = yaml.safe_load(source)
    raw["l1_models"].append({"name": "temporal", "family": "temporal_combinations",
                             "kwargs": {"max_frames": FRAMES, "hidden_size": 32},
                             "training": {"batch_size": 32, "max_epochs": 4, "learning_rate": 0.003}})
    return raw


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data_dir = str(root / "data")
    synthetic.generate(data_dir, videos=1000, classes=CLASSES, seed=1, frames=True, max_frames=FRAMES)
    args = dict(labelled_patterns=[f"{data_dir}/train*.tfrecord", f"{data_dir}/validate*.tfrecord"],
                test_patterns=[f"{data_dir}/test*.tfrecord"], output_dir=str(root / "out"),
                profile=parse_profile(tiny_profile_raw_with_frame_model(), "tiny_frames", TINY_PROFILE),
                num_classes=CLASSES,
                frame_patterns=[f"{data_dir}/frames/*.tfrecord"])
    outputs = run_local(**args)
    return args, outputs, data_dir


def executions(output_dir: str) -> list[str]:
    return sorted(glob.glob(f"{output_dir}/pipeline_root/*/.system/executor_execution/*"))


def test_every_stage_is_scored(tiny_run):
    _, outputs, _ = tiny_run
    with open(outputs.metrics_path) as source:
        stages = json.load(source)["stages"]
    seen = {(s["name"], s["kind"], s["split"]) for s in stages}
    for name in ("mlp", "resnet_like", "temporal"):  # video-level and frame-level alike
        assert {(name, "l1", split) for split in ("oof", "holdout", "test")} <= seen
    assert {("stack", "stack", split) for split in ("oof", "holdout", "test")} <= seen
    assert {("student", "student", "holdout"), ("student", "student", "test")} <= seen
    assert ("student", "student", "oof") not in seen  # leaky: never reported
    # The second-round model trained on soft labels: held-out and test only (leaky out-of-fold).
    assert {("mlp_soft", "l1", "holdout"), ("mlp_soft", "l1", "test")} <= seen
    assert ("mlp_soft", "l1", "oof") not in seen
    for stage in stages:
        assert set(stage) == {"name", "kind", "split", "gap", "hit_at_1", "perr", "map", "videos"}
        assert 0.0 <= stage["gap"] <= 1.0 and stage["videos"] > 0
    # Learnable synthetic data: every model beats a random guess by far.
    assert min(s["gap"] for s in stages) > 0.15


def test_submission_contract(tiny_run):
    _, outputs, data_dir = tiny_run
    for path in (outputs.submission_path, outputs.stack_submission_path):
        with open(path) as source:
            rows = list(csv.reader(source))
        assert rows[0] == ["VideoId", "LabelConfidencePairs"]
        ids = [row[0] for row in rows[1:]]
        test_ids = set(scoring.read_labels([f"{data_dir}/test*.tfrecord"], CLASSES))
        assert sorted(ids) == sorted(test_ids)
        assert all(len(row[1].split()) == 40 for row in rows[1:])


def test_score_agrees_with_metrics(tiny_run):
    args, outputs, _ = tiny_run
    with open(outputs.metrics_path) as source:
        stages = json.load(source)["stages"]
    student_test = next(s for s in stages if s["name"] == "student" and s["split"] == "test")
    scored = scoring.score_submission(outputs.submission_path, args["test_patterns"], num_classes=CLASSES)
    assert scored["gap"] == pytest.approx(student_test["gap"], abs=1e-5)
    assert scored["videos"] == student_test["videos"]


# Runs in a fresh interpreter with nothing but TensorFlow: what a serving user has.
SERVE_RAW_EXAMPLES = """
import json, sys
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
records = list(tf.data.TFRecordDataset(sys.argv[2:]).as_numpy_iterator())
out = serve(examples=tf.constant(records))
print(json.dumps({vid.decode(): [ids.tolist(), scores.tolist()] for vid, ids, scores in
                  zip(out["video_id"].numpy(), out["class_ids"].numpy(), out["scores"].numpy())}))
"""


def test_pushed_model_serves_raw_examples_like_training_side(tiny_run):
    _, outputs, data_dir = tiny_run
    with open(outputs.metrics_path) as source:
        assert json.load(source)["blessing"]["blessed"], "the tiny profile's student must be blessed"
    test_files = sorted(glob.glob(f"{data_dir}/test*.tfrecord"))
    served = subprocess.run([sys.executable, "-c", SERVE_RAW_EXAMPLES, outputs.pushed_model_dir, *test_files],
                            capture_output=True, text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    served = json.loads(served.stdout.strip().splitlines()[-1])
    submitted = read_submission(outputs.submission_path)
    assert sorted(served) == sorted(submitted)
    for video_id, (class_ids, scores) in served.items():
        np.testing.assert_array_equal(class_ids, submitted[video_id][0])
        np.testing.assert_allclose(scores, submitted[video_id][1], rtol=1e-5)


def test_report_is_published_beside_the_metrics(tiny_run):
    # Before test_rerun_reuses_cached_components: a re-run that reuses every component
    # publishes the report and metrics again, with no component times.
    _, outputs, _ = tiny_run
    with open(os.path.join(os.path.dirname(outputs.metrics_path), "report.html")) as source:
        page = source.read()
    assert "student · holdout" in page and "bytes of a 1,000,000,000-byte budget" in page
    assert "validation GAP@20 by epoch" in page
    assert "<h2>Where the run's time went</h2>" in page and "L1Trainer-" in page
    with open(outputs.metrics_path) as source:
        run = json.load(source)["run"]
    component_seconds, step_seconds = run["component_seconds"], run["training_step_seconds"]
    assert "LGBMStacker" in component_seconds and all(seconds >= 0 for seconds in component_seconds.values())
    # Every trainer that ran, and only those, with the part of its time inside training steps.
    trainers = {component for component in component_seconds if component.startswith(("L1Trainer-", "StudentTrainer"))}
    assert trainers and set(step_seconds) == trainers
    assert all(0 < step_seconds[component] <= component_seconds[component] for component in trainers)
    shown = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "bench", "pipeline_speed.py"),
                            "--run", os.path.dirname(outputs.metrics_path)], capture_output=True, text=True, check=True)
    assert "L1Trainer" in shown.stdout and "inside training steps" in shown.stdout


def test_rerun_reuses_cached_components(tiny_run):
    args, outputs, _ = tiny_run
    before = executions(args["output_dir"])
    run_local(**args)
    assert executions(args["output_dir"]) == before


def test_batch_predict_writes_the_same_submission(tiny_run, tmp_path):
    _, outputs, data_dir = tiny_run
    output = str(tmp_path / "predicted.csv")
    videos = predict(outputs.pushed_model_dir, [f"{data_dir}/test*.tfrecord"], output, beam_args("local"))
    predicted, submitted = read_submission(output), read_submission(outputs.submission_path)
    assert videos == len(submitted) and sorted(predicted) == sorted(submitted)
    for video_id, (class_ids, scores) in predicted.items():
        np.testing.assert_array_equal(class_ids, submitted[video_id][0])
        np.testing.assert_allclose(scores, submitted[video_id][1], rtol=1e-5)


def run_until(command: list[str], marker: str, timeout: float = 600) -> list[int]:
    """Starts `command`, kills it with SIGKILL once a line of its stderr contains `marker`;
    returns the ids of its child processes at that moment. Fails if the command ends first."""
    import signal
    import time
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                               env={**os.environ, "TF_USE_LEGACY_KERAS": "1", "CUDA_VISIBLE_DEVICES": "-1"})
    deadline = time.monotonic() + timeout
    try:
        for line in process.stderr:
            if marker in line:
                children = child_processes(process.pid)
                process.send_signal(signal.SIGKILL)
                return children
            assert time.monotonic() < deadline, f"no '{marker}' within {timeout} s"
        raise AssertionError(f"the run ended (code {process.wait()}) before '{marker}'")
    finally:
        process.kill()
        process.wait()


def child_processes(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def resumable_run(tiny_run, tmp_path, *extra: str) -> tuple[list[str], dict]:
    """(the `y8m run` command of the tiny run into a new output directory, plus `extra`;
    run_local's arguments for the same run)."""
    from pipeline.profile import load_profile
    args, _, data_dir = tiny_run
    profile_path = tmp_path / "tiny_frames.yaml"  # the file's name is the profile's name
    profile_path.write_text(yaml.safe_dump(tiny_profile_raw_with_frame_model()))
    resumed = dict(args, output_dir=str(tmp_path / "out"), profile=load_profile(str(profile_path)))
    assert resumed["profile"] == args["profile"]
    command = [sys.executable, "-m", "y8m.cli", "run", "--output", resumed["output_dir"],
               "--profile", str(profile_path), "--classes", str(CLASSES),
               "--frame-train", f"{data_dir}/frames/*.tfrecord", *extra]
    for pattern in args["labelled_patterns"]:
        command += ["--train", pattern]
    for pattern in args["test_patterns"]:
        command += ["--test", pattern]
    return command, resumed


def execution_states(output_dir: str) -> list:
    from tfx.orchestration import metadata

    from pipeline.local_runner import metadata_config
    with metadata.Metadata(metadata_config(output_dir)) as handle:
        return [execution.last_known_state for execution in handle.store.get_executions()]


def same_file(path: str, other: str) -> bool:
    with open(path, "rb") as first, open(other, "rb") as second:
        return first.read() == second.read()


def test_a_killed_run_stops_its_workers_and_resumes_to_the_same_submission(tiny_run, tmp_path, caplog):
    """Components side by side in worker processes (--parallel 2), SIGKILL in the middle of
    an L1Trainer's fold: the workers die with the run. The same run again (also in
    parallel) reuses the completed components, cancels the stopped ones and runs them
    afresh, and its submission equals the uninterrupted run's (one component after
    another, in process) byte for byte."""
    import logging
    import time

    from ml_metadata.proto import metadata_store_pb2
    _, outputs, _ = tiny_run
    command, resumed = resumable_run(tiny_run, tmp_path, "--parallel", "2")
    workers = run_until(command, "resnet_like fold 1: epoch")  # a worker's progress line
    assert workers
    deadline = time.monotonic() + 30
    while any(running(worker) for worker in workers):
        assert time.monotonic() < deadline, "the workers of a killed run still run"
        time.sleep(0.5)

    with caplog.at_level(logging.INFO, logger="y8m.run"):
        again = run_local(**resumed, parallel_components=2)
    assert same_file(again.submission_path, outputs.submission_path)
    messages = "\n".join(record.getMessage() for record in caplog.records)
    stopped = trainer_id("resnet_like", 1)
    assert f"{stopped}: the execution a stopped run left behind" in messages
    reused = next(line for line in messages.splitlines() if line.startswith("reused from earlier runs"))
    assert "VideoExampleGen" in reused and "FoldSplitter" in reused and stopped not in reused
    # The workers start components in the graph's order, so of those started before the
    # stopped one, all but the one that may have run beside it had completed.
    started_before = ["FrameFeatures", *(trainer_id("mlp", fold) for fold in range(3)), trainer_id("resnet_like", 0)]
    assert sum(node in reused for node in started_before) >= len(started_before) - 1
    assert "VideoExampleGen: reused from cache" in messages and f"{stopped}: done in" in messages
    states = execution_states(resumed["output_dir"])
    assert metadata_store_pb2.Execution.RUNNING not in states
    assert 1 <= states.count(metadata_store_pb2.Execution.CANCELED) <= 2



def test_a_local_rerun_reuses_the_same_bytes_and_reruns_rewritten_ones(tiny_run, tmp_path):
    """`y8m run` again into the same output: every component is reused. Then one labelled
    file rewritten with its name, size and time kept (as `cp -p` leaves it): its content
    hash changes the input fingerprint, so VideoExampleGen and everything after it run
    again."""
    args, _, data_dir = tiny_run
    command, _ = resumable_run(tiny_run, tmp_path, "--parallel", "1")
    command[command.index("--output") + 1] = args["output_dir"]
    before = executions(args["output_dir"])
    subprocess.run(command, check=True, capture_output=True, timeout=900)
    assert executions(args["output_dir"]) == before
    data_file = sorted(glob.glob(f"{data_dir}/train*.tfrecord"))[0]
    with open(data_file, "rb") as source:
        original = source.read()
    try:
        negate_features(data_file)
        subprocess.run(command, check=True, capture_output=True, timeout=1800)
    finally:
        restore(data_file, original)

    def component(execution: str) -> str:
        return os.path.relpath(execution, os.path.join(args["output_dir"], "pipeline_root")).split(os.sep)[0]
    ran_again = {component(path) for path in set(executions(args["output_dir"])) - set(before)}
    assert "VideoExampleGen" in ran_again and ran_again == {component(path) for path in before}
