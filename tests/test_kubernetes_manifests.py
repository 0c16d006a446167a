"""The manifests in kubernetes/, validated offline against the Kubernetes API schemas of
the official Python client: every object deserializes into its model (types and required
fields checked) and serializes back unchanged (so no field is misspelled or unknown).
Also: the namespace is set in one place, and the images name versions that exist."""
import json
import pathlib
import re
import shutil
import subprocess
import tomllib
import types

import apache_beam
import pytest
import yaml
from apache_beam.options.pipeline_options import FlinkRunnerOptions
from kubernetes import client

REPO = pathlib.Path(__file__).resolve().parent.parent
MANIFEST_DIR = REPO / "kubernetes"
# The kustomizations a user applies: the pipeline's objects, and the opt-in Beam on Flink.
KUSTOMIZATIONS = (MANIFEST_DIR, MANIFEST_DIR / "flink")
NAMESPACE_COMPONENT = MANIFEST_DIR / "namespace" / "kustomization.yaml"
MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("v1", "Service"): "V1Service",
    ("v1", "Pod"): "V1Pod",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
}
# The Flink Kubernetes operator's FlinkDeployment (a custom resource): its spec keys, and
# the pod template inside, which is checked as a Pod.
FLINK_SPEC_KEYS = {"image", "imagePullPolicy", "flinkVersion", "serviceAccount", "flinkConfiguration",
                   "jobManager", "taskManager", "podTemplate", "job", "logConfiguration", "mode"}
FLINK_COMPONENT_KEYS = {"resource", "replicas", "podTemplate"}


def manifest_documents() -> list[tuple[str, dict]]:
    documents = []
    for directory in KUSTOMIZATIONS:
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        for name in kustomization["resources"]:
            for document in yaml.safe_load_all((directory / name).read_text()):
                documents.append((str((directory / name).relative_to(MANIFEST_DIR)), document))
    return documents


def locked_beam_version() -> str:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return next(package["version"] for package in lock["package"] if package["name"] == "apache-beam")


def round_trip(document: dict, model: str) -> dict:
    api = client.ApiClient()
    parsed = api.deserialize(types.SimpleNamespace(data=json.dumps(document)), model)
    return api.sanitize_for_serialization(parsed)


def check_object(document: dict, where: str) -> None:
    model = MODELS.get((document["apiVersion"], document["kind"]))
    assert model, f"{where}: no schema for {document['apiVersion']} {document['kind']}"
    assert round_trip(document, model) == document, f"{where}: fields the API does not define, or wrong types"


def test_kustomizations_list_every_manifest():
    listed = [directory / name for directory in KUSTOMIZATIONS
              for name in yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]]
    on_disk = {path for path in MANIFEST_DIR.rglob("*.yaml") if path.name != "kustomization.yaml"}
    assert sorted(listed) == sorted(on_disk)


@pytest.mark.parametrize("name, document", manifest_documents(),
                         ids=lambda value: value if isinstance(value, str) else value["kind"])
def test_manifest_matches_the_kubernetes_schema(name, document):
    where = f"{name}: {document['kind']} {document['metadata']['name']}"
    if document["kind"] == "FlinkDeployment":
        spec = document["spec"]
        assert set(spec) <= FLINK_SPEC_KEYS, where
        for component in ("jobManager", "taskManager"):
            assert set(spec[component]) <= FLINK_COMPONENT_KEYS, where
        check_object(spec["taskManager"]["podTemplate"], where + " task manager pod")
        return
    check_object(document, where)
    # The namespace comes from namespace/kustomization.yaml alone.
    assert "namespace" not in document["metadata"], where


def test_a_misspelled_field_is_caught():
    pvc = yaml.safe_load((MANIFEST_DIR / "data-pvc.yaml").read_text())
    pvc["spec"]["accesModes"] = pvc["spec"].pop("accessModes")
    with pytest.raises(AssertionError, match="does not define"):
        check_object(pvc, "data-pvc.yaml")


def test_role_grants_nothing_cluster_wide_or_wildcard():
    for name, document in manifest_documents():
        assert document["kind"] not in {"ClusterRole", "ClusterRoleBinding"}, name
        for rule in document.get("rules", []):
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], name


KUBECTL = shutil.which("kubectl")


def render(directory: pathlib.Path) -> list[dict]:
    """The objects `kubectl apply -k` would apply (kubectl's built-in kustomize)."""
    built = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, check=True)
    return list(yaml.safe_load_all(built.stdout))


@pytest.mark.skipif(KUBECTL is None, reason="kubectl renders the kustomizations")
def test_the_namespace_is_set_in_one_place(tmp_path):
    """Standalone KFP runs the pods in `kubeflow`; a multi-user Kubeflow in the profile's
    namespace. Changing namespace/kustomization.yaml moves every object, and the role
    binding's subject with them."""
    copy = tmp_path / "kubernetes"
    shutil.copytree(MANIFEST_DIR, copy)
    component = copy / "namespace" / "kustomization.yaml"
    component.write_text(component.read_text().replace("namespace: kubeflow", "namespace: team-a"))
    for directory, expected in [(MANIFEST_DIR, "kubeflow"), (copy, "team-a"), (copy / "flink", "team-a")]:
        objects = render(directory)
        assert objects and all(o["metadata"]["namespace"] == expected for o in objects), directory
        for binding in (o for o in objects if o["kind"] == "RoleBinding"):
            assert {s["namespace"] for s in binding["subjects"]} == {expected}
    assert {o["kind"] for o in render(MANIFEST_DIR)} == {"ServiceAccount", "Role", "RoleBinding",
                                                          "PersistentVolumeClaim"}  # no Flink by default


def test_flink_images_are_ones_beam_publishes_for_the_locked_version():
    """Beam publishes `apache/beam_flink<F>_job_server:<beam version>` for the Flink
    versions its SDK lists; the Flink cluster must run that Flink version."""
    beam = locked_beam_version()
    assert apache_beam.__version__ == beam  # the installed SDK is the lock file's
    documents = dict((document["kind"], document) for _, document in manifest_documents())
    job_server = documents["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
    flink = re.fullmatch(rf"apache/beam_flink(\d+\.\d+)_job_server:{re.escape(beam)}", job_server)
    assert flink, f"{job_server}: not a job server image of Beam {beam}"
    assert flink[1] in FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS, (flink[1], FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS)
    cluster = documents["FlinkDeployment"]["spec"]
    assert cluster["flinkVersion"] == "v" + flink[1].replace(".", "_")
    assert cluster["image"].split(":")[1].startswith(flink[1])
