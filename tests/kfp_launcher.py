"""What open-source Kubeflow Pipelines' v2 driver and launcher do for each task of a
compiled package, minus the cluster, as far as the task's container can tell
(kubeflow/pipelines `backend/src/v2/driver/`, `backend/src/v2/component/launcher_v2.go`,
`backend/src/v2/metadata/`, `backend/src/v2/objectstore/object_store.go`):

- Each task runs in a file system of its own: a fresh folder stands for the pod's `/`
  (the entrypoint wrapper is pointed at it through its environment variable) and holds
  only what the launcher downloaded into it, under `/minio/<bucket>/<key>`.
- The object store holds files only. The launcher uploads the files under an output's
  local path (empty folders are lost) and downloads the files under an input's key; an
  output without files reaches the next task as no path at all.
- Upstream artifacts reach a task as the driver reads them back from ML Metadata: with an
  empty type (`instanceSchema: ""`), the MLMD id as name, and as metadata what the
  launcher recorded as custom properties (numbers as doubles, booleans as 0/1, lists and
  structs wrapped in `{"list": ...}`/`{"struct": ...}`, `display_name` and
  `store_session_info` added).
- What differs between released backends is a `Backend` option: the `executor-logs`
  output of PUBLISH_LOGS (KFP ≥ 2.5) and where the executor output file is written
  (KFP ≥ 2.15).

What each task's process used, as a cluster would see its pod, is in `Launcher.usage`:
wall and CPU seconds from its start to its exit and its peak resident memory
(tests/process_usage.py), without the launcher's copying before and after.
"""
import dataclasses
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from graphlib import TopologicalSorter

import yaml

from pipeline.kubeflow_entrypoint import LOCAL_ROOT_ENV

EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"
SCHEME = "minio://"
LOCAL_PREFIX = "minio"  # launcher `LocalPathForURI`: minio://<bucket>/<key> → /minio/<bucket>/<key>
EXECUTOR_LOGS = "executor-logs"
# Before KFP 2.15 (launcher `OutputMetadataFilepath`), relative to the pod's `/`.
LEGACY_OUTPUT_FILE = "tmp/kfp_outputs/output_metadata.json"


@dataclasses.dataclass(frozen=True)
class Backend:
    # KFP ≥ 2.5 with PUBLISH_LOGS ("true" unless the API server's environment says
    # otherwise): the driver adds an output `executor-logs` of type `system.Artifact`, and
    # the launcher creates its file before the command starts and copies the command's
    # output into it (driver `provisionOutputs`, launcher `getLogWriter`).
    publish_logs: bool
    # KFP ≥ 2.15: the executor output file is `output_metadata.json` in the local copy of
    # the task root, beside the outputs' folders; before, LEGACY_OUTPUT_FILE.
    output_file_in_task_root: bool


KFP_2_0_TO_2_4 = Backend(publish_logs=False, output_file_in_task_root=False)  # Kubeflow 1.8, 1.9
KFP_2_15_ON = Backend(publish_logs=True, output_file_in_task_root=True)
PROCESS_USAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "process_usage.py")


@dataclasses.dataclass(frozen=True)
class Usage:
    """What a task's process used (tests/process_usage.py)."""
    seconds: float  # wall, from its start to its exit
    cpu_seconds: float  # user and system
    peak_rss_bytes: int


def run_measured(command: list[str], env: dict, cwd: str, timeout: float
                 ) -> tuple[subprocess.CompletedProcess, Usage | None]:
    """subprocess.run(command, capture_output=True, text=True, ...) and what the command's
    process used (None if it never ran). A timeout raises subprocess.TimeoutExpired, as
    subprocess.run does, after ending the command."""
    with tempfile.TemporaryDirectory() as folder:
        usage_path = os.path.join(folder, "usage.json")
        with subprocess.Popen([sys.executable, PROCESS_USAGE, usage_path, *command], env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.terminate()  # process_usage.py kills the command
                process.communicate()
                raise
        usage = None
        if os.path.exists(usage_path):
            with open(usage_path) as source:
                usage = Usage(**json.load(source))
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), usage


def load_package(path: str) -> tuple[dict, dict]:
    """The pipeline spec and the Kubernetes platform spec (empty if none)."""
    with open(path) as source:
        documents = list(yaml.safe_load_all(source))
    return documents[0], (documents[1] if len(documents) > 1 else {})


def task_order(pipeline_spec: dict) -> list[str]:
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    return list(TopologicalSorter({name: task.get("dependentTasks", []) for name, task in tasks.items()})
                .static_order())


def mlmd_value(value, key: str):
    """A metadata value as the launcher records it in ML Metadata and the driver reads it
    back (metadata `StructValueToMLMDValue`, then `toRuntimeArtifact`)."""
    if isinstance(value, (bool, int, float)):  # booleans are recorded as 0/1, numbers as doubles
        return float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return {"list": value}
    if isinstance(value, dict):
        return {"struct": value}
    raise ValueError(f"unable to produce MLMD artifact: unknown/unsupported value type of {key!r}: {value!r}")


def copy_files(source: str, destination: str) -> None:
    """Copies the files under `source` (a file or a folder) to `destination`, creating
    only the folders that hold a file, as an object store transfer does."""
    if os.path.isfile(source):
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copyfile(source, destination)
        return
    for folder, _, files in os.walk(source):
        for name in files:
            target = os.path.join(destination, os.path.relpath(os.path.join(folder, name), source))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(os.path.join(folder, name), target)


class Launcher:
    def __init__(self, pipeline_spec: dict, pipeline_root: str, work_dir: str, backend: Backend = KFP_2_15_ON):
        if not pipeline_root.startswith(SCHEME):
            raise ValueError(f"the stand-in object store serves {SCHEME} pipeline roots, not {pipeline_root}")
        self.spec = pipeline_spec
        self.pipeline_root = pipeline_root.rstrip("/")
        self.backend = backend
        self.object_store = os.path.join(work_dir, "object_store")
        self.pods = os.path.join(work_dir, "pods")
        self.artifact_ids = itertools.count(1)
        # task → output key → the artifact as recorded in ML Metadata: id, uri and custom
        # properties (as the driver reads them back)
        self.outputs: dict[str, dict[str, dict]] = {}
        self.executor_inputs: dict[str, dict] = {}  # task → the executor input it was given
        self.usage: dict[str, Usage | None] = {}  # task → what its process used

    def component(self, task_name: str) -> dict:
        task = self.spec["root"]["dag"]["tasks"][task_name]
        return self.spec["components"][task["componentRef"]["name"]]

    def container(self, task_name: str) -> dict:
        label = self.component(task_name)["executorLabel"]
        return self.spec["deploymentSpec"]["executors"][label]["container"]

    def object_path(self, uri: str) -> str:
        """Where the object store keeps the files under `uri`."""
        return os.path.join(self.object_store, uri[len(SCHEME):])

    @staticmethod
    def pod_path(pod_root: str, uri: str) -> str:
        """The launcher's local copy of `uri` in a pod whose `/` is `pod_root`."""
        return os.path.join(pod_root, LOCAL_PREFIX, uri[len(SCHEME):])

    def input_artifact(self, producer_task: str, key: str) -> dict:
        """An upstream output as the driver resolves it from ML Metadata: its schema is
        not read back (metadata `GetOutputArtifactsByExecutionId`: `Schema: ""`)."""
        recorded = self.outputs[producer_task][key]
        return {"name": str(recorded["id"]), "uri": recorded["uri"], "type": {"instanceSchema": ""},
                "metadata": dict(recorded["custom_properties"])}

    def executor_input(self, task_name: str, pod_root: str) -> dict:
        task = self.spec["root"]["dag"]["tasks"][task_name]
        component = self.component(task_name)
        parameters = {name: value["runtimeValue"]["constant"]
                      for name, value in task.get("inputs", {}).get("parameters", {}).items()}
        artifacts = {}
        for name, value in task.get("inputs", {}).get("artifacts", {}).items():
            producer = value["taskOutputArtifact"]
            artifacts[name] = {"artifacts": [self.input_artifact(producer["producerTask"],
                                                                 producer["outputArtifactKey"])]}
        definitions = dict(component.get("outputDefinitions", {}).get("artifacts", {}))
        if self.backend.publish_logs:
            definitions[EXECUTOR_LOGS] = {"artifactType": {"schemaTitle": "system.Artifact"}}
        task_root = f"{self.pipeline_root}/{task_name}/{uuid.uuid4()}"
        # The output's metadata in the package (a display name) goes with it (driver `provisionOutputs`).
        outputs = {key: {"artifacts": [{"name": key, "uri": f"{task_root}/{key}", "type": definition["artifactType"],
                                        "metadata": dict(definition.get("metadata") or {})}]}
                   for key, definition in definitions.items()}
        output_file = (os.path.join(self.pod_path(pod_root, task_root), "output_metadata.json")
                       if self.backend.output_file_in_task_root else os.path.join(pod_root, LEGACY_OUTPUT_FILE))
        return {"inputs": {"parameterValues": parameters, "artifacts": artifacts},
                "outputs": {"artifacts": outputs, "outputFile": output_file}}

    def run_task(self, task_name: str, timeout: float = 600) -> subprocess.CompletedProcess:
        pod_root = os.path.join(self.pods, task_name)
        shutil.rmtree(pod_root, ignore_errors=True)
        home = os.path.join(pod_root, "home")  # the image's working directory
        os.makedirs(home)
        executor_input = self.executor_input(task_name, pod_root)
        self.executor_inputs[task_name] = executor_input
        for artifact_list in executor_input["inputs"]["artifacts"].values():
            for artifact in artifact_list["artifacts"]:
                if os.path.exists(self.object_path(artifact["uri"])):
                    copy_files(self.object_path(artifact["uri"]), self.pod_path(pod_root, artifact["uri"]))
        for artifact_list in executor_input["outputs"]["artifacts"].values():
            os.makedirs(os.path.dirname(self.pod_path(pod_root, artifact_list["artifacts"][0]["uri"])), exist_ok=True)
        log_file = None
        if self.backend.publish_logs:
            log_file = self.pod_path(pod_root, executor_input["outputs"]["artifacts"][EXECUTOR_LOGS]["artifacts"][0]["uri"])
            open(log_file, "w").close()

        container = self.container(task_name)
        serialized = json.dumps(executor_input)
        args = [serialized if arg == EXECUTOR_INPUT_PLACEHOLDER else arg for arg in container["args"]]
        command = [sys.executable if part == "python" else part for part in container["command"]]
        env = {**os.environ, LOCAL_ROOT_ENV: pod_root}
        result, self.usage[task_name] = run_measured(command + args, env=env, cwd=home, timeout=timeout)
        if log_file:
            with open(log_file, "w") as out:
                out.write(result.stdout + result.stderr)
        recorded = self.upload_outputs(executor_input, pod_root, succeeded=result.returncode == 0)
        if result.returncode == 0:
            self.outputs[task_name] = recorded
        return result

    def upload_outputs(self, executor_input: dict, pod_root: str, succeeded: bool) -> dict:
        """Uploads each output's files and records it (launcher `uploadOutputArtifacts`):
        the executor output's URI and metadata merged in; after a failure, only the logs."""
        output_file = executor_input["outputs"]["outputFile"]
        reported = {}
        if succeeded and os.path.exists(output_file):
            with open(output_file) as source:
                reported = json.load(source).get("artifacts", {})
        recorded = {}
        for key, artifact_list in executor_input["outputs"]["artifacts"].items():
            if not succeeded and key != EXECUTOR_LOGS:
                continue
            artifact = dict(artifact_list["artifacts"][0])
            metadata = dict(artifact.get("metadata") or {})
            if key in reported and key != EXECUTOR_LOGS:  # launcher `mergeRuntimeArtifacts`
                merged = reported[key]["artifacts"][0]
                artifact["uri"] = merged.get("uri") or artifact["uri"]
                metadata.update(merged.get("metadata") or {})
            if artifact["uri"].startswith(SCHEME):
                local = self.pod_path(pod_root, artifact["uri"])
                if os.path.exists(local):
                    copy_files(local, self.object_path(artifact["uri"]))
            custom_properties = {name: mlmd_value(value, name) for name, value in metadata.items()}
            custom_properties.setdefault("display_name", key)
            custom_properties.setdefault("store_session_info", json.dumps({"Provider": "minio", "Params": {}}))
            recorded[key] = {"id": next(self.artifact_ids), "uri": artifact["uri"],
                             "custom_properties": custom_properties}
        return recorded
