"""The stand-in launcher's own rules, checked against what KFP's code says."""
import json

import pytest
from google.protobuf import json_format

from kfp_launcher import cache_key, read_executor_output

# kubeflow/pipelines `backend/src/v2/cacheutils/cache_test.go` `TestGenerateFingerPrint`:
# this key's fingerprint as the Go code computes it.
KFP_TEST_FINGERPRINT = "b498530c9016917298999ec0b01f364a180f8a3862bea0fa672a383ca3f22e4e"
MODEL_SCHEMA = ("title: kfp.Model\ntype: object\nproperties:\n  framework:\n    type: string\n"
                "  framework_version:\n    type: string\n")


def test_the_cache_key_is_the_one_kfps_driver_computes():
    executor_input = {
        "inputs": {"artifacts": {"dataset_one": {"artifacts": [{"name": "1", "uri": "minio://b/1"}]},
                                 "dataset_two": {"artifacts": [{"name": "2", "uri": "minio://b/2"}]}},
                   "parameterValues": {"message": "Some string value", "num_steps": 5.0}},
        "outputs": {"artifacts": {
            "model": {"artifacts": [{"name": "model", "uri": "minio://b/m", "type": {"instanceSchema": MODEL_SCHEMA},
                                     "metadata": {"name": "model"}}]},
            "metrics": {"artifacts": [{"name": "metrics", "uri": "minio://b/x", "type": {"schemaTitle": "kfp.Metrics"},
                                       "metadata": {"name": "metrics"}}]}},
            # The files a task writes its outputs to are no part of the key.
            "parameters": {"output_parameter_one": {"outputFile": "kfp/outputs/one"},
                           "output_parameter_two": {"outputFile": "kfp/outputs/two"}},
            "outputFile": "kfp/outputs/output_metadata.json"}}
    component = {"outputDefinitions": {"parameters": {"output_parameter_one": {"parameterType": "STRING"},
                                                      "output_parameter_two": {"parameterType": "INT"}}}}
    container = {"image": "python:3.11", "command": ["sh"], "args": ["ec", "test"]}
    assert cache_key(executor_input, component, container, pvc_names=[]) == KFP_TEST_FINGERPRINT
    executor_input["inputs"]["parameterValues"]["num_steps"] = 6.0
    assert cache_key(executor_input, component, container, pvc_names=[]) != KFP_TEST_FINGERPRINT


def test_the_executor_output_is_parsed_strictly(tmp_path):
    """launcher_v2 `getExecutorOutputFile`: `protojson.Unmarshal`, unknown fields refused."""
    path = tmp_path / "output_metadata.json"
    path.write_text(json.dumps({"parameterValues": {"video_fingerprint": "ab"},
                                "artifacts": {"examples": {"artifacts": [{"uri": "minio://b/e", "metadata": {"k": 1}}]}}}))
    assert read_executor_output(str(path))["parameterValues"] == {"video_fingerprint": "ab"}
    path.write_text(json.dumps({"parameterValues": {}, "artifact": {}}))
    with pytest.raises(json_format.ParseError, match="artifact"):
        read_executor_output(str(path))
    assert read_executor_output(str(tmp_path / "absent.json")) == {}
