"""The entrypoint wrapper's URI mapping: object-store URIs to the launcher's local copies and back."""
import json

from components import artifact_properties
from pipeline import kubeflow_entrypoint


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
