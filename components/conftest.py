"""Tiny artifacts for the executor tests: each fixture runs one component's executor
in-process (its `Do`, no pipeline, no orchestrator, no ML Metadata) on the outputs of the
fixtures before it, on a few dozen synthetic videos written to a temporary folder.

A component's executor test asserts on its fixture's output; a fixture fails when its
executor does, so each test fails when its own executor (or one upstream) breaks.
"""
import json
import os

import pytest
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts
from tfx.types.value_artifact import ValueArtifact

import y8m_types
from components.evaluator import executor as evaluator_executor
from components.example_gen import executor as example_gen_executor
from components.fold_splitter import executor as fold_splitter_executor
from components.frame_features import executor as frame_features_executor
from components.l1_assembler import executor as l1_assembler_executor
from components.l1_trainer import executor as l1_trainer_executor
from components.lgbm_stacker import executor as lgbm_stacker_executor
from components.prediction_merger import executor as prediction_merger_executor
from components.soft_label_indexer import executor as soft_label_indexer_executor
from components.student.distiller import executor as distiller_executor
from components.student.trainer import executor as student_trainer_executor
from components.student.transform import executor as student_transform_executor
from pipeline.beam_options import beam_args
from y8m import synthetic

CLASSES = 6
FOLDS = 2
MAX_FRAMES = 4
VIDEOS = 60
TRAINING = {"batch_size": 16, "max_epochs": 1}
L1_CONFIG = {"name": "mlp", "family": "mlp", "kwargs": {"hidden_size": 8}, "training": TRAINING}
STACKER_SETTINGS = {"n_estimators": 5, "learning_rate": 0.3, "num_leaves": 3, "min_child_samples": 2,
                    "early_stopping_rounds": 2, "n_jobs": 1}
STUDENT_CONFIG = {"members": [{"family": "mlp", "kwargs": {"hidden_size": 8}, "training": TRAINING, "copies": 2}]}


def new_artifact(artifact_type, path):
    """An artifact of `artifact_type` at a fresh folder (a value artifact: a file there), as
    the launcher hands it to `Do`."""
    artifact = artifact_type()
    artifact.uri = str(path)
    os.makedirs(os.path.dirname(artifact.uri) if isinstance(artifact, ValueArtifact) else artifact.uri,
                exist_ok=True)
    return artifact


def run_executor(executor_class, input_dict: dict, output_dict: dict, exec_properties: dict) -> dict:
    """Runs `Do` as the launcher would (Beam executors with the local runner's arguments);
    returns `output_dict`."""
    if issubclass(executor_class, base_beam_executor.BaseBeamExecutor):
        executor = executor_class(base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=beam_args("local")))
    else:
        executor = executor_class()
    executor.Do(input_dict, output_dict, exec_properties)
    return output_dict


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("executors")


@pytest.fixture(scope="session")
def tiny_data(work_dir) -> str:
    data = str(work_dir / "data")
    synthetic.generate(data, videos=VIDEOS, classes=CLASSES, seed=4, shards=1, frames=True, max_frames=MAX_FRAMES)
    return data


@pytest.fixture(scope="session")
def examples(work_dir, tiny_data):
    output = {"examples": [new_artifact(standard_artifacts.Examples, work_dir / "examples")]}
    run_executor(example_gen_executor.Executor, {}, output, {
        "labelled_patterns": json.dumps([f"{tiny_data}/train*.tfrecord", f"{tiny_data}/validate*.tfrecord"]),
        "test_patterns": json.dumps([f"{tiny_data}/test*.tfrecord"]), "input_fingerprint": "",
        "num_classes": CLASSES, "max_bad_fraction": 0.01})
    return output["examples"][0]


@pytest.fixture(scope="session")
def fold_splitter_outputs(work_dir, examples) -> dict:
    return run_executor(fold_splitter_executor.Executor, {"examples": [examples]}, {
        "split_examples": [new_artifact(standard_artifacts.Examples, work_dir / "split_examples")],
        "fold_table": [new_artifact(y8m_types.FoldTable, work_dir / "fold_table")]},
        {"num_folds": FOLDS, "holdout_fraction": 0.2, "seed": 0})


@pytest.fixture(scope="session")
def split_examples(fold_splitter_outputs):
    return fold_splitter_outputs["split_examples"][0]


@pytest.fixture(scope="session")
def frame_features(work_dir, tiny_data, split_examples):
    output = {"frame_features": [new_artifact(standard_artifacts.Examples, work_dir / "frame_features")]}
    run_executor(frame_features_executor.Executor, {"split_examples": [split_examples]}, output, {
        "frame_patterns": json.dumps([f"{tiny_data}/frames/*.tfrecord"]), "input_fingerprint": "",
        "num_folds": FOLDS, "num_classes": CLASSES, "max_frames": MAX_FRAMES, "max_bad_fraction": 0.0})
    return output["frame_features"][0]


@pytest.fixture(scope="session")
def fold_predictions(work_dir, split_examples) -> list:
    """The L1 model's output of every fold, in fold order."""
    outputs = []
    for fold in range(FOLDS):
        output = {"fold_predictions": [new_artifact(y8m_types.FoldPredictions, work_dir / f"fold_{fold}")]}
        run_executor(l1_trainer_executor.Executor, {"examples": [split_examples]}, output, {
            "model_config": json.dumps(L1_CONFIG), "fold": fold, "num_folds": FOLDS, "num_classes": CLASSES})
        outputs.append(output["fold_predictions"][0])
    return outputs


@pytest.fixture(scope="session")
def l1_predictions(work_dir, fold_predictions):
    # Given in reverse: the assembler orders the folds by their property, not by key.
    inputs = {f"fold_predictions_{index}": [artifact] for index, artifact in enumerate(reversed(fold_predictions))}
    output = {"predictions": [new_artifact(y8m_types.Predictions, work_dir / "l1_predictions")]}
    run_executor(l1_assembler_executor.Executor, inputs, output,
                 {"model_config": json.dumps(L1_CONFIG), "num_folds": FOLDS})
    return output["predictions"][0]


@pytest.fixture(scope="session")
def merged(work_dir, split_examples, l1_predictions):
    output = {"merged": [new_artifact(y8m_types.MergedPredictions, work_dir / "merged")]}
    run_executor(prediction_merger_executor.Executor,
                 {"split_examples": [split_examples], "predictions_0": [l1_predictions]}, output, {"num_folds": FOLDS})
    return output["merged"][0]


@pytest.fixture(scope="session")
def stack_outputs(work_dir, merged) -> dict:
    return run_executor(lgbm_stacker_executor.Executor, {"merged": [merged]}, {
        "predictions": [new_artifact(y8m_types.Predictions, work_dir / "stack_predictions")],
        "model": [new_artifact(standard_artifacts.Model, work_dir / "stack_model")]},
        {"stacker_settings": json.dumps(STACKER_SETTINGS), "num_folds": FOLDS, "num_classes": CLASSES})


@pytest.fixture(scope="session")
def soft_labels(work_dir, split_examples, stack_outputs):
    output = {"soft_labels": [new_artifact(y8m_types.SoftLabels, work_dir / "soft_labels")]}
    run_executor(soft_label_indexer_executor.Executor, {
        "split_examples": [split_examples], "stack_predictions": stack_outputs["predictions"]}, output,
        {"num_folds": FOLDS})
    return output["soft_labels"][0]


@pytest.fixture(scope="session")
def transform_graph(work_dir, soft_labels):
    output = {"transform_graph": [new_artifact(standard_artifacts.TransformGraph, work_dir / "transform_graph")]}
    run_executor(student_transform_executor.Executor, {"soft_labels": [soft_labels]}, output, {
        "student_config": json.dumps(STUDENT_CONFIG), "num_folds": FOLDS, "num_classes": CLASSES,
        "max_model_bytes": 10**7})
    return output["transform_graph"][0]


@pytest.fixture(scope="session")
def student_networks(work_dir, soft_labels, transform_graph) -> list:
    """Both networks of the student, in index order."""
    networks = []
    for index in range(2):
        output = {"network": [new_artifact(y8m_types.StudentNetwork, work_dir / f"network_{index}")]}
        run_executor(student_trainer_executor.Executor,
                     {"soft_labels": [soft_labels], "transform_graph": [transform_graph]}, output, {
                         "student_config": json.dumps(STUDENT_CONFIG), "network_index": index,
                         "num_folds": FOLDS, "num_classes": CLASSES})
        networks.append(output["network"][0])
    return networks


@pytest.fixture(scope="session")
def student_outputs(work_dir, split_examples, transform_graph, student_networks) -> dict:
    inputs = {"transform_graph": [transform_graph], "split_examples": [split_examples],
              **{f"student_network_{index}": [network] for index, network in enumerate(reversed(student_networks))}}
    return run_executor(distiller_executor.Executor, inputs, {
        "model": [new_artifact(standard_artifacts.Model, work_dir / "student_model")],
        "predictions": [new_artifact(y8m_types.Predictions, work_dir / "student_predictions")]},
        {"student_config": json.dumps(STUDENT_CONFIG), "num_classes": CLASSES, "max_model_bytes": 10**7})


@pytest.fixture(scope="session")
def evaluator_outputs(work_dir, split_examples, l1_predictions, stack_outputs, student_outputs) -> dict:
    inputs = {"split_examples": [split_examples], "predictions_0": [l1_predictions],
              "stack_predictions": stack_outputs["predictions"], "student_predictions": student_outputs["predictions"],
              "student_model": student_outputs["model"]}
    outputs = {"metrics": [new_artifact(y8m_types.StageMetrics, work_dir / "metrics")],
               "blessing": [new_artifact(standard_artifacts.ModelBlessing, work_dir / "blessing")],
               "report": [new_artifact(y8m_types.HtmlReport, work_dir / "report")],
               "summary": [new_artifact(y8m_types.MarkdownSummary, work_dir / "summary")],
               "scalars": [new_artifact(y8m_types.ScalarMetrics, work_dir / "scalars")]}
    return run_executor(evaluator_executor.Executor, inputs, outputs, {
        "num_folds": FOLDS, "num_classes": CLASSES, "min_gap_ratio": 0.0, "min_gap_over_prior": -1.0,
        "settings": json.dumps({"name": "tiny"})})
