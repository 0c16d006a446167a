"""The compiled Kubeflow package, read the way kfp's client reads it."""
import json
import os

import pytest
import yaml
from google.protobuf import json_format
from kfp.client import client as kfp_client

from components.evaluator.report import DISPLAY_NAMES
from pipeline import kfp_backends, kubeflow_runner
from common.errors import UserError
from pipeline.beam_options import BEAM_ARGS_BY_RUNNER
from pipeline.kubeflow_settings import COMPONENT_TYPES, component_type
from pipeline.pipeline import FINGERPRINT_TASK, RUN_PARAMETERS, assembler_id, create_pipeline, trainer_id
from pipeline.profile import PROFILE_DIR, load_profile, parse_profile

PATTERNS = dict(labelled_patterns=["/data/train*.tfrecord"], test_patterns=["/data/test*.tfrecord"],
                serving_model_dir="/data/serving_model")
BEAM_TASKS = {"VideoExampleGen", "FoldSplitter", "PredictionMerger", "SoftLabelIndexer", "StudentTransform"}
GPU_TASK_TYPES = ("L1Trainer", "StudentTrainer")  # the full profile's GPU components


@pytest.fixture(scope="module")
def full_package(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("kfp") / "pipeline.yaml")
    profile = load_profile("full")
    summary = kubeflow_runner.compile_pipeline(
        path, profile=profile, image="registry.example/y8m:1", gpu_image="registry.example/y8m-gpu:1",
        beam_runner="portable", extra_beam_args=["--job_endpoint=flink-jobserver:8099"], **PATTERNS)
    return profile, summary, read_package(path)


def read_package(path: str) -> dict:
    """The pipeline spec as kfp's client parses it before uploading (a proto, here as a dict)."""
    return json_format.MessageToDict(kfp_client._extract_pipeline_yaml(path).pipeline_spec)


def executor(package: dict, task: str) -> dict:
    return package["deploymentSpec"]["executors"][task + "_executor"]


def test_every_component_of_the_local_pipeline_is_a_task(full_package):
    profile, summary, package = full_package
    tasks = set(package["root"]["dag"]["tasks"])
    trainers = {trainer_id(model.name, fold) for model in profile.l1_models for fold in range(profile.folds)}
    assemblers = {assembler_id(model.name) for model in profile.l1_models}
    students = {f"StudentTrainer-{index}" for index in range(len(profile.student.networks()))}
    assert len(trainers) == len(profile.l1_models) * profile.folds == 12 * 5
    assert tasks == {FINGERPRINT_TASK, "VideoExampleGen", "FoldSplitter", "PredictionMerger", "LGBMStacker", "SoftLabelIndexer",
                     "StudentTransform", "Distiller", "GapEvaluator", "Pusher"} | trainers | assemblers | students
    assert sorted(tasks) == summary["tasks"]
    assert all(name.replace("-", "").isalnum() for name in tasks)  # Argo task names


def test_no_training_task_waits_for_another(full_package):
    """Every (model, fold) and every student network can train at the same time: a training
    task reads only the data stages' outputs, and an assembler exactly its model's folds."""
    profile, _, package = full_package
    tasks = package["root"]["dag"]["tasks"]
    for name, task in tasks.items():
        upstream = set(task.get("dependentTasks", []))
        if component_type(name) == "L1Trainer":
            assert upstream <= {"FoldSplitter", "FrameFeatures", "SoftLabelIndexer"}, name
        elif component_type(name) == "StudentTrainer":
            assert upstream == {"SoftLabelIndexer", "StudentTransform"}, name
    for model in profile.l1_models:
        assert set(tasks[assembler_id(model.name)]["dependentTasks"]) == {
            trainer_id(model.name, fold) for fold in range(profile.folds)}


def test_tasks_run_the_project_image_through_the_entrypoint_wrapper(full_package):
    _, _, package = full_package
    for label, spec in package["deploymentSpec"]["executors"].items():
        assert set(spec) == {"container"}, f"{label}: only container executors run on open-source KFP"
        container = spec["container"]
        assert container["command"] == kubeflow_runner.ENTRYPOINT
        assert container["args"][:2] == ["--executor_class_path", container["args"][1]]
        gpu = label.startswith(GPU_TASK_TYPES)
        assert container["image"] == ("registry.example/y8m-gpu:1" if gpu else "registry.example/y8m:1"), label


def test_resources_follow_the_profile(full_package):
    _, _, package = full_package
    trainer = executor(package, trainer_id("moe_4", 3))["container"]["resources"]
    assert trainer["resourceCpuLimit"] == "8" and trainer["resourceMemoryLimit"] == "64G"
    assert trainer["accelerator"] == {"resourceType": "nvidia.com/gpu", "resourceCount": "1"}
    merger = executor(package, "PredictionMerger")["container"]["resources"]
    assert merger["resourceMemoryRequest"] == "64G" and "accelerator" not in merger
    fold_splitter = executor(package, "FoldSplitter")["container"]["resources"]  # the profile's default
    assert fold_splitter["resourceCpuRequest"] == "4"


def test_beam_arguments_reach_every_task(full_package):
    _, _, package = full_package
    for task in BEAM_TASKS:
        args = executor(package, task)["container"]["args"]
        assert "--job_endpoint=flink-jobserver:8099" in args
        assert all(arg in args for arg in BEAM_ARGS_BY_RUNNER["portable"])


def test_platform_spec_mounts_the_data_and_places_gpu_tasks(tmp_path):
    path = str(tmp_path / "pipeline.yaml")
    kubeflow_runner.compile_pipeline(path, profile=load_profile("full"), image="y8m:1", **PATTERNS)
    platform = json_format.MessageToDict(kfp_client._extract_pipeline_yaml(path).platform_spec)
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(executors) == {f"{task}_executor" for task in read_package(path)["root"]["dag"]["tasks"]}
    for label, config in executors.items():
        assert config["pvcMount"] == [{"mountPath": "/data", "constant": "y8m-data"}]
        gpu = label.startswith(GPU_TASK_TYPES)
        assert ("nodeSelector" in config) == gpu and ("tolerations" in config) == gpu, label


# Each field the compiler may write into a task's kfp-kubernetes executor config (JSON
# names) → the first KFP backend whose driver parses it (kubeflow/pipelines
# `kubernetes_platform/proto/kubernetes_executor_config.proto` at the commit each
# backend's go.mod pins: 2.0.x bd9f74e, 2.1 19a24e3, 2.2 8b2a099, 2.3–2.4 d911c8b; in the
# tree from 2.5). Up to 2.4 the driver parses the config strictly (`jsonpb`): one field it
# does not know fails every task. From 2.5 it reads `constant` when `pvcNameParameter` is
# absent.
FIRST_BACKEND_PARSING = {
    "pvcMount": (2, 0), "pvcMount.mountPath": (2, 0), "pvcMount.constant": (2, 0), "pvcMount.pvcNameParameter": (2, 5),
    "nodeSelector": (2, 0), "nodeSelector.labels": (2, 0),
    "tolerations": (2, 1), **{f"tolerations.{name}": (2, 1)
                              for name in ("key", "operator", "value", "effect", "tolerationSeconds")},
}
OLDEST_SUPPORTED_BACKEND = (2, 0)  # Kubeflow 1.8
# KFP 2.0 knows no tolerations: a profile that sets them needs KFP ≥ 2.1
# (kubernetes/README.md "Open-source KFP runtime gaps").
OLDEST_BACKEND_WITH_TOLERATIONS = (2, 1)


def platform_field_paths(config: dict) -> set[str]:
    """`pvcMount`, `pvcMount.constant`, ...: the fields of one executor config, two levels deep."""
    paths = set()
    for field, value in config.items():
        paths.add(field)
        for entry in value if isinstance(value, list) else [value]:
            paths |= {f"{field}.{name}" for name in entry}
    return paths


@pytest.mark.parametrize("profile_name", ["quick", "full"])
def test_the_platform_spec_carries_only_fields_every_supported_backend_parses(tmp_path, profile_name):
    """Blocker: with `pvcNameParameter`, every task failed on KFP 2.0–2.4 (Kubeflow 1.8, 1.9)."""
    path = str(tmp_path / "pipeline.yaml")
    kubeflow_runner.compile_pipeline(path, profile=load_profile(profile_name), image="y8m:1", **PATTERNS)
    platform = json_format.MessageToDict(kfp_client._extract_pipeline_yaml(path).platform_spec)
    for label, config in platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"].items():
        for field in platform_field_paths(config):
            assert field in FIRST_BACKEND_PARSING, f"{label}: which KFP backends parse `{field}`?"
            oldest = OLDEST_BACKEND_WITH_TOLERATIONS if field.startswith("tolerations") else OLDEST_SUPPORTED_BACKEND
            assert FIRST_BACKEND_PARSING[field] <= oldest, (label, field)


@pytest.mark.parametrize("kubeflow, message", [
    ({"resources": {"Trainer": {"cpu": 1}}}, r"kubeflow.resources: unknown keys \['Trainer'\]"),
    ({"resources": {"default": {"cpu": -1}}}, "non-negative"),
    ({"resources": {"default": {"disk": 1}}}, r"unknown keys \['disk'\]"),
    ({"resources": {"L1Trainer": {"gpu": 0.5}}}, "whole number"),
    ({"data_volume": {"claim": "x"}}, "mount_path"),
    ({"node_selector": {"pool": 3}}, "string values"),
    ({"tolerations": [{"key": "gpu", "effects": "NoSchedule"}]}, r"tolerations\[0\]: unknown keys"),
    ({"gpus": 1}, "unknown keys"),
])
def test_bad_kubeflow_settings_are_named_when_the_profile_loads(kubeflow, message):
    with pytest.raises(UserError, match=message):
        parse_profile({**_raw("quick"), "kubeflow": kubeflow}, "bad", "bad.yaml")


@pytest.mark.parametrize("profile_name, frame_patterns", [("full", None), ("frames", ["/data/frames/*.tfrecord"])])
def test_every_component_type_can_be_given_resources(profile_name, frame_patterns):
    """The profile's resource keys are checked against COMPONENT_TYPES: it must name every
    component type of the graph."""
    graph = create_pipeline(pipeline_name="p", pipeline_root="/root", profile=load_profile(profile_name),
                            labelled_patterns=["/data/train*"], test_patterns=["/data/test*"], input_fingerprint="",
                            serving_model_dir="/serving", beam_pipeline_args=[], frame_patterns=frame_patterns)
    assert {component_type(component.id) for component in graph.components} <= set(COMPONENT_TYPES)


def test_json_packages_and_incomplete_runners_are_refused(tmp_path):
    profile = load_profile("quick")
    with pytest.raises(UserError, match="yaml"):
        kubeflow_runner.compile_pipeline(str(tmp_path / "p.json"), profile=profile, image="y8m:1", **PATTERNS)
    with pytest.raises(UserError, match="--project"):
        kubeflow_runner.compile_pipeline(str(tmp_path / "p.yaml"), profile=profile, image="y8m:1",
                                         beam_runner="dataflow", **PATTERNS)


def test_dataflow_workers_run_the_project_image(tmp_path):
    path = str(tmp_path / "p.yaml")
    kubeflow_runner.compile_pipeline(
        path, profile=load_profile("quick"), image="y8m:7", beam_runner="dataflow",
        extra_beam_args=["--project=p", "--region=r", "--temp_location=gs://b/tmp"],
        labelled_patterns=["gs://b/train*.tfrecord"], test_patterns=["gs://b/test*.tfrecord"],
        serving_model_dir="gs://b/serving")
    package = read_package(path)
    assert "--sdk_container_image=y8m:7" in executor(package, "SoftLabelIndexer")["container"]["args"]


@pytest.fixture(scope="module")
def uncached_package(tmp_path_factory):
    """`y8m compile --no-cache`, with the in-pod Beam runner."""
    path = str(tmp_path_factory.mktemp("kfp") / "pipeline.yaml")
    summary = kubeflow_runner.compile_pipeline(path, profile=load_profile("quick"), image="y8m:1",
                                               enable_cache=False, **PATTERNS)
    return summary, path


def test_no_cache_turns_caching_off_for_every_task(full_package, uncached_package):
    summary, path = uncached_package
    assert summary["caching"] is False
    for name, task in read_package(path)["root"]["dag"]["tasks"].items():
        assert not task.get("cachingOptions", {}).get("enableCache", False), name
    for name, task in full_package[2]["root"]["dag"]["tasks"].items():  # compiled without --no-cache
        assert task.get("cachingOptions", {}).get("enableCache", False) is (name != FINGERPRINT_TASK), name


def test_remote_beam_workers_need_a_pipeline_root_they_can_read(full_package):
    """Blocker: Flink or Dataflow workers would read and write the launcher's copies of
    minio:// artifacts (`/minio/...`), which exist only inside the task's pod."""
    _, summary, _ = full_package  # --beam-runner portable
    spec, _ = kubeflow_runner.read_package(summary["package"])
    for root in ("minio://mlpipeline/y8m", "s3://bucket/y8m"):
        with pytest.raises(UserError, match=f"--pipeline-root {root}: the package runs its Beam steps on "
                                            "PortableRunner, .* give a gs:// pipeline root"):
            kubeflow_runner.check_pipeline_root(spec, root)
    kubeflow_runner.check_pipeline_root(spec, "gs://bucket/y8m")


def test_dataflow_workers_need_inputs_they_can_read(tmp_path):
    with pytest.raises(UserError, match="Dataflow workers read the input files themselves .*/data/train"):
        kubeflow_runner.compile_pipeline(
            str(tmp_path / "p.yaml"), profile=load_profile("quick"), image="y8m:7", beam_runner="dataflow",
            extra_beam_args=["--project=p", "--region=r", "--temp_location=gs://b/tmp"], **PATTERNS)
    assert not (tmp_path / "p.yaml").exists()


def test_the_evaluator_outputs_what_the_kfp_ui_renders(full_package):
    """The KFP UI shows artifacts of ML Metadata types `system.HTML`, `system.Markdown` and
    `system.Metrics` that have a `display_name` (frontend `MetricsVisualizations.tsx`);
    the launcher records the type from the title of the output's schema and the display
    name from the output's metadata, which the driver copies from the package."""
    _, _, package = full_package
    component = package["components"][package["root"]["dag"]["tasks"]["GapEvaluator"]["componentRef"]["name"]]
    outputs = component["outputDefinitions"]["artifacts"]
    titles = {key: yaml.safe_load(spec["artifactType"]["instanceSchema"])["title"] for key, spec in outputs.items()}
    assert titles == {"metrics": "y8m_types.StageMetrics", "blessing": "tfx.ModelBlessing",
                      "report": "system.HTML", "summary": "system.Markdown", "scalars": "system.Metrics"}
    assert {key: outputs[key]["metadata"]["display_name"] for key in ("report", "summary", "scalars")} == \
        DISPLAY_NAMES


def _raw(profile_name: str) -> dict:
    with open(os.path.join(PROFILE_DIR, profile_name + ".yaml")) as source:
        return yaml.safe_load(source)


def test_frame_level_input_compiles_to_a_parameter_of_the_beam_job(tmp_path):
    """No importer: open-source KFP refuses a plain-path importer URI from 2.3 on, and with
    an object-store URI each consuming task would download the frame-level set."""
    path = str(tmp_path / "p.yaml")
    summary = kubeflow_runner.compile_pipeline(
        path, profile=load_profile("frames"), image="y8m:1",
        frame_patterns=["/data/frames/train*.tfrecord", "/data/frames/test*.tfrecord"], **PATTERNS)
    package = read_package(path)
    assert {"FrameFeatures", trainer_id("temporal_combinations", 0)} <= set(summary["tasks"])
    assert all(set(executor) == {"container"} for executor in package["deploymentSpec"]["executors"].values())
    frame_task = package["root"]["dag"]["tasks"]["FrameFeatures"]
    assert frame_task["inputs"]["parameters"]["frame_patterns"] == {"componentInputParameter": "frame_patterns"}
    patterns = package["root"]["inputDefinitions"]["parameters"]["frame_patterns"]["defaultValue"]
    assert json.loads(patterns) == ["/data/frames/train*.tfrecord", "/data/frames/test*.tfrecord"]
    assert frame_task["inputs"]["parameters"]["input_fingerprint"] == {
        "taskOutputParameter": {"producerTask": FINGERPRINT_TASK, "outputParameterKey": "frame_fingerprint"}}
    assert set(frame_task["inputs"]["artifacts"]) == {"split_examples"}
    trainer_inputs = package["root"]["dag"]["tasks"][trainer_id("temporal_combinations", 0)]["inputs"]["artifacts"]
    assert trainer_inputs["frame_features"]["taskOutputArtifact"]["producerTask"] == "FrameFeatures"


@pytest.mark.parametrize("profile_name", ["quick", "full"])
def test_the_run_form_has_the_inputs_and_settings_with_their_compiled_values(tmp_path, profile_name):
    path = str(tmp_path / "pipeline.yaml")
    summary = kubeflow_runner.compile_pipeline(path, profile=load_profile(profile_name), image="y8m:1", **PATTERNS)
    package = read_package(path)
    parameters = package["root"]["inputDefinitions"]["parameters"]
    assert parameters == {
        "labelled_patterns": {"parameterType": "STRING", "defaultValue": '["/data/train*.tfrecord"]', "isOptional": True},
        "test_patterns": {"parameterType": "STRING", "defaultValue": '["/data/test*.tfrecord"]', "isOptional": True},
        "serving_model_dir": {"parameterType": "STRING", "defaultValue": "/data/serving_model", "isOptional": True},
        "min_gap_ratio": {"parameterType": "NUMBER_DOUBLE", "isOptional": True,
                          "defaultValue": load_profile(profile_name).min_gap_ratio}}
    assert set(parameters) <= set(RUN_PARAMETERS) and summary["run_parameters"] == {
        name: spec["defaultValue"] for name, spec in parameters.items()}
    tasks = package["root"]["dag"]["tasks"]
    for task, name in [("VideoExampleGen", "labelled_patterns"), (FINGERPRINT_TASK, "test_patterns"),
                       ("Pusher", "serving_model_dir"), ("GapEvaluator", "min_gap_ratio")]:
        assert tasks[task]["inputs"]["parameters"][name] == {"componentInputParameter": name}, (task, name)


def test_the_input_fingerprint_is_read_when_the_run_starts_and_never_cached(full_package):
    """VideoExampleGen's cache key holds what the never-cached first task read from the
    files (not a constant of the package), as a task output parameter whose producer is a
    task of the package (TFX names it `<task>_task`)."""
    _, _, package = full_package
    tasks = package["root"]["dag"]["tasks"]
    assert "cachingOptions" not in tasks[FINGERPRINT_TASK] or not tasks[FINGERPRINT_TASK]["cachingOptions"]
    assert tasks["VideoExampleGen"]["inputs"]["parameters"]["input_fingerprint"] == {
        "taskOutputParameter": {"producerTask": FINGERPRINT_TASK, "outputParameterKey": "video_fingerprint"}}
    assert tasks["VideoExampleGen"]["dependentTasks"] == [FINGERPRINT_TASK]
    assert not tasks["VideoExampleGen"]["inputs"].get("artifacts")  # no artifact id that changes every run
    for task in tasks.values():
        for parameter in task.get("inputs", {}).get("parameters", {}).values():
            if "taskOutputParameter" in parameter:
                assert parameter["taskOutputParameter"]["producerTask"] in tasks


def test_compile_states_the_oldest_backend_that_runs_the_package(full_package, tmp_path):
    _, summary, package = full_package
    requirements = kfp_backends.package_requirements(package)
    assert [need.version for need in requirements] == [(2, 0), (2, 3), (2, 4)]  # the full package is ~300 kB
    assert summary["minimum_kfp_version"] == "2.4"
    with open(summary["package"]) as source:
        assert "needs Kubeflow Pipelines 2.4 or later" in source.readline()
    raw = _raw("quick")
    raw["kubeflow"] = {"data_volume": {"claim": "y8m-data", "mount_path": "/data"},
                       "tolerations": [{"key": "pool", "operator": "Exists"}]}
    path = str(tmp_path / "p.yaml")
    small = kubeflow_runner.compile_pipeline(path, profile=parse_profile(raw, "p", "p.yaml"), image="y8m:1", **PATTERNS)
    assert small["minimum_kfp_version"] == "2.1" and "tolerations" in small["minimum_kfp_version_because"]
