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
import json
import logging
import os
import shutil

from ml_metadata.proto import metadata_store_pb2

from components.artifact_properties import TRAINING_SUMMARY

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
    """The nodes the latest run reused from cache and those it ran, in execution order, the
    seconds of each that ran (its execution's registration to its last update, when its
    outputs were published), and of those that trained a network (an L1 fold, a student
    network) the seconds inside its training steps (`training_step_seconds`)."""
    types = {context_type.id: context_type.name for context_type in store.get_context_types()}
    runs = [context for context in store.get_contexts() if types[context.type_id] == RUN_CONTEXT]
    summary = {"reused": [], "ran": [], "seconds": {}, "training_step_seconds": {}}
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
            step_seconds = training_step_seconds(store, execution)
            if step_seconds is not None:
                summary["training_step_seconds"][node] = step_seconds
    return summary


def training_step_seconds(store, execution) -> float | None:
    """The seconds an execution spent inside training steps, summed over the epochs its
    trainer recorded (`epoch_train_seconds` in the training summary of an output artifact:
    an L1Trainer fold's, a StudentTrainer network's); None when it trained nothing."""
    outputs = [event.artifact_id for event in store.get_events_by_execution_ids([execution.id])
               if event.type == metadata_store_pb2.Event.OUTPUT]
    for artifact in store.get_artifacts_by_id(outputs):
        if TRAINING_SUMMARY not in artifact.custom_properties:
            continue
        summary = json.loads(artifact.custom_properties[TRAINING_SUMMARY].string_value or "null")
        if isinstance(summary, dict) and "epoch_train_seconds" in summary:
            return round(sum(summary["epoch_train_seconds"]), 1)
    return None
