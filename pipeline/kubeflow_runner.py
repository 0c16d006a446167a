"""Compiles the pipeline for Kubeflow Pipelines and submits runs of it.

The same `create_pipeline(...)` as the local runner, compiled by TFX's
KubeflowV2DagRunner into a KFP package (YAML, pipeline spec 2.1): one task per
component, each running the project image through `pipeline.kubeflow_entrypoint`.
The profile's `kubeflow` section sets per-component resources and, as the package's
second YAML document (the Kubernetes platform spec), the data volume mount, node
selectors and tolerations.
"""
import hashlib
import json

import tensorflow as tf
import yaml
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.dsl.components.base import base_component
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner

from pipeline import beam_options
from pipeline.pipeline import create_pipeline
from pipeline.kubeflow_settings import KubeflowSettings, Resources, check_images
from pipeline.profile import Profile
from common.errors import UserError
from common.input_files import expand_patterns, fingerprint

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


def input_fingerprint(patterns: list[str]) -> str:
    """The files' fingerprint where the compiling machine can read them (local or gs://);
    otherwise only the patterns (paths inside the cluster's data volume), so KFP's cache
    cannot tell when those files change: submit with --no-cache after changing data."""
    try:
        return fingerprint(expand_patterns(patterns, "input"))
    except (UserError, tf.errors.OpError):  # OpError: a gs:// bucket this machine cannot reach
        return "patterns:" + hashlib.sha256(json.dumps(patterns).encode()).hexdigest()


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
    if frame_patterns:
        kwargs.update(frame_patterns=frame_patterns, frame_fingerprint=input_fingerprint(frame_patterns))
    tfx_pipeline = create_pipeline(
        pipeline_name=PIPELINE_NAME, pipeline_root=COMPILE_TIME_ROOT, profile=profile,
        labelled_patterns=labelled_patterns, test_patterns=test_patterns,
        input_fingerprint=input_fingerprint(labelled_patterns + test_patterns),
        serving_model_dir=serving_model_dir, beam_pipeline_args=beam_pipeline_args, enable_cache=enable_cache,
        **kwargs)
    settings = profile.kubeflow
    images = {kubeflow_v2_dag_runner.pipeline_builder.DEFAULT_IMAGE_PATH_KEY: image}
    # The Importer that registers frame-level files runs no container: no resources, no mounts.
    containers = [c for c in tfx_pipeline.components if isinstance(c, base_component.BaseComponent)]
    for component in containers:
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
    platform = {component.id + "_executor": executor_platform_config(settings, component.id)
                for component in containers}
    platform = {label: config for label, config in platform.items() if config}
    documents = [pipeline_spec]
    if platform:
        documents.append({"platforms": {"kubernetes": {"deploymentSpec": {"executors": platform}}}})
    try:
        with open(output_path, "w") as out:
            out.write(f"# {PIPELINE_NAME}: compiled by `y8m compile` (profile '{profile.name}')\n")
            yaml.safe_dump_all(documents, out, sort_keys=True)
    except OSError as error:
        raise UserError(f"cannot write the package {output_path}: {error.strerror}") from None
    return {"package": output_path, "tasks": sorted(pipeline_spec["root"]["dag"]["tasks"]),
            "image": image, "beam_runner": beam_runner, "platform_executors": sorted(platform),
            "caching": enable_cache}


def package_beam_runners(package: str) -> set[str]:
    """The Beam runners the package's tasks run on (each task's last `--runner=`)."""
    try:
        with open(package) as source:
            spec = next(yaml.safe_load_all(source), None)
    except OSError as error:
        raise UserError(f"cannot read the package {package}: {error.strerror}") from None
    except yaml.YAMLError:
        raise UserError(f"the package {package} is not YAML: write it with `y8m compile`") from None
    executors = (spec.get("deploymentSpec") or {}).get("executors") if isinstance(spec, dict) else None
    if not isinstance(executors, dict):
        raise UserError(f"the package {package} has no tasks (deploymentSpec.executors): write it with `y8m compile`")
    runners = set()
    for executor in executors.values():
        runner_args = [arg for arg in (executor.get("container") or {}).get("args", [])
                       if isinstance(arg, str) and arg.startswith("--runner=")]
        if runner_args:
            runners.add(runner_args[-1].removeprefix("--runner="))
    return runners


def check_pipeline_root(package: str, pipeline_root: str) -> None:
    """Remote Beam workers (Flink, Dataflow) read and write the artifacts' URIs
    themselves: the launcher's local copies of minio:// and s3:// artifacts, in the
    task's pod, are out of their reach (kubernetes/README.md, "Open-source KFP runtime gaps")."""
    remote = sorted(package_beam_runners(package) - IN_POD_RUNNERS)
    if remote and not pipeline_root.startswith(SHARED_SCHEME):
        raise UserError(f"--pipeline-root {pipeline_root}: the package runs its Beam steps on {', '.join(remote)}, "
                        "whose workers cannot read the copies of the artifacts inside the task's pod; give a "
                        f"{SHARED_SCHEME} pipeline root that the workers can read and write, or recompile with "
                        "--beam-runner local")


def submit(host: str, package: str, pipeline_root: str, experiment: str | None = None,
           run_name: str | None = None, namespace: str | None = None, enable_caching: bool | None = None,
           service_account: str | None = None, client=None) -> dict:
    """Creates a run of a compiled package on a Kubeflow Pipelines endpoint.
    `enable_caching`: None keeps each task's setting in the package (`y8m compile
    --no-cache` turns them off); True or False overrides every task's for this run."""
    check_pipeline_root(package, pipeline_root)
    from kfp_server_api.exceptions import ApiException
    from urllib3.exceptions import HTTPError
    try:
        if client is None:
            import kfp
            client = kfp.Client(host=host, namespace=namespace)
        run = client.create_run_from_pipeline_package(
            pipeline_file=package, arguments={}, run_name=run_name, experiment_name=experiment,
            namespace=namespace, pipeline_root=pipeline_root, enable_caching=enable_caching,
            service_account=service_account)
    except HTTPError as error:
        raise UserError(f"cannot reach Kubeflow Pipelines at {host} ({getattr(error, 'reason', error)}): "
                        "check --host") from None
    except ApiException as error:
        raise UserError(f"Kubeflow Pipelines at {host} refused the run: {error.status} {error.reason}") from None
    return {"run_id": run.run_id, "host": host, "pipeline_root": pipeline_root}
