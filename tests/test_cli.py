"""The `y8m` command: generate, score, compile, submit, and its error reporting (bad input
through each command is in test_bad_input.py)."""
import json
import os
import tempfile

import pytest

from cli_checks import error_line, running, y8m
from schemas.submission import write_submission
from y8m import cli, scoring


def test_generate_then_score_a_perfect_submission(tmp_path, capsys):
    data = tmp_path / "data"
    assert cli.main(["generate", "--output", str(data), "--videos", "50", "--classes", "30", "--shards", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["videos"]["test"] > 0 and summary["classes"] == 30
    labels = scoring.read_labels([str(data / "test*.tfrecord")], 30)
    ids = sorted(labels)
    # Every true label scores above every false one, across videos too: GAP 1.
    class_ids = [list(labels[v]) + [c for c in range(30) if c not in labels[v]][:20 - len(labels[v])] for v in ids]
    scores = [[0.9 - 0.01 * i if i < len(labels[v]) else 0.1 - 0.001 * i for i in range(20)] for v in ids]
    write_submission(str(tmp_path / "perfect.csv"), ids, class_ids, scores)
    assert cli.main(["score", "--submission", str(tmp_path / "perfect.csv"),
                     "--labels", str(data / "test*.tfrecord"), "--classes", "30"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["gap"] == 1.0 and result["hit_at_1"] == 1.0 and result["videos"] == len(ids)


def test_unknown_profile_is_one_line(tmp_path, capfd):
    (tmp_path / "x.tfrecord").write_bytes(b"")
    outcome = y8m(capfd, "run", "--train", tmp_path / "x.tfrecord", "--test", tmp_path / "x.tfrecord",
                  "--output", tmp_path / "out", "--profile", "gigantic")
    assert "unknown profile 'gigantic'" in error_line(outcome, "run")


def test_compile_writes_a_package_and_names_its_tasks(tmp_path, capsys):
    package = tmp_path / "pipeline.yaml"
    code = cli.main(["compile", "--output", str(package), "--train", "/data/train*.tfrecord",
                     "--test", "/data/test*.tfrecord", "--serving-model-dir", "/data/serving_model",
                     "--image", "registry.example/y8m:1"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and package.exists()
    assert {"VideoExampleGen", "L1Trainer-mlp-fold-0", "L1Assembler-mlp", "StudentTrainer-0", "Distiller",
            "Pusher"} <= set(summary["tasks"])


def test_compile_and_submit_errors_are_one_line(tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the commands' logs go
    common = ["--train", "/d/x", "--test", "/d/y", "--serving-model-dir", "/d/m"]
    outcome = y8m(capfd, "compile", "--output", tmp_path / "p.yaml", *common, "--beam-runner", "portable")
    assert "--job_endpoint" in error_line(outcome, "compile")
    outcome = y8m(capfd, "compile", "--output", tmp_path / "absent" / "p.yaml", *common)
    assert error_line(outcome, "compile").endswith(f"cannot write the package {tmp_path}/absent/p.yaml: "
                                                   "No such file or directory")
    outcome = y8m(capfd, "submit", "--host", "http://kfp", "--package", tmp_path / "none.yaml",
                  "--pipeline-root", "minio://b/r")
    assert "y8m compile" in error_line(outcome, "submit")
    (tmp_path / "p.yaml").write_text("")
    outcome = y8m(capfd, "submit", "--host", "http://kfp", "--package", tmp_path / "p.yaml",
                  "--pipeline-root", "minio://b/r")
    assert error_line(outcome, "submit").endswith(f"the package {tmp_path}/p.yaml has no tasks "
                                                  "(deploymentSpec.executors): write it with `y8m compile`")
    # A task's container arguments as `y8m compile --beam-runner portable` writes them.
    (tmp_path / "p.yaml").write_text(
        'deploymentSpec: {executors: {FoldSplitter_executor: {container: {args: ["--runner=PortableRunner"]}}}}\n')
    outcome = y8m(capfd, "submit", "--host", "http://localhost:1", "--package", tmp_path / "p.yaml",
                  "--pipeline-root", "minio://b/r")
    assert "--pipeline-root minio://b/r: the package runs its Beam steps on PortableRunner" in error_line(
        outcome, "submit")
    outcome = y8m(capfd, "submit", "--host", "http://localhost:1", "--package", tmp_path / "p.yaml",
                  "--pipeline-root", "gs://b/r")
    assert error_line(outcome, "submit").endswith("Connection refused): check --host")
    assert sorted(os.listdir(tmp_path)) == ["p.yaml"]  # bad input: the logs are removed


@pytest.mark.parametrize("argv, expected", [
    (["run"], "y8m run: error: the following arguments are required: --train, --test, --output "
              "(see y8m run --help)"),
    (["rn"], "y8m: error: argument command: invalid choice: 'rn' (choose from"),
    (["score", "--submission", "s.csv", "--labels", "l", "--classes", "0"],
     "y8m score: error: argument --classes: must be at least 1, got 0 (see y8m score --help)"),
    (["generate", "--output", "out", "--videos", "many"],
     "y8m generate: error: argument --videos: invalid int value: 'many' (see y8m generate --help)"),
    (["generate", "--output", "out", "--videos", "5"], "y8m generate: error: videos must be between 10 and"),
    (["run", "--train", "t", "--test", "t", "--output", "out", "--beam-runner", "dataflow"],
     "y8m run: error: argument --beam-runner: invalid choice: 'dataflow' (choose from 'local', "
     "'local-multiprocess', 'portable')"),
    (["predict", "--model", "m", "--data", "d", "--output", "p.csv", "--beam-runner", "portable"],
     "y8m predict: error: Beam runner 'portable' needs --job_endpoint=... (pass each with --beam-arg)"),
])
def test_bad_arguments_are_one_line(tmp_path, capfd, monkeypatch, argv, expected):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    outcome = y8m(capfd, *argv)
    assert error_line(outcome, argv[0] if argv[0] in cli.COMMANDS else "").startswith(expected)
    assert os.listdir(tmp_path) == []  # nothing written, not even a log


def test_an_unexpected_error_is_one_line_naming_its_log(tmp_path, capfd, monkeypatch):
    """A bug (here, a command that raises) in a command without an output directory: its
    temporary log is kept, holds the traceback, and the one line names it; exit code 1."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def broken_command(args):
        raise RuntimeError("something broke\non two lines")

    monkeypatch.setitem(cli.COMMANDS, "score", broken_command)
    outcome = y8m(capfd, "score", "--submission", "s.csv", "--labels", "l")
    (log,) = tmp_path.glob("y8m-score-*.log")
    assert error_line(outcome, "score", code=1) == (
        "y8m score: error: unexpected RuntimeError: something broke on two lines; "
        f"a bug, or a problem of this machine (traceback: {log})")
    assert "Traceback" in log.read_text() and "broken_command" in log.read_text()


def test_ctrl_c_is_one_line_and_exit_code_130(tmp_path):
    """A real SIGINT to a `y8m generate` process while it writes data."""
    import signal
    import subprocess
    import sys
    import time
    env = {**os.environ, "TMPDIR": str(tmp_path), "TF_USE_LEGACY_KERAS": "1", "CUDA_VISIBLE_DEVICES": "-1"}
    # Frame-level data: writing starts within seconds and would go on for minutes. The child
    # gets SIGINT's default action back: a process started in the background of a
    # non-interactive shell inherits SIGINT ignored, and Python then keeps it ignored.
    process = subprocess.Popen([sys.executable, "-m", "y8m.cli", "generate", "--output", str(tmp_path / "data"),
                                "--videos", "5000", "--frames"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("data/*.tfrecord")):  # it is writing: the command runs
            assert process.poll() is None and time.monotonic() < deadline, "generate never started writing"
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130 and out == "", (process.returncode, err)
    (log,) = tmp_path.glob("y8m-generate-*.log")
    assert err.strip().splitlines()[-1] == f"y8m generate: error: interrupted (traceback: {log})"
    assert "KeyboardInterrupt" in log.read_text()


# Long enough training (tiny data, many epochs, no early stop) that a fold is still running
# when the test's signal arrives.
LONG_FOLDS_PROFILE = """
folds: 2
holdout_fraction: 0.2
l1_models:
  - name: mlp
    family: mlp
    kwargs: {hidden_size: 8}
    training: {batch_size: 8, max_epochs: 1000, early_stopping_patience: 1000}
student: {family: mlp, kwargs: {hidden_size: 8}, training: {batch_size: 8, max_epochs: 1}}
"""


@pytest.mark.parametrize("parallel", ["1", pytest.param("2", marks=pytest.mark.e2e)])
def test_sigterm_stops_a_run_as_ctrl_c_does(tmp_path, parallel):
    """SIGTERM (what Kubernetes, systemd and job schedulers send) while an L1 fold trains:
    one line, exit code 143, the executions that were running CANCELED in ML Metadata (a
    rerun resumes from there) and, with --parallel 2, the two folds' worker processes
    stopped. In process (--parallel 1) in the default tier: the workers' own imports would
    double the test's time."""
    import signal
    import subprocess
    import sys
    import time

    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    from y8m import synthetic
    data = tmp_path / "data"
    synthetic.generate(str(data), videos=60, classes=20, seed=3, shards=1)
    (tmp_path / "long.yaml").write_text(LONG_FOLDS_PROFILE)
    output = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "y8m.cli", "run", "--train", str(data / "train*.tfrecord"), "--train",
         str(data / "validate*.tfrecord"), "--test", str(data / "test*.tfrecord"), "--output", str(output),
         "--profile", str(tmp_path / "long.yaml"), "--classes", "20", "--parallel", parallel],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env={**os.environ, "TF_USE_LEGACY_KERAS": "1", "CUDA_VISIBLE_DEVICES": "-1"})
    try:
        deadline = time.monotonic() + 300
        for line in process.stderr:  # an epoch line: a fold is training
            if "mlp fold 0: epoch" in line or "mlp fold 1: epoch" in line:
                break
            assert time.monotonic() < deadline, "no fold trained within 300 s"
        with open(f"/proc/{process.pid}/task/{process.pid}/children") as children:
            workers = [int(child) for child in children.read().split()]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 143 and out == "", (process.returncode, err)
    assert err.strip().splitlines()[-1] == f"y8m run: error: terminated (SIGTERM) (traceback: {output / cli.LOG_FILE})"
    deadline = time.monotonic() + 30  # the workers (and multiprocessing's resource tracker) end with the run
    while [worker for worker in workers if running(worker)]:
        assert time.monotonic() < deadline, "the workers of a terminated run still run"
        time.sleep(0.5)
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(output / "metadata" / "metadata.sqlite")
    states = [execution.last_known_state for execution in metadata_store.MetadataStore(config).get_executions()]
    assert metadata_store_pb2.Execution.RUNNING not in states
    assert 1 <= states.count(metadata_store_pb2.Execution.CANCELED) <= int(parallel)


def test_an_image_reference_with_a_space_is_refused_before_compiling(tmp_path, capfd, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    outcome = y8m(capfd, "compile", "--output", tmp_path / "p.yaml", "--train", "/d/x", "--test", "/d/y",
                  "--serving-model-dir", "/d/m", "--image", "registry.example/y8m pipeline:1")
    assert error_line(outcome, "compile") == (
        "y8m compile: error: --image 'registry.example/y8m pipeline:1' is not an image reference: "
        "[registry[:port]/]name[:tag][@digest], the name in lower-case letters and digits with . _ - between them "
        "(no spaces)")
    assert os.listdir(tmp_path) == []
