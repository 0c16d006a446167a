"""The `kubeflow` section of a profile, typed and checked when the profile loads:
per-component resources, the data volume, node selectors and tolerations
(pipeline/kubeflow_runner.py turns them into the package's resource and platform specs).
"""
import dataclasses
import re

from common.config_fields import check_mapping, require, scalar_fields
from common.errors import UserError

DEFAULT_KEY = "default"
# Resources are set per component type: the part of a task id before its first dash
# (`L1Trainer-mlp-fold-0` → `L1Trainer`). pipeline/kubeflow_runner_test.py checks this list
# against the graph.
COMPONENT_TYPES = ("InputFingerprint", "VideoExampleGen", "FoldSplitter", "FrameFeatures", "L1Trainer",
                   "L1Assembler", "PredictionMerger", "LGBMStacker", "SoftLabelIndexer", "StudentTransform",
                   "StudentTrainer", "Distiller", "GapEvaluator", "Pusher")
TOLERATION_KEYS = {"key", "operator", "value", "effect", "tolerationSeconds"}

# An image reference, by the OCI distribution grammar (distribution/reference):
# [registry[:port]/]path[:tag][@digest], path components lower-case.
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?")


def check_images(image: str, gpu_image: str | None = None) -> None:
    """UserError unless the images (`--image`, `--gpu-image`) are image references a cluster can pull."""
    for option, reference in (("--image", image), ("--gpu-image", gpu_image)):
        if reference is not None and IMAGE_REFERENCE.fullmatch(reference) is None:
            raise UserError(f"{option} {reference!r} is not an image reference: "
                            "[registry[:port]/]name[:tag][@digest], the name in lower-case letters and digits "
                            "with . _ - between them (no spaces)")


def component_type(component_id: str) -> str:
    """`L1Trainer-mlp-fold-0` → `L1Trainer`: resources are set per component type."""
    return component_id.split("-")[0]


@dataclasses.dataclass(frozen=True)
class Resources:
    cpu: float | None = None  # cores, requested and limited
    memory: float | None = None  # GB, requested and limited
    gpu: int = 0  # `nvidia.com/gpu`

    @classmethod
    def from_dict(cls, raw, where: str) -> "Resources":
        check_mapping(raw, {"cpu", "memory", "gpu"}, where)
        for key, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise UserError(f"{where}.{key} must be a non-negative number, got {value!r}")
        require(float(raw.get("gpu", 0)).is_integer(), where, f"gpu must be a whole number, got {raw.get('gpu')!r}")
        return cls(cpu=raw.get("cpu"), memory=raw.get("memory"), gpu=int(raw.get("gpu", 0)))


@dataclasses.dataclass(frozen=True)
class DataVolume:
    claim: str  # a PersistentVolumeClaim holding the input TFRecords
    mount_path: str

    @classmethod
    def from_dict(cls, raw, where: str) -> "DataVolume":
        values = scalar_fields(cls, raw, where)
        if set(values) != {"claim", "mount_path"}:
            raise UserError(f"{where}: needs exactly `claim` (a PVC name) and `mount_path`")
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class KubeflowSettings:
    resources: dict = dataclasses.field(default_factory=dict)  # component type or "default" → Resources
    data_volume: DataVolume | None = None
    node_selector: dict = dataclasses.field(default_factory=dict)
    tolerations: tuple = ()
    # Added for the tasks that request a GPU.
    gpu_node_selector: dict = dataclasses.field(default_factory=dict)
    gpu_tolerations: tuple = ()

    @classmethod
    def from_dict(cls, raw, where: str = "kubeflow") -> "KubeflowSettings":
        check_mapping(raw, {field.name for field in dataclasses.fields(cls)}, where)
        resources = {}
        for name, value in check_mapping(raw.get("resources") or {}, {DEFAULT_KEY, *COMPONENT_TYPES},
                                         f"{where}.resources").items():
            resources[name] = Resources.from_dict(value, f"{where}.resources.{name}")
        volume = raw.get("data_volume")
        return cls(resources=resources,
                   data_volume=None if volume is None else DataVolume.from_dict(volume, f"{where}.data_volume"),
                   node_selector=_labels(raw.get("node_selector"), f"{where}.node_selector"),
                   tolerations=_tolerations(raw.get("tolerations"), f"{where}.tolerations"),
                   gpu_node_selector=_labels(raw.get("gpu_node_selector"), f"{where}.gpu_node_selector"),
                   gpu_tolerations=_tolerations(raw.get("gpu_tolerations"), f"{where}.gpu_tolerations"))

    def resources_of(self, component_id: str) -> Resources:
        return self.resources.get(component_type(component_id), self.resources.get(DEFAULT_KEY, Resources()))


def _labels(raw, where: str) -> dict:
    labels = raw or {}
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise UserError(f"{where} must map label names to string values, got {raw!r}")
    return dict(labels)


def _tolerations(raw, where: str) -> tuple:
    entries = raw or []
    if not isinstance(entries, list):
        raise UserError(f"{where} must be a list of Kubernetes tolerations, got {raw!r}")
    for index, toleration in enumerate(entries):
        check_mapping(toleration, TOLERATION_KEYS, f"{where}[{index}]")
    return tuple(dict(toleration) for toleration in entries)
