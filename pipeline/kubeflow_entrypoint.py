"""The container command of every Kubeflow task: TFX's executor entrypoint, given the
executor input that open-source KFP's launcher writes, made into one TFX can run.

- Input types. The launcher passes every upstream artifact with an empty type
  (`instanceSchema: ""`: KFP's metadata client does not read an artifact's schema back,
  kubeflow/pipelines `backend/src/v2/metadata/client.go` `GetOutputArtifactsByExecutionId`),
  on which TFX fails to pick the artifact's class (tensorflow/tfx#7768). Each such input
  gets the type that the compiled package declares for it, in the
  `--json_serialized_inputs_spec_args` that TFX's compiler gives every executor.
- Launcher outputs. With PUBLISH_LOGS (on by default from KFP 2.5) the launcher adds an
  `executor-logs` output of KFP's own type `system.Artifact` and creates its file before
  the command starts. TFX has no class for KFP's `system.` types, and the launcher
  uploads that output from its own copy of the executor input, so TFX never sees it.
- Outputs for KFP's UI. The pipeline's own outputs of KFP types (`system.HTML`, ...;
  y8m_types.KFP_TYPES) reach TFX under their classes' import paths, which TFX's
  entrypoint imports; the launcher still records them under KFP's type, from its copy.
- Artifact URIs. A stock Kubeflow install keeps artifacts under `minio://` (or `s3://`)
  URIs, which TensorFlow's file system does not implement. The launcher downloads every
  input artifact to a local path before the command runs and uploads every output
  artifact's local path after it (`/minio/<bucket>/<key>`, `/s3/...`), so those URIs
  become the local paths, and the original URIs go back into the executor output.
  `gs://` URIs are left alone: TensorFlow reads and writes them directly.

    python -m pipeline.kubeflow_entrypoint --executor_class_path MODULE.Executor \
        --json_serialized_invocation_args '{{$}}' --json_serialized_inputs_spec_args SPEC [beam args]
"""
import argparse
import json
import os
import sys

import yaml

from common.errors import UserError

# Keras 2 through tf_keras, before TFX imports TensorFlow.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import y8m_types  # noqa: E402  (imports TFX, hence TensorFlow: after the line above)

# KFP's launcher mounts these schemes under /<prefix>/ (launcher `LocalPathForURI`).
LOCAL_PREFIX_BY_SCHEME = {"minio://": "minio", "s3://": "s3"}
# Where the launcher's local copies live; "/" in a pod, a temporary folder in tests.
LOCAL_ROOT_ENV = "Y8M_ARTIFACT_LOCAL_ROOT"
# The namespace of KFP's own artifact types (`system.Artifact`, `system.Model`, ...).
KFP_TYPE_NAMESPACE = "system."


def local_path_for_uri(uri: str, local_root: str) -> str | None:
    for scheme, prefix in LOCAL_PREFIX_BY_SCHEME.items():
        if uri.startswith(scheme):
            return os.path.join(local_root, prefix, uri[len(scheme):])
    return None


def _artifacts(section: dict):
    for artifact_list in (section.get("artifacts") or {}).values():
        yield from artifact_list.get("artifacts") or []


def type_title(artifact_type: dict) -> str:
    """An artifact type's title (`tfx.Examples`, `y8m_types.Predictions`, `system.Artifact`);
    "" for the empty type the launcher gives upstream artifacts."""
    if artifact_type.get("schemaTitle"):
        return artifact_type["schemaTitle"]
    schema = yaml.safe_load(artifact_type.get("instanceSchema") or "") or {}
    return schema.get("title", "") if isinstance(schema, dict) else ""


def restore_input_types(executor_input: dict, inputs_spec: dict | None) -> None:
    """Gives every untyped input artifact the type the package declares for its input."""
    declared = (inputs_spec or {}).get("artifacts") or {}
    for name, artifact_list in ((executor_input.get("inputs") or {}).get("artifacts") or {}).items():
        for artifact in artifact_list.get("artifacts") or []:
            if type_title(artifact.get("type") or {}):
                continue
            if name not in declared:
                raise UserError(f"input artifact '{name}' came without a type and the task's inputs spec "
                                "declares none: recompile the package with `y8m compile`")
            artifact["type"] = dict(declared[name]["artifactType"])


def type_outputs_for_tfx(executor_input: dict) -> None:
    """Gives the outputs of KFP types the pipeline declares (y8m_types.KFP_TYPES) their
    classes' import paths, and removes the other outputs of KFP's own types
    (`executor-logs`): the launcher fills and uploads those, and TFX has no class for them."""
    outputs = (executor_input.get("outputs") or {}).get("artifacts") or {}
    for name, artifact_list in list(outputs.items()):
        for artifact in artifact_list.get("artifacts") or []:
            title = type_title(artifact.get("type") or {})
            if title in y8m_types.KFP_TYPES:
                artifact["type"] = {"schemaTitle": y8m_types.KFP_TYPES[title]}
            elif title.startswith(KFP_TYPE_NAMESPACE):
                del outputs[name]
                break


# TFX's value artifacts (a String output, InputFingerprint's) are a file at their URI.
TFX_VALUE_TYPES = {"tfx.String", "tfx.Integer", "tfx.Float", "tfx.Boolean"}


def is_file_output(artifact: dict) -> bool:
    """Whether an output's URI is a file (HTML, Markdown, a TFX value), not a folder."""
    return type_title(artifact.get("type") or {}) in TFX_VALUE_TYPES | {
        y8m_types.KFP_TYPES[title] for title in y8m_types.KFP_FILE_TYPES}


def localize(executor_input: dict, local_root: str) -> dict[str, str]:
    """Rewrites object-store URIs to local paths in place; returns local path → URI."""
    originals = {}
    for section, is_output in ((executor_input.get("inputs") or {}, False),
                               (executor_input.get("outputs") or {}, True)):
        for artifact in _artifacts(section):
            local = local_path_for_uri(artifact.get("uri", ""), local_root)
            if local is None:
                continue
            originals[local] = artifact["uri"]
            artifact["uri"] = local
            if is_output:
                os.makedirs(os.path.dirname(local) if is_file_output(artifact) else local, exist_ok=True)
    return originals


def restore_uris(output_file: str, originals: dict[str, str]) -> None:
    """Puts the object-store URIs back into the executor output that KFP reads."""
    if not originals or not os.path.exists(output_file):
        return
    with open(output_file) as source:
        executor_output = json.load(source)
    for artifact in _artifacts(executor_output):
        artifact["uri"] = originals.get(artifact.get("uri"), artifact.get("uri"))
    with open(output_file, "w") as out:
        json.dump(executor_output, out)


def tfx_executor_input(executor_input: dict, inputs_spec: dict | None, local_root: str) -> dict[str, str]:
    """The launcher's executor input made into TFX's, in place; returns local path → URI."""
    restore_input_types(executor_input, inputs_spec)
    type_outputs_for_tfx(executor_input)
    return localize(executor_input, local_root)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--executor_class_path", required=True)
    parser.add_argument("--json_serialized_invocation_args", required=True)
    parser.add_argument("--json_serialized_inputs_spec_args", default=None)
    args, beam_args = parser.parse_known_args(argv)
    executor_input = json.loads(args.json_serialized_invocation_args)
    inputs_spec = json.loads(args.json_serialized_inputs_spec_args) if args.json_serialized_inputs_spec_args else None
    originals = tfx_executor_input(executor_input, inputs_spec, os.environ.get(LOCAL_ROOT_ENV, "/"))
    args.json_serialized_invocation_args = json.dumps(executor_input)

    from absl import flags
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor
    flags.FLAGS.mark_as_parsed()  # no absl flags here: the arguments were parsed above
    kubeflow_v2_run_executor.main((args, beam_args))
    restore_uris(executor_input["outputs"]["outputFile"], originals)


if __name__ == "__main__":
    main(sys.argv[1:])
