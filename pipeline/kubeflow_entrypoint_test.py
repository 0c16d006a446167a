"""The entrypoint wrapper: the executor input of open-source KFP's launcher made into one
TFX runs (input types, launcher outputs, object-store URIs to local copies and back)."""
import json

import pytest
import yaml
from tfx.orchestration.kubeflow.v2 import compiler_utils
from tfx.types import standard_artifacts

import y8m_types
from common.errors import UserError
from components import artifact_properties
from pipeline import kubeflow_entrypoint, kubeflow_runner
from pipeline.profile import load_profile


def executor_input(tmp_path) -> dict:
    return {
        "inputs": {"artifacts": {"examples": {"artifacts": [{"uri": "minio://mlpipeline/run/FoldSplitter/x"}]},
                                 "model": {"artifacts": [{"uri": "gs://bucket/run/Distiller/model"}]}}},
        "outputs": {"artifacts": {"merged": {"artifacts": [{"uri": "s3://bucket/run/PredictionMerger/merged"}]}},
                    "outputFile": str(tmp_path / "executor_output.json")}}


def test_object_store_uris_become_launcher_paths(tmp_path):
    invocation = executor_input(tmp_path)
    originals = kubeflow_entrypoint.localize(invocation, str(tmp_path))
    examples = invocation["inputs"]["artifacts"]["examples"]["artifacts"][0]["uri"]
    merged = invocation["outputs"]["artifacts"]["merged"]["artifacts"][0]["uri"]
    assert examples == str(tmp_path / "minio/mlpipeline/run/FoldSplitter/x")
    assert merged == str(tmp_path / "s3/bucket/run/PredictionMerger/merged")
    assert (tmp_path / "s3/bucket/run/PredictionMerger/merged").is_dir()  # executors write into it
    # TensorFlow opens gs:// itself.
    assert invocation["inputs"]["artifacts"]["model"]["artifacts"][0]["uri"] == "gs://bucket/run/Distiller/model"
    assert originals == {examples: "minio://mlpipeline/run/FoldSplitter/x",
                         merged: "s3://bucket/run/PredictionMerger/merged"}


def test_executor_output_gets_the_original_uris_back(tmp_path):
    invocation = executor_input(tmp_path)
    originals = kubeflow_entrypoint.localize(invocation, str(tmp_path))
    local = invocation["outputs"]["artifacts"]["merged"]["artifacts"][0]["uri"]
    output_file = invocation["outputs"]["outputFile"]
    with open(output_file, "w") as out:
        json.dump({"artifacts": {"merged": {"artifacts": [
            {"uri": local, "metadata": {artifact_properties.MODEL_NAMES: "[]"}}]}}}, out)
    kubeflow_entrypoint.restore_uris(output_file, originals)
    with open(output_file) as source:
        artifact = json.load(source)["artifacts"]["merged"]["artifacts"][0]
    assert artifact == {"uri": "s3://bucket/run/PredictionMerger/merged",
                        "metadata": {artifact_properties.MODEL_NAMES: "[]"}}


# What open-source KFP's launcher writes for a task: inputs as the driver reads them back
# from ML Metadata (type `instanceSchema: ""`, the MLMD id as name, custom properties as
# metadata), outputs with the types of the component's output definitions.
UNTYPED = {"instanceSchema": ""}


@pytest.fixture(scope="module")
def compiled_args(tmp_path_factory) -> dict[str, list[str]]:
    """Each task's container arguments in the package `y8m compile` writes."""
    path = str(tmp_path_factory.mktemp("kfp") / "pipeline.yaml")
    kubeflow_runner.compile_pipeline(path, profile=load_profile("quick"), image="y8m:1",
                                     labelled_patterns=["/data/train*.tfrecord"],
                                     test_patterns=["/data/test*.tfrecord"], serving_model_dir="/data/serving")
    with open(path) as source:
        executors = next(yaml.safe_load_all(source))["deploymentSpec"]["executors"]
    return {label.removesuffix("_executor"): spec["container"]["args"] for label, spec in executors.items()}


def inputs_spec(args: list[str]) -> dict:
    return json.loads(args[args.index("--json_serialized_inputs_spec_args") + 1])


def upstream_artifact(artifact_id: int, uri: str, **metadata) -> dict:
    return {"name": str(artifact_id), "uri": uri, "type": dict(UNTYPED),
            "metadata": {"display_name": "x", "store_session_info": "{}", **metadata}}


def parsed(section: dict) -> dict:
    """The artifacts as TFX's executor entrypoint builds them from an executor input section."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils
    message = json_format.ParseDict({"inputs": section}, pipeline_spec_pb2.ExecutorInput(), ignore_unknown_fields=True)
    return kubeflow_v2_entrypoint_utils.parse_raw_artifact_dict(message.inputs.artifacts)


def test_untyped_upstream_artifacts_get_the_types_the_package_declares(compiled_args, tmp_path):
    """Blocker: every task after the first failed in TFX's `_retrieve_class_path`."""
    invocation = {"inputs": {"artifacts": {
        "split_examples": {"artifacts": [upstream_artifact(
            7, "minio://mlpipeline/run/FoldSplitter/a1/split_examples", span=0.0, version=0.0,
            split_names='["fold_0", "holdout", "test"]')]},
        "stack_predictions": {"artifacts": [upstream_artifact(
            9, "minio://mlpipeline/run/LGBMStacker/b2/predictions",
            **{artifact_properties.MODEL_NAME: "stack", artifact_properties.KIND: "stack"})]}}},
        "outputs": {"artifacts": {}, "outputFile": str(tmp_path / "output_metadata.json")}}
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'get'"):
        parsed(invocation["inputs"])  # what TFX makes of the launcher's input as it comes

    kubeflow_entrypoint.tfx_executor_input(invocation, inputs_spec(compiled_args["GapEvaluator"]), str(tmp_path))
    artifacts = parsed(invocation["inputs"])
    examples = artifacts["split_examples"][0]
    assert isinstance(examples, standard_artifacts.Examples)
    assert examples.split_names == '["fold_0", "holdout", "test"]' and examples.span == 0
    assert examples.uri == str(tmp_path / "minio/mlpipeline/run/FoldSplitter/a1/split_examples")
    stack = artifacts["stack_predictions"][0]
    assert isinstance(stack, y8m_types.Predictions) and artifact_properties.model_name(stack) == "stack"


def test_an_untyped_input_the_package_does_not_declare_is_named(compiled_args, tmp_path):
    invocation = {"inputs": {"artifacts": {"soft_labels": {"artifacts": [upstream_artifact(3, "minio://b/k")]}}},
                  "outputs": {"artifacts": {}, "outputFile": str(tmp_path / "output_metadata.json")}}
    with pytest.raises(UserError, match="input artifact 'soft_labels' came without a type"):
        kubeflow_entrypoint.tfx_executor_input(invocation, inputs_spec(compiled_args["FoldSplitter"]), str(tmp_path))


def test_the_launchers_executor_logs_output_is_left_to_it(compiled_args, tmp_path):
    """Blocker: with PUBLISH_LOGS (KFP ≥ 2.5) every task failed on the `executor-logs`
    output, a file the launcher creates before the command runs, of KFP's type `system.Artifact`."""
    task_root = "minio://mlpipeline/run/FoldSplitter/c3"
    split_examples = {"name": "split_examples", "uri": f"{task_root}/split_examples",
                      "type": {"instanceSchema": compiler_utils.get_artifact_schema(standard_artifacts.Examples).decode()}}
    executor_logs = {"name": "executor-logs", "uri": f"{task_root}/executor-logs",
                     "type": {"schemaTitle": "system.Artifact"}}
    log_file = tmp_path / "minio/mlpipeline/run/FoldSplitter/c3/executor-logs"
    log_file.parent.mkdir(parents=True)
    log_file.write_text("")
    invocation = {"inputs": {"artifacts": {"examples": {"artifacts": [upstream_artifact(1, "minio://b/examples")]}}},
                  "outputs": {"artifacts": {"split_examples": {"artifacts": [split_examples]},
                                            "executor-logs": {"artifacts": [executor_logs]}},
                              "outputFile": str(tmp_path / "minio/mlpipeline/run/FoldSplitter/c3/output_metadata.json")}}
    with pytest.raises(ImportError, match="system.Artifact"):
        parsed(invocation["outputs"])  # TFX has no class for KFP's own types

    originals = kubeflow_entrypoint.tfx_executor_input(invocation, inputs_spec(compiled_args["FoldSplitter"]),
                                                       str(tmp_path))
    assert set(invocation["outputs"]["artifacts"]) == {"split_examples"}
    assert isinstance(parsed(invocation["outputs"])["split_examples"][0], standard_artifacts.Examples)
    assert log_file.is_file() and str(log_file) not in originals  # the launcher writes and uploads it


def test_outputs_for_the_kfp_ui_reach_tfx_as_the_pipelines_classes(compiled_args, tmp_path):
    """The evaluator's outputs of KFP types (`system.HTML`, ...), typed as the compiler
    declares them: TFX cannot import `system.HTML`, so they reach it under the classes'
    import paths; the HTML and Markdown are files at their URIs (the KFP UI reads the
    object at the URI), so only their folders are made."""
    task_root = "minio://mlpipeline/run/GapEvaluator/d4"
    outputs = {key: {"artifacts": [{"name": key, "uri": f"{task_root}/{key}",
                                    "type": {"instanceSchema": compiler_utils.get_artifact_schema(cls)}}]}
               for key, cls in (("report", y8m_types.HtmlReport), ("summary", y8m_types.MarkdownSummary),
                                ("scalars", y8m_types.ScalarMetrics))}
    invocation = {"inputs": {"artifacts": {}}, "outputs": {"artifacts": outputs, "outputFile": str(tmp_path / "o.json")}}
    with pytest.raises(ImportError, match=r"Could not import system\.(HTML|Markdown|Metrics)"):
        parsed(invocation["outputs"])

    kubeflow_entrypoint.tfx_executor_input(invocation, inputs_spec(compiled_args["GapEvaluator"]), str(tmp_path))
    artifacts = {key: values[0] for key, values in parsed(invocation["outputs"]).items()}
    assert {key: type(artifact) for key, artifact in artifacts.items()} == {
        "report": y8m_types.HtmlReport, "summary": y8m_types.MarkdownSummary, "scalars": y8m_types.ScalarMetrics}
    local = tmp_path / "minio/mlpipeline/run/GapEvaluator/d4"
    assert artifacts["report"].uri == str(local / "report")
    assert local.is_dir() and not (local / "report").exists() and not (local / "summary").exists()
    assert (local / "scalars").is_dir()
    artifacts["report"].write("<p>report</p>")  # what the evaluator does
    assert (local / "report").read_text() == "<p>report</p>"


def test_value_outputs_are_files_at_their_uris(tmp_path):
    """InputFingerprint's outputs are TFX String artifacts: a file at the URI, which the
    launcher uploads, with the value also in the executor output's parameter values."""
    task_root = "minio://mlpipeline/run/InputFingerprint/e5"
    outputs = {"video_fingerprint": {"artifacts": [{"name": "video_fingerprint", "uri": f"{task_root}/video_fingerprint",
                                                    "type": {"instanceSchema": "title: tfx.String\ntype: object\n"}}]}}
    invocation = {"inputs": {"artifacts": {}}, "outputs": {"artifacts": outputs, "outputFile": str(tmp_path / "o.json")}}
    kubeflow_entrypoint.localize(invocation, str(tmp_path))
    [artifact] = parsed(invocation["outputs"])["video_fingerprint"]
    artifact.value = "abc"
    assert (tmp_path / "minio/mlpipeline/run/InputFingerprint/e5/video_fingerprint").read_text() == "abc"
