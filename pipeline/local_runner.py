"""Runs the pipeline on this machine (LocalDagRunner, Beam in-process, SQLite metadata)
and publishes the run's deliverables into the output directory."""
import importlib.metadata
import json
import logging
import os
import shutil
import time
import types
from dataclasses import dataclass

from tfx.orchestration import metadata
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from components import artifact_properties
from components.evaluator import evaluate
from components.evaluator.evaluate import METRICS_FILE
from components.evaluator import report as report_page
from components.evaluator.report import REPORT_FILE
from pipeline import beam_options, output_lock, progress, run_state
from pipeline.parallel_runner import ParallelLocalDagRunner
from pipeline.pipeline import create_pipeline
from pipeline.profile import Profile
from pipeline.run_inputs import check_run_inputs
from schemas import splits
from schemas.submission import write_submission_rows
from common.errors import ComponentFailedError, find_user_error
from common.input_files import fingerprint

# TFX's cache keys hold component inputs and parameters, not code: naming the pipeline
# after the package version keeps a new version from reusing an older one's results.
PIPELINE_NAME = f"y8m-{importlib.metadata.version('y8m-pipeline')}"

log = logging.getLogger("y8m.run")

MAX_DEFAULT_PARALLEL = 4


@dataclass
class RunOutputs:
    metrics_path: str
    submission_path: str
    stack_submission_path: str
    pushed_model_dir: str | None
    seconds: float


def metadata_config(output_dir: str):
    return metadata.sqlite_metadata_connection_config(os.path.join(output_dir, "metadata", "metadata.sqlite"))


def run_local(labelled_patterns: list[str], test_patterns: list[str], output_dir: str, profile: Profile,
              beam_runner: str = "local", num_classes: int | None = None,
              frame_patterns: list[str] | None = None, extra_beam_args: list[str] | None = None,
              parallel_components: int = 1) -> RunOutputs:
    """`extra_beam_args`: the user's Beam arguments (pipeline/beam_options.py).
    `parallel_components`: components run at the same time, each in a worker process with
    its share of the cores (pipeline/parallel_runner.py); 1: one after another in this
    process (TFX's LocalDagRunner)."""
    started = time.time()
    output_dir = os.path.abspath(output_dir)
    pipeline_root = os.path.join(output_dir, "pipeline_root")
    with output_lock.exclusive_run(output_dir):
        inputs = check_run_inputs(labelled_patterns, test_patterns, frame_patterns, beam_runner, extra_beam_args)
        kwargs = {} if num_classes is None else {"num_classes": num_classes}
        # Computed here, every run, never cached: what the reading components' cache keys hold.
        if frame_patterns:
            kwargs.update(frame_patterns=[os.path.abspath(p) for p in frame_patterns],
                          frame_fingerprint=fingerprint(inputs.frame_files))
        tfx_pipeline = create_pipeline(
            pipeline_name=PIPELINE_NAME, pipeline_root=pipeline_root, profile=profile,
            labelled_patterns=[os.path.abspath(p) for p in labelled_patterns],
            test_patterns=[os.path.abspath(p) for p in test_patterns],
            input_fingerprint=fingerprint(inputs.files), serving_model_dir=os.path.join(output_dir, "serving_model"),
            beam_pipeline_args=inputs.beam_pipeline_args, metadata_connection_config=metadata_config(output_dir),
            **kwargs)
        with metadata.Metadata(metadata_config(output_dir)) as handle:
            run_state.cancel_interrupted_executions(handle.store, pipeline_root)
        try:
            with (progress.component_progress(len(tfx_pipeline.components)) as component_progress,
                  beam_options.worker_pool_errors(inputs.beam_pipeline_args)):
                runner = (LocalDagRunner() if parallel_components == 1 else ParallelLocalDagRunner(
                    parallel_components, threads_per_component(parallel_components), component_progress))
                runner.run(tfx_pipeline)
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM: the workers are stopped; their executions are cancelled now,
            # as the next run would cancel them.
            with metadata.Metadata(metadata_config(output_dir)) as handle:
                run_state.cancel_interrupted_executions(handle.store, pipeline_root)
            raise
        except Exception as error:
            with metadata.Metadata(metadata_config(output_dir)) as handle:
                component = run_state.failed_node(handle.store, since=started)
            if component is None or find_user_error(error) is not None:
                raise
            raise ComponentFailedError(component, error) from error
        with metadata.Metadata(metadata_config(output_dir)) as handle:
            summary = run_state.latest_run_summary(handle.store)
        if summary["reused"]:
            log.info("reused from earlier runs (same inputs and settings): %s", ", ".join(summary["reused"]))
        return publish_outputs(output_dir, time.time() - started, summary["seconds"],
                               summary["training_step_seconds"])


def default_parallel_components() -> int:
    """One component at a time per core, at most MAX_DEFAULT_PARALLEL: each worker holds its
    own model and input buffers."""
    return min(len(os.sched_getaffinity(0)), MAX_DEFAULT_PARALLEL)


def threads_per_component(parallel_components: int) -> int:
    """TensorFlow threads of each of `parallel_components` components run at the same time."""
    return max(1, len(os.sched_getaffinity(0)) // parallel_components)


def _latest(store, type_name: str, kind: str | None = None):
    artifacts = store.get_artifacts_by_type(type_name)
    if kind is not None:
        artifacts = [a for a in artifacts if a.custom_properties.get(artifact_properties.KIND) and
                     a.custom_properties[artifact_properties.KIND].string_value == kind]
    if not artifacts:
        raise RuntimeError(f"the run produced no {type_name} {kind or ''} artifact")
    return max(artifacts, key=lambda a: a.id)


def publish_outputs(output_dir: str, seconds: float, component_seconds: dict[str, float] | None = None,
                    training_step_seconds: dict[str, float] | None = None) -> RunOutputs:
    """Copies the latest run's metrics and report (with where the time went:
    `component_seconds`, each component that ran, and `training_step_seconds`, the part of
    a trainer's inside its training steps) and writes the submissions from its predictions."""
    with metadata.Metadata(metadata_config(output_dir)) as store_handle:
        store = store_handle.store
        metrics_uri = _latest(store, "y8m_types.StageMetrics").uri
        student_uri = _latest(store, "y8m_types.Predictions", "student").uri
        stack_uri = _latest(store, "y8m_types.Predictions", "stack").uri
        pushed = _latest(store, "PushedModel")
    outputs = RunOutputs(
        metrics_path=os.path.join(output_dir, "metrics.json"),
        submission_path=os.path.join(output_dir, "submission.csv"),
        stack_submission_path=os.path.join(output_dir, "submission_stack.csv"),
        pushed_model_dir=(pushed.custom_properties[artifact_properties.PUSHED_DESTINATION].string_value
                          if artifact_properties.PUSHED_DESTINATION in pushed.custom_properties else None),
        seconds=seconds)
    shutil.copyfile(os.path.join(metrics_uri, METRICS_FILE), outputs.metrics_path)
    with open(os.path.join(metrics_uri, REPORT_FILE)) as source:
        page = report_page.with_component_times(source.read(), component_seconds or {})
    with open(os.path.join(output_dir, REPORT_FILE), "w") as out:
        out.write(page)
    write_test_submission(student_uri, outputs.submission_path)
    write_test_submission(stack_uri, outputs.stack_submission_path)
    with open(outputs.metrics_path) as source:
        report = json.load(source)
    report["run"] = {"seconds": round(seconds, 1), "pushed_model_dir": outputs.pushed_model_dir,
                     "component_seconds": component_seconds or {},
                     "training_step_seconds": training_step_seconds or {}}
    with open(outputs.metrics_path, "w") as out:
        json.dump(report, out, indent=2)
    return outputs


def write_test_submission(predictions_uri: str, path: str) -> None:
    """The test split's top 20 per video, as the predictions stream."""
    write_submission_rows(path, evaluate.top_k_rows(evaluate.read_top_k(types.SimpleNamespace(uri=predictions_uri),
                                                                         splits.TEST)))
