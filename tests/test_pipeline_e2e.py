"""The whole pipeline under LocalDagRunner on tiny synthetic data: outputs, contracts, caching."""
import csv
import glob
import json
import os

import pytest

from pipeline.local_runner import run_local
from pipeline.profile import load_profile
from y8m import scoring, synthetic

TINY_PROFILE = os.path.join(os.path.dirname(__file__), "tiny_profile.yaml")
CLASSES = 20

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data_dir = str(root / "data")
    synthetic.generate(data_dir, videos=1000, classes=CLASSES, seed=1)
    args = dict(labelled_patterns=[f"{data_dir}/train*.tfrecord", f"{data_dir}/validate*.tfrecord"],
                test_patterns=[f"{data_dir}/test*.tfrecord"], output_dir=str(root / "out"),
                profile=load_profile(TINY_PROFILE), num_classes=CLASSES)
    outputs = run_local(**args)
    return args, outputs, data_dir


def executions(output_dir: str) -> list[str]:
    return sorted(glob.glob(f"{output_dir}/pipeline_root/*/.system/executor_execution/*"))


def test_every_stage_is_scored(tiny_run):
    _, outputs, _ = tiny_run
    with open(outputs.metrics_path) as source:
        stages = json.load(source)["stages"]
    seen = {(s["name"], s["kind"], s["split"]) for s in stages}
    for name in ("mlp", "resnet_like"):
        assert {(name, "l1", split) for split in ("oof", "holdout", "test")} <= seen
    assert {("stack", "stack", split) for split in ("oof", "holdout", "test")} <= seen
    assert {("student", "student", "holdout"), ("student", "student", "test")} <= seen
    assert ("student", "student", "oof") not in seen  # leaky: never reported
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


def test_pushed_model_is_served_from_raw_examples(tiny_run):
    _, outputs, _ = tiny_run
    with open(outputs.metrics_path) as source:
        report = json.load(source)
    if not report["blessing"]["blessed"]:
        pytest.skip("student not blessed on this tiny run: " + report["blessing"]["reason"])
    assert os.path.exists(os.path.join(outputs.pushed_model_dir, "saved_model.pb"))


def test_rerun_reuses_cached_components(tiny_run):
    args, outputs, _ = tiny_run
    before = executions(args["output_dir"])
    run_local(**args)
    assert executions(args["output_dir"]) == before
