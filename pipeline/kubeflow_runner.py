"""Compiles the pipeline for Kubeflow Pipelines and submits runs of it.

The same `create_pipeline(...)` as the local runner, compiled by TFX's
KubeflowV2DagRunner into a KFP package (YAML, pipeline spec 2.1): one task per
component, each running the project image through `pipeline.kubeflow_entrypoint`.
The profile's `kubeflow` section sets per-component resources and, as the package's
second YAML document (the Kubernetes platform spec), the data volume mount, node
selectors and tolerations. The input patterns, the serving directory and the blessing
threshold are run parameters (KFP's run form), and the first task fingerprints the input
files when the run starts (docs/design.md, "Caching").
"""
import contextlib
import io
import json
import logging

import yaml
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration import data_types
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from pipeline import beam_options, kfp_backends
from pipeline.pipeline import FINGERPRINT_TASK, PATTERN_PARAMETERS, create_pipeline
from pipeline.kubeflow_settings import KubeflowSettings, Resources, check_images
from pipeline.profile import Profile
from common.errors import UserError

log = logging.getLogger("y8m.kubeflow")

# The container command of every task: the TFX executor entrypoint behind the wrapper
# that maps minio:// and s3:// artifact URIs to the launcher's local copies.
# KFP names allow [a-z0-9-] only; its cache keys include the image, so a new image
# version is not served an older one's results.
PIPELINE_NAME = "y8m-pipeline"
ENTRYPOINT = ["python", "-m", "pipeline.kubeflow_entrypoint"]
# The pipeline root is chosen per run, at submit time (`y8m submit --pipeline-root`).
COMPILE_TIME_ROOT = "pipeline-root-set-at-submit"
GPU_RESOURCE = "nvidia.com/gpu"
# The Beam runners whose workers run inside the task's pod (`--beam-runner local`,
# `local-multiprocess`, and Beam's default): they read and write the launcher's local
# copies of minio:// and s3:// artifacts. Any other runner's workers are elsewhere.
IN_POD_RUNNERS = {arg.removeprefix("--runner=") for runner in beam_options.FN_API_RUNNERS
                  for arg in beam_options.BEAM_ARGS_BY_RUNNER[runner] if arg.startswith("--runner=")} | {"DirectRunner"}
# The only scheme both a task (TensorFlow) and remote Beam workers (Beam's GCS file
# system, TensorFlow) read and write themselves, so the entrypoint leaves it alone.
SHARED_SCHEME = "gs://"
ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec


def resource_spec(resources: Resources):
    """CPU and memory (GB) as requests and limits; GPUs as the `nvidia.com/gpu` resource."""
    spec = ResourceSpec()
    if resources.cpu is not None:
        spec.resource_cpu_request = spec.resource_cpu_limit = str(resources.cpu)
    if resources.memory is not None:
        spec.resource_memory_request = spec.resource_memory_limit = f"{resources.memory}G"
    if resources.gpu:
        spec.accelerator.resource_type = GPU_RESOURCE
        spec.accelerator.resource_count = str(resources.gpu)
    return spec


def executor_platform_config(settings: KubeflowSettings, component_id: str) -> dict:
    """The kfp-kubernetes executor config of one task (mounts, node selector, tolerations)."""
    config = {}
    volume = settings.data_volume
    if volume:
        # `constant` only: KFP 2.0–2.4 parse the platform spec strictly and know no
        # `pvcNameParameter` (every task would fail); 2.5 on read `constant` when
        # `pvcNameParameter` is absent (kubeflow/pipelines `backend/src/v2/driver/k8s.go`).
        config["pvcMount"] = [{"mountPath": volume.mount_path, "constant": volume.claim}]
    uses_gpu = bool(settings.resources_of(component_id).gpu)
    node_selector = {**settings.node_selector, **(settings.gpu_node_selector if uses_gpu else {})}
    if node_selector:
        config["nodeSelector"] = {"labels": node_selector}
    tolerations = list(settings.tolerations) + list(settings.gpu_tolerations if uses_gpu else [])
    if tolerations:
        config["tolerations"] = tolerations
    return config


def link_task_output_parameters(pipeline_spec: dict) -> None:
    """TFX 1.21's compiler names the producer of a task output parameter `<task>_task`
    (tfx `orchestration/kubeflow/v2/step_builder.py`), but keys the task itself by `<task>`:
    KFP's driver would find no such task. Points each reference at the task."""
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    for task in tasks.values():
        for parameter in (task.get("inputs") or {}).get("parameters", {}).values():
            producer = parameter.get("taskOutputParameter")
            if producer and producer["producerTask"] not in tasks:
                producer["producerTask"] = producer["producerTask"].removesuffix("_task")


def add_run_parameter_defaults(pipeline_spec: dict, tfx_pipeline) -> None:
    """Gives every run parameter its compile-time value as default. TFX's compiler leaves
    the values to a Vertex job's runtime config; without a default, KFP's run form shows
    an empty field and the run needs every value."""
    defaults = {value.name: value.default for component in tfx_pipeline.components
                for value in component.exec_properties.values() if isinstance(value, data_types.RuntimeParameter)}
    for name, spec in pipeline_spec["root"]["inputDefinitions"]["parameters"].items():
        spec.update(defaultValue=defaults[name], isOptional=True)


def never_cache_the_fingerprint(pipeline_spec: dict) -> None:
    """InputFingerprint reads the files every run: KFP's cache must never answer for it."""
    pipeline_spec["root"]["dag"]["tasks"][FINGERPRINT_TASK].pop("cachingOptions", None)


def check_dataflow_inputs(patterns: list[str]) -> None:
    """Dataflow workers read the input files themselves, outside the cluster."""
    local = [pattern for pattern in patterns if not pattern.startswith(SHARED_SCHEME)]
    if local:
        raise UserError(f"--beam-runner dataflow: the Dataflow workers read the input files themselves and cannot "
                        f"see the cluster's volumes ({local[0]}): give {SHARED_SCHEME} patterns to --train/--test")


def compile_pipeline(output_path: str, *, profile: Profile, image: str, labelled_patterns: list[str],
                     test_patterns: list[str], serving_model_dir: str, beam_runner: str = "local",
                     extra_beam_args: list[str] | None = None, num_classes: int | None = None,
                     gpu_image: str | None = None, frame_patterns: list[str] | None = None,
                     enable_cache: bool = True) -> dict:
    """Writes the KFP package to `output_path` (.yaml); returns a summary of its tasks.
    `enable_cache=False` turns KFP's cache off for every task of the package."""
    if not output_path.endswith((".yaml", ".yml")):
        raise UserError("the Kubeflow package must be a .yaml file (the KFP client rejects JSON packages)")
    check_images(image, gpu_image)
    beam_pipeline_args = beam_options.kubeflow_beam_args(beam_runner, image, extra_beam_args)
    if beam_runner == "dataflow":
        check_dataflow_inputs(labelled_patterns + test_patterns + list(frame_patterns or []))
    kwargs = {} if num_classes is None else {"num_classes": num_classes}
    tfx_pipeline = create_pipeline(
        pipeline_name=PIPELINE_NAME, pipeline_root=COMPILE_TIME_ROOT, profile=profile,
        labelled_patterns=labelled_patterns, test_patterns=test_patterns, frame_patterns=frame_patterns or None,
        serving_model_dir=serving_model_dir, beam_pipeline_args=beam_pipeline_args, enable_cache=enable_cache,
        inputs_at_run_time=True, **kwargs)
    settings = profile.kubeflow
    images = {kubeflow_v2_dag_runner.pipeline_builder.DEFAULT_IMAGE_PATH_KEY: image}
    for component in tfx_pipeline.components:
        resources = settings.resources_of(component.id)
        if resources != Resources():
            component.with_platform_config(resource_spec(resources))
        if gpu_image and resources.gpu:
            images[component.id] = gpu_image
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
            display_name=PIPELINE_NAME, default_image=images if len(images) > 1 else image,
            default_commands=ENTRYPOINT,
            use_pipeline_spec_2_1=True))
    pipeline_spec = runner.run(tfx_pipeline, write_out=False)["pipelineSpec"]
    link_task_output_parameters(pipeline_spec)
    add_run_parameter_defaults(pipeline_spec, tfx_pipeline)
    never_cache_the_fingerprint(pipeline_spec)
    platform = {component.id + "_executor": executor_platform_config(settings, component.id)
                for component in tfx_pipeline.components}
    platform = {label: config for label, config in platform.items() if config}
    documents = [pipeline_spec]
    if platform:
        documents.append({"platforms": {"kubernetes": {"deploymentSpec": {"executors": platform}}}})
    requirement = kfp_backends.package_requirement(*documents)
    try:
        with open(output_path, "w") as out:
            out.write(f"# {PIPELINE_NAME}: compiled by `y8m compile` (profile '{profile.name}'); "
                      f"needs {requirement}\n")
            yaml.safe_dump_all(documents, out, sort_keys=True)
    except OSError as error:
        raise UserError(f"cannot write the package {output_path}: {error.strerror}") from None
    return {"package": output_path, "tasks": sorted(pipeline_spec["root"]["dag"]["tasks"]),
            "run_parameters": {name: spec.get("defaultValue") for name, spec in
                               sorted(pipeline_spec["root"]["inputDefinitions"]["parameters"].items())},
            "image": image, "beam_runner": beam_runner, "platform_executors": sorted(platform),
            "caching": enable_cache, "minimum_kfp_version": requirement.version_text,
            "minimum_kfp_version_because": requirement.reason}


def read_package(package: str) -> tuple[dict, dict]:
    """The pipeline spec and the Kubernetes platform spec ({} if none) of a package."""
    try:
        with open(package) as source:
            documents = list(yaml.safe_load_all(source))
    except OSError as error:
        raise UserError(f"cannot read the package {package}: {error.strerror}") from None
    except yaml.YAMLError:
        raise UserError(f"the package {package} is not YAML: write it with `y8m compile`") from None
    spec = documents[0] if documents else None
    executors = (spec.get("deploymentSpec") or {}).get("executors") if isinstance(spec, dict) else None
    if not isinstance(executors, dict):
        raise UserError(f"the package {package} has no tasks (deploymentSpec.executors): write it with `y8m compile`")
    return spec, (documents[1] if len(documents) > 1 and isinstance(documents[1], dict) else {})


def package_beam_runners(pipeline_spec: dict) -> set[str]:
    """The Beam runners the package's tasks run on (each task's last `--runner=`)."""
    runners = set()
    for executor in pipeline_spec["deploymentSpec"]["executors"].values():
        runner_args = [arg for arg in (executor.get("container") or {}).get("args", [])
                       if isinstance(arg, str) and arg.startswith("--runner=")]
        if runner_args:
            runners.add(runner_args[-1].removeprefix("--runner="))
    return runners


def check_pipeline_root(pipeline_spec: dict, pipeline_root: str) -> None:
    """Remote Beam workers (Flink, Dataflow) read and write the artifacts' URIs
    themselves: the launcher's local copies of minio:// and s3:// artifacts, in the
    task's pod, are out of their reach (kubernetes/README.md, "Open-source KFP runtime gaps")."""
    remote = sorted(package_beam_runners(pipeline_spec) - IN_POD_RUNNERS)
    if remote and not pipeline_root.startswith(SHARED_SCHEME):
        raise UserError(f"--pipeline-root {pipeline_root}: the package runs its Beam steps on {', '.join(remote)}, "
                        "whose workers cannot read the copies of the artifacts inside the task's pod; give a "
                        f"{SHARED_SCHEME} pipeline root that the workers can read and write, or recompile with "
                        "--beam-runner local")


def run_arguments(pipeline_spec: dict, values: dict[str, str]) -> dict:
    """`--param NAME=VALUE` values as the run's typed parameter values. A pattern parameter
    takes a JSON list of globs, or one glob."""
    declared = (pipeline_spec.get("root", {}).get("inputDefinitions") or {}).get("parameters") or {}
    arguments = {}
    for name, value in values.items():
        if name not in declared:
            raise UserError(f"--param {name}: the package has no such run parameter; it has "
                            f"{', '.join(sorted(declared)) or 'none'}")
        kind = declared[name].get("parameterType")
        try:
            arguments[name] = float(value) if kind == "NUMBER_DOUBLE" else int(value) if kind == "NUMBER_INTEGER" \
                else value
        except ValueError:
            raise UserError(f"--param {name}={value}: not a number") from None
        if name in PATTERN_PARAMETERS:
            arguments[name] = pattern_list(name, value)
    return arguments


def pattern_list(name: str, value: str) -> str:
    """A pattern parameter's value: a JSON list of globs, from such a list or one glob."""
    try:
        patterns = json.loads(value)
    except ValueError:
        patterns = [value]
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise UserError(f"--param {name}={value}: give a glob, or a JSON list of globs")
    return json.dumps(patterns)


def submit(host: str, package: str, pipeline_root: str, experiment: str | None = None,
           run_name: str | None = None, namespace: str | None = None, enable_caching: bool | None = None,
           service_account: str | None = None, parameters: dict[str, str] | None = None,
           check_version: bool = True) -> dict:
    """Creates a run of a compiled package on a Kubeflow Pipelines endpoint, after asking
    the server for its version (pipeline/kfp_backends.py). `enable_caching`: None keeps
    each task's setting in the package (`y8m compile --no-cache` turns them off); True or
    False overrides every task's for this run. `parameters`: run parameters by name
    (the package's `root.inputDefinitions`), the others keep their defaults."""
    pipeline_spec, platform_spec = read_package(package)
    check_pipeline_root(pipeline_spec, pipeline_root)
    arguments = run_arguments(pipeline_spec, parameters or {})
    requirements = kfp_backends.package_requirements(pipeline_spec, platform_spec)
    version = kfp_backends.check_server(host, requirements) if check_version else None
    import kfp
    from kfp_server_api.exceptions import ApiException
    from urllib3.exceptions import HTTPError
    try:
        # kfp's client prints links to the experiment and run: into the log, stdout is the result's.
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            client = kfp.Client(host=host, namespace=namespace)
            run = client.create_run_from_pipeline_package(
                pipeline_file=package, arguments=arguments, run_name=run_name, experiment_name=experiment,
                namespace=namespace, pipeline_root=pipeline_root, enable_caching=enable_caching,
                service_account=service_account)
        log.info("%s", printed.getvalue().strip())
    except HTTPError as error:
        raise UserError(f"cannot reach Kubeflow Pipelines at {host} ({getattr(error, 'reason', error)}): "
                        "check --host") from None
    except ApiException as error:
        raise UserError(f"Kubeflow Pipelines at {host} refused the run: {error.status} {error.reason}") from None
    return {"run_id": run.run_id, "host": host, "pipeline_root": pipeline_root, "kfp_version": version,
            "parameters": arguments}
