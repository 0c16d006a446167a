"""Which Kubeflow Pipelines backends can run a compiled package, and which one a server is.

A package needs the newest of these (sources: kubeflow/pipelines at each release tag):
- 2.1 when a task has tolerations: KFP 2.0's kfp-kubernetes proto has none, and its
  driver parses the platform spec strictly (`kubernetes_platform/proto/`).
- 2.3 when the component and executor specs exceed Kubernetes' 256 KiB annotation limit:
  KFP 2.0–2.2 store each of them as an annotation of the Argo Workflow
  (`backend/src/v2/compiler/argocompiler/argo.go` `saveProtoToAnnotation`), so creating
  the run fails (kubeflow/pipelines#10968, fixed in 2.3 by #10979).
- 2.4 when a task requests CPU, memory or GPUs: TFX writes the `resource_*` fields, which
  KFP 2.0–2.3's driver does not read (`backend/src/v2/driver/driver.go`: 2.3 reads
  `GetCpuLimit()` only, 2.4 on `GetResourceCpuLimit()` first), so the tasks would run
  without their requests.
"""
import dataclasses
import json
import re
import urllib.error
import urllib.request

from common.errors import UserError

OLDEST = (2, 0)
FIRST_WITH_TOLERATIONS = (2, 1)
FIRST_WITHOUT_SPEC_ANNOTATIONS = (2, 3)
FIRST_READING_RESOURCE_FIELDS = (2, 4)
ANNOTATIONS_LIMIT_BYTES = 256 * 1024  # Kubernetes: all annotations of an object together
# The prefixes of KFP 2.0–2.2's annotation keys (argo.go), one per component, executor and
# Kubernetes executor config.
ANNOTATION_PREFIXES = {"components": "pipelines.kubeflow.org/components-",
                       "executors": "pipelines.kubeflow.org/implementations-",
                       "kubernetes": "pipelines.kubeflow.org/kubernetes-"}
# The API server's version (`tag_name`, "unknown" on a build without one):
# `backend/src/apiserver/main.go`, every 2.x release.
HEALTHZ_PATH = "/apis/v2beta1/healthz"
HEALTHZ_TIMEOUT_SECONDS = 15
VERSION = re.compile(r"v?(\d+)\.(\d+)")


@dataclasses.dataclass(frozen=True)
class Requirement:
    version: tuple[int, int]
    reason: str

    @property
    def version_text(self) -> str:
        return "%d.%d" % self.version

    def __str__(self):
        return f"Kubeflow Pipelines {self.version_text} or later ({self.reason})"


def _compact_size(value) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode())


def spec_annotation_bytes(pipeline_spec: dict, platform_spec: dict | None) -> int:
    """What KFP 2.0–2.2 would store as Workflow annotations: every component spec (the
    root DAG's too: `argocompiler/dag.go`), every executor and every Kubernetes executor
    config, as compact JSON under its key."""
    kubernetes = ((platform_spec or {}).get("platforms", {}).get("kubernetes", {})
                  .get("deploymentSpec", {}).get("executors", {}))
    components = {**pipeline_spec.get("components", {}), "root": pipeline_spec.get("root", {})}
    parts = [(ANNOTATION_PREFIXES["components"], components),
             (ANNOTATION_PREFIXES["executors"], pipeline_spec.get("deploymentSpec", {}).get("executors", {})),
             (ANNOTATION_PREFIXES["kubernetes"], kubernetes)]
    return sum(len(prefix) + len(name) + _compact_size(spec) for prefix, specs in parts for name, spec in specs.items())


def package_requirements(pipeline_spec: dict, platform_spec: dict | None = None) -> list[Requirement]:
    """Every KFP version the package needs, and why; the oldest backend first."""
    needs = [Requirement(OLDEST, "the v2 engine")]
    kubernetes = ((platform_spec or {}).get("platforms", {}).get("kubernetes", {})
                  .get("deploymentSpec", {}).get("executors", {}))
    if any(config.get("tolerations") for config in kubernetes.values()):
        needs.append(Requirement(FIRST_WITH_TOLERATIONS, "KFP 2.0 does not know its tasks' tolerations"))
    annotation_bytes = spec_annotation_bytes(pipeline_spec, platform_spec)
    if annotation_bytes > ANNOTATIONS_LIMIT_BYTES:
        needs.append(Requirement(FIRST_WITHOUT_SPEC_ANNOTATIONS,
                                 f"KFP 2.0-2.2 store its task specs ({annotation_bytes // 1024} KiB) as workflow "
                                 "annotations, over Kubernetes' 256 KiB limit: kubeflow/pipelines#10968"))
    executors = pipeline_spec.get("deploymentSpec", {}).get("executors", {})
    if any((executor.get("container") or {}).get("resources") for executor in executors.values()):
        needs.append(Requirement(FIRST_READING_RESOURCE_FIELDS,
                                 "KFP 2.0-2.3 ignore its tasks' CPU, memory and GPU requests"))
    return sorted(needs, key=lambda need: need.version)


def package_requirement(pipeline_spec: dict, platform_spec: dict | None = None) -> Requirement:
    """The oldest KFP backend that runs the package as compiled, and why."""
    return package_requirements(pipeline_spec, platform_spec)[-1]


def server_version(host: str) -> tuple[int, int]:
    """The (major, minor) version a KFP API server reports on its healthz endpoint."""
    url = host.rstrip("/") + HEALTHZ_PATH
    try:
        with urllib.request.urlopen(url, timeout=HEALTHZ_TIMEOUT_SECONDS) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        raise UserError(f"Kubeflow Pipelines at {host} answered {error.code} {error.reason} to {HEALTHZ_PATH}: "
                        "check --host") from None
    except (urllib.error.URLError, OSError) as error:
        raise UserError(f"cannot reach Kubeflow Pipelines at {host} ({getattr(error, 'reason', error)}): "
                        "check --host") from None
    try:
        tag = json.loads(body).get("tag_name", "")
    except (ValueError, AttributeError):
        tag = ""
    match = VERSION.match(str(tag))
    if not match:
        raise UserError(f"Kubeflow Pipelines at {host} does not say its version ({HEALTHZ_PATH} tag_name: "
                        f"{tag or 'none'!r}); if it is recent enough, submit with --skip-version-check")
    return int(match.group(1)), int(match.group(2))


def check_server(host: str, requirements: list[Requirement]) -> str:
    """Refuses a server older than the package needs, naming every reason; returns its version."""
    version = server_version(host)
    found = "%d.%d" % version
    unmet = [need for need in requirements if version < need.version]
    if unmet:
        raise UserError(f"Kubeflow Pipelines at {host} is {found}; the package needs {unmet[-1].version_text} or "
                        f"later: {'; '.join(need.reason for need in reversed(unmet))}")
    return found
