"""`y8m submit` against a Kubeflow Pipelines API server on 127.0.0.1 that answers as a
given release does (tests/kfp_api_server.py): kfp's own client talks to it over HTTP."""
import json
import tempfile

import pytest
import yaml

from cli_checks import error_line, y8m
from kfp_api_server import KfpApiServer

ROOT = "minio://mlpipeline/v2/artifacts"


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The quick profile's package, whose tasks request CPU and memory: it needs KFP 2.4."""
    path = tmp_path_factory.mktemp("kfp") / "pipeline.yaml"
    from y8m import cli
    assert cli.main(["compile", "--output", str(path), "--train", "/data/yt8m/train*.tfrecord",
                     "--test", "/data/yt8m/test*.tfrecord", "--serving-model-dir", "/data/serving_model"]) == 0
    return path


@pytest.fixture(autouse=True)
def logs_in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the command's log goes


@pytest.mark.parametrize("tag_name", ["2.2.0", "2.3.0"])
def test_backends_older_than_the_package_needs_are_refused_before_the_run(package, capfd, tag_name):
    with KfpApiServer(tag_name) as server:
        outcome = y8m(capfd, "submit", "--host", server.url, "--package", package, "--pipeline-root", ROOT)
    assert error_line(outcome, "submit") == (
        f"y8m submit: error: Kubeflow Pipelines at {server.url} is {tag_name[:3]}; the package needs 2.4 or "
        "later: KFP 2.0-2.3 ignore its tasks' CPU, memory and GPU requests")
    assert server.runs_created() == [] and server.experiments == []


def test_a_recent_backend_gets_the_run_with_the_given_parameters(package, capfd):
    with KfpApiServer("2.5.0") as server:
        outcome = y8m(capfd, "submit", "--host", server.url, "--package", package, "--pipeline-root", ROOT,
                      "--experiment", "nightly", "--param", "labelled_patterns=/data/week2/train*.tfrecord",
                      "--param", "min_gap_ratio=0.8")
    assert outcome.code == 0, outcome.err
    result = json.loads(outcome.out)
    assert result["run_id"] == "run-1" and result["kfp_version"] == "2.5"
    [run] = server.runs_created()
    assert run["runtime_config"]["parameters"] == {"labelled_patterns": '["/data/week2/train*.tfrecord"]',
                                                   "min_gap_ratio": 0.8}
    assert run["runtime_config"]["pipeline_root"] == ROOT
    with open(package) as source:
        compiled, platform = yaml.safe_load_all(source)
    # The package as compiled (kfp's client sends both documents): its defaults, and each task's caching setting.
    sent = run["pipeline_spec"]["pipeline_spec"]
    assert run["pipeline_spec"]["platform_spec"] == platform
    assert sent["root"]["inputDefinitions"] == compiled["root"]["inputDefinitions"]
    assert {name: task.get("cachingOptions") for name, task in sent["root"]["dag"]["tasks"].items()} \
        == {name: task.get("cachingOptions") for name, task in compiled["root"]["dag"]["tasks"].items()}
    assert [body["display_name"] for method, path, body in server.requests if method == "POST"] == ["nightly",
                                                                                                   run["display_name"]]


def test_a_backend_that_does_not_say_its_version(package, capfd):
    with KfpApiServer("unknown") as server:
        outcome = y8m(capfd, "submit", "--host", server.url, "--package", package, "--pipeline-root", ROOT)
        assert "tag_name: 'unknown'); if it is recent enough, submit with --skip-version-check" in error_line(
            outcome, "submit")
        outcome = y8m(capfd, "submit", "--host", server.url, "--package", package, "--pipeline-root", ROOT,
                      "--skip-version-check")
    assert outcome.code == 0 and len(server.runs_created()) == 1


@pytest.mark.parametrize("param, message", [
    ("epochs=3", "--param epochs: the package has no such run parameter; it has labelled_patterns, "
                 "min_gap_ratio, serving_model_dir, test_patterns"),
    ("min_gap_ratio=high", "--param min_gap_ratio=high: not a number"),
    ("test_patterns=[]", "--param test_patterns=[]: give a glob, or a JSON list of globs"),
    ("serving_model_dir", "--param takes NAME=VALUE"),
])
def test_bad_parameters_are_one_line_before_the_server_is_asked(package, capfd, param, message):
    with KfpApiServer("2.5.0") as server:
        outcome = y8m(capfd, "submit", "--host", server.url, "--package", package, "--pipeline-root", ROOT,
                      "--param", param)
    assert error_line(outcome, "submit") == f"y8m submit: error: {message}"
    assert server.requests == []
