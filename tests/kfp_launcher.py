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
- Parameters reach a task as the driver resolves them into `parameterValues`: constants
  of the package, the run's parameter values (the package's defaults where the run gives
  none) and upstream tasks' output parameters.
- The executor output is parsed as the launcher parses it (`protojson.Unmarshal` into an
  `ExecutorOutput`: an unknown field fails the task), output parameters taken from it or
  else from their files (launcher `getExecutorOutputFile`, `collectOutputParameters`).
- KFP's cache: a task whose caching is on is reused when the cache key the driver
  computes from its executor input, command and image (`CACHE_KEY` below) matches a
  finished execution's; its recorded outputs are then the task's outputs.
- What differs between released backends is a `Backend` option: the `executor-logs`
  output of PUBLISH_LOGS (KFP ≥ 2.5) and where the executor output file is written
  (KFP ≥ 2.15).

What each task's process used, as a cluster would see its pod, is in `Launcher.usage`:
wall and CPU seconds from its start to its exit and its peak resident memory
(tests/process_usage.py), without the launcher's copying before and after.
"""
import dataclasses
import hashlib
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
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from pipeline.kubeflow_entrypoint import LOCAL_ROOT_ENV

EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"
SCHEME = "minio://"
LOCAL_PREFIX = "minio"  # launcher `LocalPathForURI`: minio://<bucket>/<key> → /minio/<bucket>/<key>
EXECUTOR_LOGS = "executor-logs"
# Before KFP 2.15 (launcher `OutputMetadataFilepath`), relative to the pod's `/`.
LEGACY_OUTPUT_FILE = "tmp/kfp_outputs/output_metadata.json"
# Where the driver asks for each output parameter's file (driver `provisionOutputs`).
OUTPUT_PARAMETER_DIR = "tmp/kfp/outputs"


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


def go_json(value) -> str:
    """`value` as Go's encoding/json writes it: map keys sorted, no spaces, whole numbers
    without a fraction, <, > and & escaped, other characters as they are."""
    def normalized(item):
        if isinstance(item, dict):
            return {key: normalized(entry) for key, entry in item.items()}
        if isinstance(item, list):
            return [normalized(entry) for entry in item]
        if isinstance(item, float) and item.is_integer() and abs(item) < 1e21:
            return int(item)
        return item
    text = json.dumps(normalized(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def cache_key(executor_input: dict, component: dict, container: dict, pvc_names: list[str]) -> str:
    """The driver's cache key of a task (kubeflow/pipelines `backend/src/v2/driver/cache.go`
    `getFingerPrint`, `backend/src/v2/cacheutils/cache.go` `GenerateCacheKey` and
    `GenerateFingerPrint`, `api/v2alpha1/cache_key.proto`): the `CacheKey` message as
    protojson, formatted by encoding/json, hashed with sha256. It holds the input artifacts'
    names, the input parameter values, the outputs' specs without their URIs, the output
    parameters' types, the image, the command line as compiled and the PVC names."""
    inputs, outputs = executor_input["inputs"], executor_input["outputs"]
    output_types = {name: spec["parameterType"]
                    for name, spec in (component.get("outputDefinitions") or {}).get("parameters", {}).items()}
    key = {
        "inputArtifactNames": {name: {"artifactNames": [artifact["name"] for artifact in artifact_list["artifacts"]]}
                               for name, artifact_list in inputs.get("artifacts", {}).items()},
        "inputParameterValues": dict(inputs.get("parameterValues", {})),
        "outputArtifactsSpec": {name: {field: artifact_list["artifacts"][0][field]
                                       for field in ("name", "type", "metadata")
                                       if artifact_list["artifacts"][0].get(field)}
                                for name, artifact_list in outputs.get("artifacts", {}).items()},
        "outputParametersSpec": {name: output_types[name] for name in outputs.get("parameters", {})},
        "containerSpec": {"image": container["image"], "cmdArgs": container["command"] + container["args"],
                          "pvcNames": sorted(set(pvc_names))},
    }
    # protojson leaves out empty maps and lists.
    key = {field: value for field, value in key.items() if value}
    key["containerSpec"] = {field: value for field, value in key["containerSpec"].items() if value}
    return hashlib.sha256(go_json(key).encode()).hexdigest()


def read_executor_output(path: str) -> dict:
    """The executor output file as the launcher reads it (`protojson.Unmarshal` into an
    `ExecutorOutput`: an unknown field is an error); {} when there is none."""
    if not os.path.exists(path):
        return {}
    with open(path) as source:
        message = json_format.Parse(source.read(), pipeline_spec_pb2.ExecutorOutput())
    return json_format.MessageToDict(message)


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


class Cache:
    """What KFP's cache holds for one pipeline in one namespace, shared by the runs of it:
    cache key → the recorded outputs of the execution that finished with it."""

    def __init__(self):
        self.executions: dict[str, tuple[dict, dict]] = {}
        self.artifact_ids = itertools.count(1)  # ML Metadata's ids, across runs


class Launcher:
    """One run of a package. `parameter_values`: the run's values of the package's
    parameters (`y8m submit --param`); `cache`: the cache the runs of the package share."""

    def __init__(self, pipeline_spec: dict, pipeline_root: str, work_dir: str, backend: Backend = KFP_2_15_ON,
                 parameter_values: dict | None = None, cache: Cache | None = None, pvc_names: list[str] = ()):
        if not pipeline_root.startswith(SCHEME):
            raise ValueError(f"the stand-in object store serves {SCHEME} pipeline roots, not {pipeline_root}")
        self.spec = pipeline_spec
        self.pipeline_root = pipeline_root.rstrip("/")
        self.backend = backend
        self.object_store = os.path.join(work_dir, "object_store")
        self.pods = os.path.join(work_dir, "pods")
        self.cache = cache or Cache()
        self.pvc_names = list(pvc_names)
        declared = (pipeline_spec["root"].get("inputDefinitions") or {}).get("parameters", {})
        unknown = set(parameter_values or {}) - set(declared)
        if unknown:
            raise ValueError(f"the package has no run parameters {sorted(unknown)}")
        self.run_parameters = {name: spec["defaultValue"] for name, spec in declared.items() if "defaultValue" in spec}
        self.run_parameters.update(parameter_values or {})
        # task → output key → the artifact as recorded in ML Metadata: id, uri and custom
        # properties (as the driver reads them back)
        self.outputs: dict[str, dict[str, dict]] = {}
        self.output_parameters: dict[str, dict] = {}  # task → output parameter → value
        self.executor_inputs: dict[str, dict] = {}  # task → the executor input it was given
        self.usage: dict[str, Usage | None] = {}  # task → what its process used
        self.reused: list[str] = []  # tasks taken from the cache

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

    def parameter_value(self, task_name: str, name: str, source: dict):
        """An input parameter as the driver resolves it (driver `resolveInputs`)."""
        if "runtimeValue" in source:
            return source["runtimeValue"]["constant"]
        if "componentInputParameter" in source:
            return self.run_parameters[source["componentInputParameter"]]
        producer = source["taskOutputParameter"]
        if producer["producerTask"] not in self.output_parameters:
            raise ValueError(f"{task_name}: parameter {name} from task {producer['producerTask']}, "
                             "which has not run (or does not exist)")
        return self.output_parameters[producer["producerTask"]][producer["outputParameterKey"]]

    def executor_input(self, task_name: str, pod_root: str) -> dict:
        task = self.spec["root"]["dag"]["tasks"][task_name]
        component = self.component(task_name)
        parameters = {name: self.parameter_value(task_name, name, source)
                      for name, source in task.get("inputs", {}).get("parameters", {}).items()}
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
        output_parameters = {name: {"outputFile": os.path.join(pod_root, OUTPUT_PARAMETER_DIR, name)}
                             for name in (component.get("outputDefinitions") or {}).get("parameters", {})}
        return {"inputs": {"parameterValues": parameters, "artifacts": artifacts},
                "outputs": {"artifacts": outputs, "parameters": output_parameters, "outputFile": output_file}}

    def task_cache_key(self, task_name: str, executor_input: dict) -> str | None:
        """The task's cache key, None when its caching is off (driver `getFingerPrintsAndID`)."""
        task = self.spec["root"]["dag"]["tasks"][task_name]
        if not (task.get("cachingOptions") or {}).get("enableCache"):
            return None
        return cache_key(executor_input, self.component(task_name), self.container(task_name), self.pvc_names)

    def run_task(self, task_name: str, timeout: float = 600, dry_run: bool = False) -> subprocess.CompletedProcess:
        """Runs a task, or reuses a cached execution of it. `dry_run`: a cacheable task that
        would run does not, and records outputs without files, as far as later cache keys
        can tell (new artifacts, new names); a never-cached task runs."""
        pod_root = os.path.join(self.pods, task_name)
        shutil.rmtree(pod_root, ignore_errors=True)
        home = os.path.join(pod_root, "home")  # the image's working directory
        os.makedirs(home)
        executor_input = self.executor_input(task_name, pod_root)
        self.executor_inputs[task_name] = executor_input
        key = self.task_cache_key(task_name, executor_input)
        if key in self.cache.executions:
            self.outputs[task_name], self.output_parameters[task_name] = self.cache.executions[key]
            self.reused.append(task_name)
            return subprocess.CompletedProcess([], 0, "reused from cache", "")
        if dry_run and key is not None:
            self.outputs[task_name] = {output: {"id": next(self.cache.artifact_ids), "uri": artifact_list["artifacts"][0]["uri"],
                                                "custom_properties": {}}
                                       for output, artifact_list in executor_input["outputs"]["artifacts"].items()}
            self.output_parameters[task_name] = {}
            return subprocess.CompletedProcess([], 0, "dry run", "")
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
        executor_output = read_executor_output(executor_input["outputs"]["outputFile"]) if result.returncode == 0 else {}
        recorded = self.upload_outputs(executor_input, executor_output, pod_root, succeeded=result.returncode == 0)
        if result.returncode == 0:
            self.outputs[task_name] = recorded
            self.output_parameters[task_name] = self.collect_output_parameters(executor_input, executor_output)
            if key is not None:
                self.cache.executions[key] = (recorded, self.output_parameters[task_name])
        return result

    @staticmethod
    def collect_output_parameters(executor_input: dict, executor_output: dict) -> dict:
        """From the executor output, else from each parameter's file (launcher
        `collectOutputParameters`; the pipeline's are strings)."""
        values = dict(executor_output.get("parameterValues") or {})
        for name, parameter in executor_input["outputs"]["parameters"].items():
            if name not in values:
                with open(parameter["outputFile"]) as source:
                    values[name] = source.read()
        return values

    def upload_outputs(self, executor_input: dict, executor_output: dict, pod_root: str, succeeded: bool) -> dict:
        """Uploads each output's files and records it (launcher `uploadOutputArtifacts`):
        the executor output's URI and metadata merged in; after a failure, only the logs."""
        reported = executor_output.get("artifacts", {})
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
            recorded[key] = {"id": next(self.cache.artifact_ids), "uri": artifact["uri"],
                             "custom_properties": custom_properties}
        return recorded
