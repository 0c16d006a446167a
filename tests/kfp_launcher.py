"""What Kubeflow Pipelines' v2 launcher does for each task of a compiled package, minus
the cluster: build the ExecutorInput from the task spec and the upstream tasks' outputs,
run the task's exact container command with it, read the executor output back.

Artifacts live under `minio://` URIs, as on a stock Kubeflow install; the launcher's
local copies (`/minio/<bucket>/...` in a pod) live under `local_root`, which the
entrypoint wrapper is pointed at through its environment variable.
"""
import json
import os
import subprocess
import sys
from graphlib import TopologicalSorter

import yaml

from pipeline.kubeflow_entrypoint import LOCAL_ROOT_ENV

EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"


def load_package(path: str) -> tuple[dict, dict]:
    """The pipeline spec and the Kubernetes platform spec (empty if none)."""
    with open(path) as source:
        documents = list(yaml.safe_load_all(source))
    return documents[0], (documents[1] if len(documents) > 1 else {})


def task_order(pipeline_spec: dict) -> list[str]:
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    return list(TopologicalSorter({name: task.get("dependentTasks", []) for name, task in tasks.items()})
                .static_order())


class Launcher:
    def __init__(self, pipeline_spec: dict, pipeline_root: str, local_root: str):
        self.spec = pipeline_spec
        self.pipeline_root = pipeline_root.rstrip("/")
        self.local_root = local_root
        self.outputs: dict[str, dict] = {}  # task → output key → runtime artifact

    def component(self, task_name: str) -> dict:
        task = self.spec["root"]["dag"]["tasks"][task_name]
        return self.spec["components"][task["componentRef"]["name"]]

    def container(self, task_name: str) -> dict:
        label = self.component(task_name)["executorLabel"]
        return self.spec["deploymentSpec"]["executors"][label]["container"]

    def executor_input(self, task_name: str) -> dict:
        task = self.spec["root"]["dag"]["tasks"][task_name]
        component = self.component(task_name)
        parameters = {name: value["runtimeValue"]["constant"]
                      for name, value in task.get("inputs", {}).get("parameters", {}).items()}
        artifacts = {}
        for name, value in task.get("inputs", {}).get("artifacts", {}).items():
            producer = value["taskOutputArtifact"]
            artifacts[name] = {"artifacts": [self.outputs[producer["producerTask"]][producer["outputArtifactKey"]]]}
        outputs = {}
        for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
            outputs[key] = {"artifacts": [{
                "name": f"{task_name}-{key}", "type": definition["artifactType"], "metadata": {},
                "uri": f"{self.pipeline_root}/{task_name}/{key}"}]}
        output_file = os.path.join(self.local_root, "launcher", task_name, "executor_output.json")
        return {"inputs": {"parameterValues": parameters, "artifacts": artifacts},
                "outputs": {"artifacts": outputs, "outputFile": output_file}}

    def run_task(self, task_name: str, timeout: float = 600) -> subprocess.CompletedProcess:
        executor_input = self.executor_input(task_name)
        container = self.container(task_name)
        serialized = json.dumps(executor_input)
        args = [serialized if arg == EXECUTOR_INPUT_PLACEHOLDER else arg for arg in container["args"]]
        command = [sys.executable if part == "python" else part for part in container["command"]]
        os.makedirs(os.path.dirname(executor_input["outputs"]["outputFile"]), exist_ok=True)
        env = {**os.environ, LOCAL_ROOT_ENV: self.local_root}
        result = subprocess.run(command + args, env=env, capture_output=True, text=True, timeout=timeout)
        if result.returncode == 0:
            self.outputs[task_name] = self.read_outputs(executor_input)
        return result

    def read_outputs(self, executor_input: dict) -> dict:
        """Each output's runtime artifact as downstream tasks receive it: the launcher's URI
        and type, with the metadata the executor reported."""
        with open(executor_input["outputs"]["outputFile"]) as source:
            reported = json.load(source).get("artifacts", {})
        outputs = {}
        for key, artifact_list in executor_input["outputs"]["artifacts"].items():
            artifact = dict(artifact_list["artifacts"][0])
            if key in reported:
                artifact["metadata"] = reported[key]["artifacts"][0].get("metadata", {})
                assert reported[key]["artifacts"][0]["uri"] == artifact["uri"], "the output URI must not change"
            outputs[key] = artifact
        return outputs

    def local_path(self, uri: str) -> str:
        return os.path.join(self.local_root, "minio", uri[len("minio://"):])
