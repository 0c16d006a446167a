"""Container contract: every task of the compiled Kubeflow package, run with exactly its
compiled command and an ExecutorInput written as open-source KFP's driver and launcher
write it (tests/kfp_launcher.py: a file system per task, files-only transfer through the
object store, untyped upstream artifacts), on tiny data, with `minio://` artifact URIs as
on a stock Kubeflow install. The whole pipeline runs as on KFP ≥ 2.15 with PUBLISH_LOGS;
its first tasks also as on KFP 2.0–2.4."""
import json
import os

import pytest
import yaml

from components import artifact_properties
from components.evaluator.report import DISPLAY_NAMES
from kfp_launcher import EXECUTOR_LOGS, KFP_2_0_TO_2_4, LEGACY_OUTPUT_FILE, KFP_2_15_ON, Launcher, load_package, task_order
from pipeline.kubeflow_runner import compile_pipeline
from pipeline.pipeline import assembler_id, trainer_id
from pipeline.profile import parse_profile
from schemas import splits
from y8m import synthetic

pytestmark = pytest.mark.e2e

CLASSES = 12  # fewer than 20: every stage must cope with a small vocabulary
FOLDS = 2
PIPELINE_ROOT = "minio://mlpipeline/v2/artifacts/y8m-pipeline/run-1"
# The first task with an upstream artifact, and the one before it.
FIRST_TASKS = ["VideoExampleGen", "FoldSplitter"]
UI_OUTPUTS = {("GapEvaluator", key) for key in DISPLAY_NAMES}


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    root = tmp_path_factory.mktemp("kfp")
    data_dir = str(root / "data")
    synthetic.generate(data_dir, videos=300, classes=CLASSES, seed=3, shards=1)
    with open(os.path.join(os.path.dirname(__file__), "tiny_profile.yaml")) as source:
        raw = yaml.safe_load(source)
    # One model of two folds and a student of two networks keep the pods' imports short,
    # with every fan-out and fan-in of the graph still there.
    raw["folds"] = FOLDS
    raw["l1_models"] = raw["l1_models"][:1]
    raw["student"]["members"] = [dict(raw["student"]["members"][0], copies=2)]
    path = str(root / "pipeline.yaml")
    compile_pipeline(path, profile=parse_profile(raw, "contract", "contract profile"), image="y8m:test",
                     labelled_patterns=[f"{data_dir}/train*.tfrecord", f"{data_dir}/validate*.tfrecord"],
                     test_patterns=[f"{data_dir}/test*.tfrecord"],
                     serving_model_dir=str(root / "serving_model"), num_classes=CLASSES)
    pipeline_spec, _ = load_package(path)
    return pipeline_spec, root


def launch(pipeline_spec: dict, work_dir: str, backend, tasks: list[str]):
    launcher = Launcher(pipeline_spec, PIPELINE_ROOT, work_dir, backend)
    results = {}
    for task in tasks:
        results[task] = launcher.run_task(task)
        if results[task].returncode != 0:
            break
    return launcher, results


@pytest.fixture(scope="module")
def launched(package):
    pipeline_spec, root = package
    launcher, results = launch(pipeline_spec, str(root / "kfp-2.15"), KFP_2_15_ON, task_order(pipeline_spec))
    return launcher, results, root


def assert_ran(results: dict, tasks: list[str]) -> None:
    for task in tasks:
        assert task in results, f"{task} never ran: an upstream task failed"
        assert results[task].returncode == 0, f"{task} failed:\n{results[task].stderr[-3000:]}"


def test_every_task_runs_its_compiled_command(launched):
    launcher, results, _ = launched
    order = task_order(launcher.spec)
    assert_ran(results, order)
    assert len(order) == 14
    assert {trainer_id("mlp", 0), trainer_id("mlp", 1), assembler_id("mlp"), "StudentTransform",
            "StudentTrainer-0", "StudentTrainer-1", "Distiller"} <= set(order)


def test_tasks_run_on_the_untyped_artifacts_of_upstream_tasks(launched):
    launcher, results, _ = launched
    assert_ran(results, FIRST_TASKS)
    examples = launcher.executor_inputs["FoldSplitter"]["inputs"]["artifacts"]["examples"]["artifacts"][0]
    assert examples["type"] == {"instanceSchema": ""}


def test_outputs_are_published_under_object_store_uris(launched):
    launcher, _, _ = launched
    for task, outputs in launcher.outputs.items():
        for key, artifact in outputs.items():
            assert artifact["uri"].startswith(PIPELINE_ROOT), (task, key)
            if key == EXECUTOR_LOGS:  # written by the launcher, beside the task's own outputs
                with open(launcher.object_path(artifact["uri"])) as logs:
                    assert "Starting executor" in logs.read(), task
            elif (task, key) in UI_OUTPUTS:
                continue  # test_the_kfp_ui_gets_the_report_summary_and_scalars
            else:
                assert os.path.isdir(launcher.object_path(artifact["uri"])), (task, key)


def test_metadata_flows_between_tasks(launched):
    launcher, _, _ = launched
    split_examples = launcher.outputs["FoldSplitter"]["split_examples"]["custom_properties"]
    assert set(splits.pipeline_split_names(FOLDS)) <= set(json.loads(split_examples[artifact_properties.SPLIT_NAMES]))
    predictions = launcher.outputs[assembler_id("mlp")]["predictions"]["custom_properties"]
    assert predictions[artifact_properties.MODEL_NAME] == "mlp" and predictions[artifact_properties.KIND] == "l1"
    # The assembler read each fold task's fold from its metadata, as the launcher passed it.
    summary = json.loads(predictions[artifact_properties.TRAINING_SUMMARY])
    assert [fold["fold"] for fold in summary["folds"]] == list(range(FOLDS))
    model = launcher.outputs["Distiller"]["model"]["custom_properties"]
    assert int(model[artifact_properties.MEMBERS]) == 2


def test_evaluator_scores_every_stage_and_pusher_pushes(launched):
    launcher, _, root = launched
    metrics_dir = launcher.object_path(launcher.outputs["GapEvaluator"]["metrics"]["uri"])
    with open(os.path.join(metrics_dir, "metrics.json")) as source:
        report = json.load(source)
    assert {(s["name"], s["split"]) for s in report["stages"]} >= {
        ("mlp", "oof"), ("stack", "oof"), ("student", "holdout")}
    assert os.path.getsize(os.path.join(metrics_dir, "report.html")) > 1000
    if report["blessing"]["blessed"]:
        assert os.listdir(root / "serving_model"), "a blessed student must be pushed"


def test_the_kfp_ui_gets_the_report_summary_and_scalars(launched):
    """What the KFP UI reads (frontend `MetricsVisualizations.tsx`): the object at the URI
    of an HTML or Markdown artifact, the custom properties of a Metrics artifact; each
    artifact with its display name."""
    launcher, _, _ = launched
    outputs = launcher.outputs["GapEvaluator"]
    for key, name in DISPLAY_NAMES.items():
        assert outputs[key]["custom_properties"]["display_name"] == name
    with open(launcher.object_path(outputs["report"]["uri"])) as page:
        assert page.read().startswith("<!DOCTYPE html>")
    with open(launcher.object_path(outputs["summary"]["uri"])) as summary:
        assert "| student | student | holdout |" in summary.read()
    scalars = outputs["scalars"]["custom_properties"]
    assert 0 < scalars["gap20_student_holdout"] <= 1 and scalars["blessed"] in (0.0, 1.0)


def test_the_first_tasks_run_as_on_kfp_2_0_to_2_4(package):
    """No executor-logs output, the executor output file in the legacy place (LEGACY_OUTPUT_FILE)."""
    pipeline_spec, root = package
    launcher, results = launch(pipeline_spec, str(root / "kfp-2.0"), KFP_2_0_TO_2_4, FIRST_TASKS)
    assert_ran(results, FIRST_TASKS)
    assert set(launcher.outputs["FoldSplitter"]) == {"split_examples", "fold_table"}
    assert launcher.executor_inputs["FoldSplitter"]["outputs"]["outputFile"].endswith("/" + LEGACY_OUTPUT_FILE)
