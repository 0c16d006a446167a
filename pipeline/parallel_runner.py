"""Runs a pipeline's independent components at the same time, each in a worker process.

TFX 1.21's LocalDagRunner launches the components one after another (its own TODO,
b/171319478). This runner launches each component as LocalDagRunner does, with TFX's
Launcher on the same compiled pipeline and the same ML Metadata store, but in a pool of
worker processes, as soon as every component upstream of it has finished: an L1 model's
folds, the models, the second-round models and the student networks train side by side,
as they do as separate tasks on Kubeflow.

- Workers are spawned, not forked: TensorFlow's and gRPC's threads do not survive a fork.
  Each imports TensorFlow once and runs one component after another. They start when two
  components are first ready together; a component ready alone runs in this process.
- Each worker's TensorFlow uses `threads` intra-op threads, so that the workers share the
  cores instead of each assuming all of them.
- The workers share the SQLite ML Metadata store: ML Metadata retries a write the database
  is locked for, and TFX's launcher writes only at a component's start and end.
- Logging in a worker is sent to this process and handled by the logger of the same name
  here: progress lines reach the terminal, the rest the command's log file.
- A worker dies with this process (Linux's parent-death signal): a killed run leaves no
  component writing into its output directory. A component that fails, Ctrl-C or SIGTERM
  stops the run; the components running beside it are stopped too (their last log
  records may be lost), and they are cancelled in ML Metadata, then rerun by the next run
  in the same output directory (pipeline/run_state.py).
"""
import concurrent.futures
import ctypes
import datetime
import logging
import logging.handlers
import multiprocessing
import os
import signal

from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.compiler import constants
from tfx.orchestration import metadata
from tfx.orchestration.local import runner_utils
from tfx.orchestration.portable import launcher, runtime_parameter_utils, tfx_runner
from tfx.proto.orchestration import pipeline_pb2

from pipeline.progress import ComponentProgress

PROGRESS_LOGGER = "y8m"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def ready_nodes(nodes: list, finished: set[str], launched: set[str]) -> list[str]:
    """The ids of the nodes not launched yet whose upstream nodes have all finished, in
    the pipeline's (topological) order."""
    return [node.node_info.id for node in nodes
            if node.node_info.id not in launched and finished.issuperset(node.upstream_nodes)]


class ParallelLocalDagRunner(tfx_runner.IrBasedRunner):
    """`processes` workers at most, each with `threads` TensorFlow intra-op threads (None:
    TensorFlow's default, all cores); `progress` gets each component's start and end."""

    def __init__(self, processes: int, threads: int | None = None,
                 progress: ComponentProgress | None = None):
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        self.processes = processes
        self.threads = threads
        self.progress = progress

    def run_with_ir(self, pipeline: pipeline_pb2.Pipeline, run_options=None, **kwargs) -> None:
        if run_options is not None or kwargs:
            raise ValueError("ParallelLocalDagRunner runs whole pipelines only (no run options)")
        runtime_parameter_utils.substitute_runtime_parameter(
            pipeline, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: datetime.datetime.now().isoformat()})
        nodes = [node.pipeline_node for node in pipeline.nodes]
        context = multiprocessing.get_context("spawn")
        log_records = context.Queue()
        listener = logging.handlers.QueueListener(log_records, _SameNameHandler())
        listener.start()
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.processes, mp_context=context,
            initializer=_start_worker, initargs=(self.threads, log_records, os.getpid()))
        completed = False
        try:
            self._launch_all(pool, pipeline.SerializeToString(), nodes)
            completed = True
        finally:
            if not completed:
                # The listener first: a worker killed while it writes a log record keeps the
                # queue's lock, and the listener's stop (a record through the same queue)
                # would then wait forever.
                listener.stop()
                _stop_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
            if completed:
                listener.stop()
            log_records.cancel_join_thread()  # nothing left to send: exit without waiting on its lock
            log_records.close()

    def _launch_all(self, pool, pipeline_bytes: bytes, nodes: list) -> None:
        """Launches every node once its upstream nodes have finished, in the graph's order,
        as workers come free (so that a component's progress line says when it starts);
        raises the first failure. A node ready alone, with none running, runs in this
        process: nothing else can become ready before it ends, so it needs no worker (and
        a chain of such nodes starts none)."""
        finished, launched, waiting, running = set(), set(), [], {}
        while len(finished) < len(nodes):
            ready = ready_nodes(nodes, finished, launched)
            launched.update(ready)
            waiting += ready
            if not waiting and not running:
                unlaunched = [node.node_info.id for node in nodes if node.node_info.id not in launched]
                raise RuntimeError(f"no component can run: {unlaunched} wait on nodes outside the pipeline")
            if len(waiting) == 1 and not running:
                node_id = waiting.pop()
                self._started(node_id)
                self._finished(node_id, launch_node(pipeline_bytes, node_id))
                finished.add(node_id)
                continue
            while waiting and len(running) < self.processes:
                node_id = waiting.pop(0)
                running[pool.submit(launch_node, pipeline_bytes, node_id)] = node_id
                self._started(node_id)
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                node_id = running.pop(future)
                self._finished(node_id, future.result())  # a component's exception is raised here
                finished.add(node_id)

    def _started(self, node_id: str) -> None:
        if self.progress is not None:
            self.progress.started(node_id)

    def _finished(self, node_id: str, cached: bool) -> None:
        if self.progress is not None:
            self.progress.finished(node_id, cached)


def _stop_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Kills the pool's workers, stopping the components they run. Python 3.11's pool has
    no public way to (`terminate_workers` came in 3.14)."""
    for process in list((pool._processes or {}).values()):  # pylint: disable=protected-access
        process.kill()


class _SameNameHandler(logging.Handler):
    """Hands a worker's log record to this process's logger of the same name."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


def _start_worker(threads: int | None, log_records, parent_pid: int) -> None:
    """A worker's set-up: die with the parent, send logging to it, share the cores."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)
    root = logging.getLogger()
    root.handlers = [logging.handlers.QueueHandler(log_records)]
    root.setLevel(logging.WARNING)
    progress_logger = logging.getLogger(PROGRESS_LOGGER)
    progress_logger.handlers = [logging.handlers.QueueHandler(log_records)]
    progress_logger.setLevel(logging.INFO)
    progress_logger.propagate = False  # handled once, by the parent's own "y8m" loggers
    if threads is not None:
        import tensorflow as tf
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def launch_node(pipeline_bytes: bytes, node_id: str) -> bool:
    """Launches one node of a compiled pipeline as LocalDagRunner does; returns whether it
    was reused from cache."""
    pipeline = pipeline_pb2.Pipeline.FromString(pipeline_bytes)
    (node,) = [node.pipeline_node for node in pipeline.nodes if node.pipeline_node.node_info.id == node_id]
    deployment_config = runner_utils.extract_local_deployment_config(pipeline)
    connection_config = getattr(deployment_config.metadata_connection_config,
                                deployment_config.metadata_connection_config.WhichOneof("connection_config"))
    execution_info = launcher.Launcher(
        pipeline_node=node, mlmd_connection=metadata.Metadata(connection_config),
        pipeline_info=pipeline.pipeline_info, pipeline_runtime_spec=pipeline.runtime_spec,
        executor_spec=runner_utils.extract_executor_spec(deployment_config, node_id),
        custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment_config, node_id)).launch()
    if execution_info is None:  # the driver decided not to run it
        return False
    with metadata.Metadata(connection_config) as handle:
        (execution,) = handle.store.get_executions_by_id([execution_info.execution_id])
    return execution.last_known_state == metadata_store_pb2.Execution.CACHED
