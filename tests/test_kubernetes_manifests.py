"""The manifests in kubernetes/, validated offline against the Kubernetes API schemas of
the official Python client: every object deserializes into its model (types and required
fields checked) and serializes back unchanged (so no field is misspelled or unknown)."""
import json
import pathlib
import types

import pytest
import yaml
from kubernetes import client

MANIFEST_DIR = pathlib.Path(__file__).resolve().parent.parent / "kubernetes"
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
    kustomization = yaml.safe_load((MANIFEST_DIR / "kustomization.yaml").read_text())
    documents = []
    for name in kustomization["resources"]:
        for document in yaml.safe_load_all((MANIFEST_DIR / name).read_text()):
            documents.append((name, document))
    return documents


def round_trip(document: dict, model: str) -> dict:
    api = client.ApiClient()
    parsed = api.deserialize(types.SimpleNamespace(data=json.dumps(document)), model)
    return api.sanitize_for_serialization(parsed)


def check_object(document: dict, where: str) -> None:
    model = MODELS.get((document["apiVersion"], document["kind"]))
    assert model, f"{where}: no schema for {document['apiVersion']} {document['kind']}"
    assert round_trip(document, model) == document, f"{where}: fields the API does not define, or wrong types"


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((MANIFEST_DIR / "kustomization.yaml").read_text())
    on_disk = {path.name for path in MANIFEST_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


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
    assert document["metadata"].get("namespace", "y8m") == "y8m", where


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
