"""Container contract: every task of the compiled Kubeflow package, run with exactly its
compiled command and an ExecutorInput written as open-source KFP's driver and launcher
write it (tests/kfp_launcher.py: a file system per task, files-only transfer through the
object store, untyped upstream artifacts), on tiny data, with `minio://` artifact URIs as
on a stock Kubeflow install. The whole pipeline runs as on KFP ≥ 2.15 with PUBLISH_LOGS,
with run parameters other than the package's defaults; its first tasks also as on KFP
2.0–2.4. Second runs of the package show what KFP's cache reuses."""
import json
import os


import pytest
import yaml

from components import artifact_properties
from components.evaluator.report import DISPLAY_NAMES
from kfp_launcher import EXECUTOR_LOGS, KFP_2_0_TO_2_4, LEGACY_OUTPUT_FILE, KFP_2_15_ON, Launcher, load_package, task_order
from pipeline.kubeflow_runner import compile_pipeline
from pipeline.pipeline import FINGERPRINT_TASK, assembler_id, trainer_id
from pipeline.profile import parse_profile
from rewritten_inputs import negate_features, restore
from schemas import splits
from y8m import synthetic

pytestmark = pytest.mark.e2e

CLASSES = 12  # fewer than 20: every stage must cope with a small vocabulary
FOLDS = 2
PIPELINE_ROOT = "minio://mlpipeline/v2/artifacts/y8m-pipeline/run-1"
# The first task with an upstream parameter, the first with an upstream artifact.
FIRST_TASKS = [FINGERPRINT_TASK, "VideoExampleGen", "FoldSplitter"]
UI_OUTPUTS = {("GapEvaluator", key) for key in DISPLAY_NAMES}
# The package's defaults: where a cluster's data volume would hold the data (not here).
DEFAULT_INPUTS = dict(labelled_patterns=["/data/yt8m/train*.tfrecord"], test_patterns=["/data/yt8m/test*.tfrecord"],
                      serving_model_dir="/data/serving_model")


def run_parameters(data_dir: str, serving_model_dir: str) -> dict:
    """The run form's values for data elsewhere; a blessing threshold every student meets."""
    return {"labelled_patterns": json.dumps([f"{data_dir}/train*.tfrecord", f"{data_dir}/validate*.tfrecord"]),
            "test_patterns": json.dumps([f"{data_dir}/test*.tfrecord"]),
            "serving_model_dir": serving_model_dir, "min_gap_ratio": 0.0}


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
                     num_classes=CLASSES, **DEFAULT_INPUTS)
    pipeline_spec, _ = load_package(path)
    return pipeline_spec, root


def launch(pipeline_spec: dict, work_dir: str, backend, tasks: list[str], root, cache=None, dry_run=False):
    launcher = Launcher(pipeline_spec, PIPELINE_ROOT, work_dir, backend, cache=cache,
                        parameter_values=run_parameters(str(root / "data"), str(root / "serving_model")))
    results = {}
    for task in tasks:
        results[task] = launcher.run_task(task, dry_run=dry_run)
        if results[task].returncode != 0:
            break
    return launcher, results


@pytest.fixture(scope="module")
def launched(package):
    pipeline_spec, root = package
    launcher, results = launch(pipeline_spec, str(root / "kfp-2.15"), KFP_2_15_ON, task_order(pipeline_spec), root)
    return launcher, results, root


def assert_ran(results: dict, tasks: list[str]) -> None:
    for task in tasks:
        assert task in results, f"{task} never ran: an upstream task failed"
        assert results[task].returncode == 0, f"{task} failed:\n{results[task].stderr[-3000:]}"


def test_every_task_runs_its_compiled_command(launched):
    launcher, results, _ = launched
    order = task_order(launcher.spec)
    assert_ran(results, order)
    assert len(order) == 15 and order[0] == FINGERPRINT_TASK
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
            elif task == FINGERPRINT_TASK:  # TFX String values: a file at the URI
                assert os.path.isfile(launcher.object_path(artifact["uri"])), (task, key)
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
    assert report["blessing"]["blessed"] and report["blessing"]["min_gap_ratio"] == 0.0  # the run's threshold
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
    launcher, results = launch(pipeline_spec, str(root / "kfp-2.0"), KFP_2_0_TO_2_4, FIRST_TASKS, root)
    assert_ran(results, FIRST_TASKS)
    assert set(launcher.outputs["FoldSplitter"]) == {"split_examples", "fold_table"}
    assert launcher.executor_inputs["FoldSplitter"]["outputs"]["outputFile"].endswith("/" + LEGACY_OUTPUT_FILE)


def test_the_run_form_values_reach_the_tasks(package, launched):
    """The package's defaults name the cluster's data volume; the run's values (as the KFP
    run form or `y8m submit --param` give them) are what the tasks read and write."""
    pipeline_spec, root = package
    launcher, results, _ = launched
    assert_ran(results, task_order(pipeline_spec))
    defaults = pipeline_spec["root"]["inputDefinitions"]["parameters"]
    assert json.loads(defaults["labelled_patterns"]["defaultValue"]) == DEFAULT_INPUTS["labelled_patterns"]
    given = run_parameters(str(root / "data"), str(root / "serving_model"))
    parameters = launcher.executor_inputs["VideoExampleGen"]["inputs"]["parameterValues"]
    assert parameters["labelled_patterns"] == given["labelled_patterns"] != defaults["labelled_patterns"]
    assert parameters["input_fingerprint"] == launcher.output_parameters[FINGERPRINT_TASK]["video_fingerprint"]
    assert launcher.executor_inputs["Pusher"]["inputs"]["parameterValues"]["serving_model_dir"] == str(
        root / "serving_model")
    summary = json.loads(launcher.outputs[assembler_id("mlp")]["predictions"]["custom_properties"][
        artifact_properties.TRAINING_SUMMARY])
    assert summary["folds"], "the trainers read the examples made from the run's files"


def test_kfps_cache_reuses_every_task_of_unchanged_data_and_nothing_of_changed_data(package, launched):
    """KFP's cache key (driver `getFingerPrint`) holds VideoExampleGen's input fingerprint,
    which the never-cached first task reads from the files when each run starts."""
    pipeline_spec, root = package
    first, results, _ = launched
    order = task_order(pipeline_spec)
    assert_ran(results, order)
    assert first.reused == []
    again, results = launch(pipeline_spec, str(root / "kfp-again"), KFP_2_15_ON, order, root, cache=first.cache)
    assert_ran(results, order)
    assert again.reused == order[1:], "same data: every task but the fingerprint is taken from the cache"
    data_file = sorted((root / "data").glob("train*.tfrecord"))[0]
    original = data_file.read_bytes()
    try:
        negate_features(str(data_file))
        changed, results = launch(pipeline_spec, str(root / "kfp-changed"), KFP_2_15_ON, order, root,
                                  cache=first.cache, dry_run=True)
    finally:
        restore(str(data_file), original)
    assert changed.output_parameters[FINGERPRINT_TASK] != first.output_parameters[FINGERPRINT_TASK]
    assert changed.reused == [], "a file rewritten with the same name, size and time: every task runs again"
