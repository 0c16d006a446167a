"""The state a local run keeps in its output directory, read from ML Metadata: what a
stopped run left behind, and what a run reused from cache (one run at a time per
directory: pipeline/output_lock.py).

A run killed (SIGKILL, a lost machine) inside a component leaves that component's
execution RUNNING in ML Metadata and its output folders half-written; its completed
components are cached. The next run in the same directory marks such executions CANCELED
and removes their folders, then LocalDagRunner reuses every completed component (same
inputs, same parameters) and runs the rest. A run interrupted (Ctrl-C, SIGTERM) does the
same itself before it exits.
"""
import glob
import logging
import os
import shutil

from ml_metadata.proto import metadata_store_pb2

log = logging.getLogger("y8m.run")

NODE_CONTEXT = "node"
RUN_CONTEXT = "pipeline_run"
Execution = metadata_store_pb2.Execution


def node_of(store, execution) -> str:
    """The pipeline node (component id) an execution belongs to."""
    types = {context_type.id: context_type.name for context_type in store.get_context_types()}
    for context in store.get_contexts_by_execution(execution.id):
        if types[context.type_id] == NODE_CONTEXT:
            # A node context is named `<pipeline name>.<node id>`; node ids hold no dot.
            return context.name.rsplit(".", 1)[-1]
    return ""


def cancel_interrupted_executions(store, pipeline_root: str) -> list[str]:
    """Marks the executions a stopped run left RUNNING as CANCELED and removes their output
    and scratch folders (`<root>/<node>/<output>/<id>`, `<root>/<node>/.system/*/<id>`);
    returns the nodes they belonged to. Only safe while no run is active (output_lock.exclusive_run)."""
    stopped = [execution for execution in store.get_executions() if execution.last_known_state == Execution.RUNNING]
    nodes = []
    for execution in stopped:
        node = node_of(store, execution)
        execution.last_known_state = Execution.CANCELED
        store.put_executions([execution])
        for folder in (glob.glob(os.path.join(pipeline_root, node, "*", str(execution.id)))
                       + glob.glob(os.path.join(pipeline_root, node, ".system", "*", str(execution.id)))):
            shutil.rmtree(folder, ignore_errors=True)
        nodes.append(node)
        log.info("%s: the execution a stopped run left behind (%d) is cancelled; it runs again", node, execution.id)
    return nodes


def failed_node(store, since: float) -> str | None:
    """The node whose execution, started after `since` (seconds since the epoch), failed
    last; None if none did."""
    failed = [execution for execution in store.get_executions()
              if execution.last_known_state == Execution.FAILED and execution.create_time_since_epoch >= since * 1000]
    return node_of(store, max(failed, key=lambda execution: execution.id)) if failed else None


def latest_run_summary(store) -> dict:
    """The nodes the latest run reused from cache and those it ran, in execution order, and
    the seconds of each that ran (its execution's registration to its last update, when
    its outputs were published)."""
    types = {context_type.id: context_type.name for context_type in store.get_context_types()}
    runs = [context for context in store.get_contexts() if types[context.type_id] == RUN_CONTEXT]
    summary = {"reused": [], "ran": [], "seconds": {}}
    if not runs:
        return summary
    latest = max(runs, key=lambda context: context.id)
    executions = sorted(store.get_executions_by_context(latest.id), key=lambda execution: execution.id)
    for execution in executions:
        node = node_of(store, execution)
        if execution.last_known_state == Execution.CACHED:
            summary["reused"].append(node)
        else:
            summary["ran"].append(node)
            summary["seconds"][node] = round(
                (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000, 1)
    return summary
