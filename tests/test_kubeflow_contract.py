"""Container contract: every task of the compiled Kubeflow package, run with exactly its
compiled command and an ExecutorInput written as KFP's launcher writes it, on tiny data,
with `minio://` artifact URIs as on a stock Kubeflow install."""
import json
import os

import pytest
import yaml

from components import artifact_properties, splits
from kfp_launcher import Launcher, load_package, task_order
from pipeline.kubeflow_runner import compile_pipeline
from pipeline.profile import parse_profile
from y8m import synthetic

pytestmark = pytest.mark.e2e

CLASSES = 12  # fewer than 20: every stage must cope with a small vocabulary
PIPELINE_ROOT = "minio://mlpipeline/v2/artifacts/y8m-pipeline/run-1"


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    root = tmp_path_factory.mktemp("kfp")
    data_dir = str(root / "data")
    synthetic.generate(data_dir, videos=300, classes=CLASSES, seed=3, shards=1)
    with open(os.path.join(os.path.dirname(__file__), "tiny_profile.yaml")) as source:
        raw = yaml.safe_load(source)
    raw["l1_models"] = raw["l1_models"][:1]  # one model keeps nine pods' worth of imports short
    package = str(root / "pipeline.yaml")
    compile_pipeline(package, profile=parse_profile(raw, "contract", "contract profile"), image="y8m:test",
                     labelled_patterns=[f"{data_dir}/train*.tfrecord", f"{data_dir}/validate*.tfrecord"],
                     test_patterns=[f"{data_dir}/test*.tfrecord"],
                     serving_model_dir=str(root / "serving_model"), num_classes=CLASSES)
    pipeline_spec, _ = load_package(package)
    launcher = Launcher(pipeline_spec, PIPELINE_ROOT, str(root / "object_store"))
    results = {}
    for task in task_order(pipeline_spec):
        results[task] = launcher.run_task(task)
        if results[task].returncode != 0:
            break
    return launcher, results, root


def test_every_task_runs_its_compiled_command(launched):
    launcher, results, _ = launched
    order = task_order(launcher.spec)
    for task in order:
        assert task in results, f"{task} never ran: an upstream task failed"
        result = results[task]
        assert result.returncode == 0, f"{task} failed:\n{result.stderr[-3000:]}"
    assert len(order) == 9


def test_outputs_are_published_under_object_store_uris(launched):
    launcher, _, _ = launched
    for task, outputs in launcher.outputs.items():
        for key, artifact in outputs.items():
            assert artifact["uri"].startswith(PIPELINE_ROOT), (task, key)
            assert os.path.isdir(launcher.local_path(artifact["uri"])), (task, key)


def test_metadata_flows_between_tasks(launched):
    launcher, _, _ = launched
    split_examples = launcher.outputs["FoldSplitter"]["split_examples"]["metadata"]
    # tiny_profile.yaml has 3 folds.
    assert set(splits.pipeline_split_names(3)) <= set(json.loads(split_examples[artifact_properties.SPLIT_NAMES]))
    predictions = launcher.outputs["L1Trainer-mlp"]["predictions"]["metadata"]
    assert predictions[artifact_properties.MODEL_NAME] == "mlp" and predictions[artifact_properties.KIND] == "l1"


def test_evaluator_scores_every_stage_and_pusher_pushes(launched):
    launcher, _, root = launched
    metrics_dir = launcher.local_path(launcher.outputs["GapEvaluator"]["metrics"]["uri"])
    with open(os.path.join(metrics_dir, "metrics.json")) as source:
        report = json.load(source)
    assert {(s["name"], s["split"]) for s in report["stages"]} >= {
        ("mlp", "oof"), ("stack", "oof"), ("student", "holdout")}
    assert os.path.getsize(os.path.join(metrics_dir, "report.html")) > 1000
    if report["blessing"]["blessed"]:
        assert os.listdir(root / "serving_model"), "a blessed student must be pushed"
