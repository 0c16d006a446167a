"""Beam through its portability API: Beam's own job service and an external SDK worker
pool as subprocesses, as a Flink job server and its task managers' worker pools would be;
`y8m run` and `y8m predict` with `--beam-runner portable` against them, compared with the
in-process run (each Beam job's worker process imports TensorFlow afresh, about 30 s a
job on 2 busy cores); what a missing job service or worker pool looks like to the user.
The `slow` tier: each module fixture starts a Python process that imports Beam."""
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import pytest

from cli_checks import error_line, y8m
from pipeline import output_lock
from schemas.submission import read_submission
from y8m import synthetic

pytestmark = pytest.mark.slow

# How long a service may take to listen (a Python interpreter importing Beam, on a busy machine).
SERVICE_START_SECONDS = 120
STOP_SECONDS = 15


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("localhost", port)) == 0


def start_service(module: str, port_flag: str, port: int, log_path: str) -> subprocess.Popen:
    """`python -m module port_flag=port`, in its own process group (with the workers it
    starts), this interpreter's directory first on PATH: the worker pool starts each SDK
    worker as `python -c ...`."""
    environment = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", module, f"{port_flag}={port}"], stdout=log,
                                   stderr=subprocess.STDOUT, env=environment, start_new_session=True)
    try:
        wait_until_listening(process, port, log_path)
    except BaseException:
        stop_service(process)
        raise
    return process


def wait_until_listening(process: subprocess.Popen, port: int, log_path: str) -> None:
    deadline = time.monotonic() + SERVICE_START_SECONDS
    while not listening(port):
        if process.poll() is not None:
            with open(log_path) as log:
                raise AssertionError(f"{process.args} ended (code {process.returncode}): {log.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{process.args} did not listen within {SERVICE_START_SECONDS} s")
        time.sleep(0.5)


def stop_service(process: subprocess.Popen) -> None:
    """SIGTERM to the service's process group (the service and the workers it started),
    then SIGKILL if it has not ended."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sent)
        try:
            process.wait(timeout=STOP_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Service:
    address: str
    log: str


@contextlib.contextmanager
def running(module: str, port_flag: str, log_path: str):
    port = free_port()
    process = start_service(module, port_flag, port, log_path)
    try:
        yield Service(f"localhost:{port}", log_path)
    finally:
        stop_service(process)


@pytest.fixture(scope="module")
def job_service(tmp_path_factory):
    """Beam's local job service (it runs each job's stages on workers of the job's
    environment), stopped after the module's tests."""
    log = str(tmp_path_factory.mktemp("beam") / "job_service.log")
    with running("apache_beam.runners.portability.local_job_service_main", "--port", log) as service:
        yield service


@pytest.fixture(scope="module")
def worker_pool(tmp_path_factory):
    """Beam's external SDK worker pool (one worker process per job), as beside each Flink
    task manager; stopped with its workers after the module's tests."""
    log = str(tmp_path_factory.mktemp("beam") / "worker_pool.log")
    with running("apache_beam.runners.worker.worker_pool_main", "--service_port", log) as service:
        yield service


# Tiny trainers, so that the Beam jobs dominate; a frame-level model, so that FrameFeatures
# runs too; a student blessed at any GAP, so that there is a model to predict with.
PROFILE = """
folds: 2
holdout_fraction: 0.2
seed: 0
l1_models:
  - {name: mlp, family: mlp, kwargs: {hidden_size: 8}, training: {batch_size: 32, max_epochs: 1}}
  - name: frames_attention
    family: attention_pooling
    kwargs: {max_frames: 4, hidden_size: 8, heads: 2}
    training: {batch_size: 16, max_epochs: 1}
stacker: {n_estimators: 5, num_leaves: 3, min_child_samples: 2, early_stopping_rounds: 2}
student: {family: mlp, kwargs: {hidden_size: 8}, training: {batch_size: 32, max_epochs: 1}}
blessing: {min_gap_ratio: 0.01, min_gap_over_prior: -1}
"""
CLASSES = 20
# Its Beam jobs: VideoExampleGen, FoldSplitter, FrameFeatures, PredictionMerger,
# SoftLabelIndexer, and StudentTransform's analysis.
BEAM_JOBS_OF_A_RUN = 6
WORKER_STARTED = r"Starting worker with command"
JOB_DONE = r"Completed job in [\d.]+ seconds with state DONE"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    synthetic.generate(str(root), videos=200, classes=CLASSES, seed=5, shards=1, frames=True, max_frames=4)
    (root / "beam_heavy.yaml").write_text(PROFILE)
    return root


def run_command(data, output) -> list[str]:
    return ["run", "--train", data / "train*.tfrecord", "--train", data / "validate*.tfrecord",
            "--test", data / "test*.tfrecord", "--frame-train", data / "frames" / "*.tfrecord",
            "--profile", data / "beam_heavy.yaml", "--classes", CLASSES, "--output", output]


def portable(job_service: Service, worker_pool: str, *extra: str) -> list[str]:
    return ["--beam-runner", "portable", f"--beam-arg=--job_endpoint={job_service.address}",
            f"--beam-arg=--environment_config={worker_pool}", *extra]


def log_count(path: str, pattern: str) -> int:
    with open(path) as log:
        return len(re.findall(pattern, log.read()))


def stage_gaps(output) -> list[tuple]:
    with open(output / "metrics.json") as metrics:
        return [(stage["name"], stage["split"], stage["gap"]) for stage in json.load(metrics)["stages"]]


@pytest.mark.timeout(1800)
def test_run_and_predict_on_the_portable_runner_equal_the_in_process_ones(data, job_service, worker_pool, tmp_path,
                                                                          capfd):
    in_process, on_portable = tmp_path / "in_process", tmp_path / "portable"
    assert y8m(capfd, *run_command(data, in_process)).code == 0
    outcome = y8m(capfd, *run_command(data, on_portable), *portable(job_service, worker_pool.address))
    assert outcome.code == 0, outcome.err
    assert stage_gaps(on_portable) == stage_gaps(in_process)
    assert (on_portable / "submission.csv").read_bytes() == (in_process / "submission.csv").read_bytes()
    # Each Beam job ran on the job service, on a worker process the pool started.
    assert log_count(job_service.log, JOB_DONE) == BEAM_JOBS_OF_A_RUN
    assert log_count(worker_pool.log, WORKER_STARTED) == BEAM_JOBS_OF_A_RUN

    model = json.loads(outcome.out)["pushed_model"]
    predictions = tmp_path / "predicted.csv"
    outcome = y8m(capfd, "predict", "--model", model, "--data", data / "test*.tfrecord", "--output", predictions,
                  *portable(job_service, worker_pool.address))
    assert outcome.code == 0, outcome.err
    predicted, submitted = read_submission(str(predictions)), read_submission(str(on_portable / "submission.csv"))
    assert sorted(predicted) == sorted(submitted)
    for video_id, (class_ids, scores) in predicted.items():
        np.testing.assert_array_equal(class_ids, submitted[video_id][0])
        np.testing.assert_allclose(scores, submitted[video_id][1], rtol=1e-5)
    assert log_count(worker_pool.log, WORKER_STARTED) == BEAM_JOBS_OF_A_RUN + 1


@pytest.mark.timeout(180)
def test_a_missing_job_service_is_one_line_within_its_timeout(data, tmp_path, capfd):
    """Checked before the run starts: nothing but the run's log (and the output directory's
    lock) is written."""
    nobody = f"localhost:{free_port()}"
    output = tmp_path / "out"
    started = time.monotonic()
    outcome = y8m(capfd, *run_command(data, output), "--beam-runner", "portable",
                  f"--beam-arg=--job_endpoint={nobody}", "--beam-arg=--job_server_timeout=3")
    assert error_line(outcome, "run") == (
        f"y8m run: error: no Beam job service answered at {nobody} (--job_endpoint) within 3 s "
        "(--job_server_timeout): start it, or point --beam-arg=--job_endpoint=HOST:PORT at a running one "
        f"(log: {output / 'y8m.log'})")
    assert time.monotonic() - started < 60
    assert sorted(os.listdir(output)) == sorted([output_lock.LOCK_FILE, "y8m.log"])


@pytest.mark.timeout(240)
def test_a_missing_worker_pool_is_one_line_at_once(data, job_service, tmp_path, capfd):
    """The job service is there, no worker pool is: the first Beam job fails as soon as
    the service asks for a worker."""
    nobody = f"localhost:{free_port()}"
    started = time.monotonic()
    outcome = y8m(capfd, *run_command(data, tmp_path / "out"), *portable(job_service, nobody))
    assert error_line(outcome, "run").startswith(
        f"y8m run: error: the Beam job service at {job_service.address} could not start an SDK worker in the "
        f"worker pool at {nobody} (--environment_config): ")
    assert time.monotonic() - started < 120
