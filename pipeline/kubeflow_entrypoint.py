"""The container command of every Kubeflow task: TFX's executor entrypoint, with
artifact URIs that TensorFlow's file system can open.

A stock Kubeflow install keeps artifacts under `minio://` (or `s3://`) URIs, which
TensorFlow's file system does not implement. KFP's launcher already downloads every
input artifact to a local path before the command runs and uploads every output
artifact's local path after it (`/minio/<bucket>/<key>`, `/s3/...`), so this wrapper
rewrites those URIs in the executor input to the local paths, runs the executor, and
writes the original URIs back into the executor output. `gs://` URIs are left alone:
TensorFlow reads and writes them directly.

    python -m pipeline.kubeflow_entrypoint --executor_class_path MODULE.Executor \
        --json_serialized_invocation_args '{{$}}' [--json_serialized_inputs_spec_args ...] [beam args]
"""
import argparse
import json
import os
import sys

# Keras 2 through tf_keras, before TFX imports TensorFlow.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# KFP's launcher mounts these schemes under /<prefix>/ (launcher `LocalPathForURI`).
LOCAL_PREFIX_BY_SCHEME = {"minio://": "minio", "s3://": "s3"}
# Where the launcher's local copies live; "/" in a pod, a temporary folder in tests.
LOCAL_ROOT_ENV = "Y8M_ARTIFACT_LOCAL_ROOT"


def local_path_for_uri(uri: str, local_root: str) -> str | None:
    for scheme, prefix in LOCAL_PREFIX_BY_SCHEME.items():
        if uri.startswith(scheme):
            return os.path.join(local_root, prefix, uri[len(scheme):])
    return None


def _artifacts(section: dict):
    for artifact_list in (section.get("artifacts") or {}).values():
        yield from artifact_list.get("artifacts") or []


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
                os.makedirs(local, exist_ok=True)
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


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--executor_class_path", required=True)
    parser.add_argument("--json_serialized_invocation_args", required=True)
    parser.add_argument("--json_serialized_inputs_spec_args", default=None)
    args, beam_args = parser.parse_known_args(argv)
    executor_input = json.loads(args.json_serialized_invocation_args)
    originals = localize(executor_input, os.environ.get(LOCAL_ROOT_ENV, "/"))
    args.json_serialized_invocation_args = json.dumps(executor_input)

    from absl import flags
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor
    flags.FLAGS.mark_as_parsed()  # no absl flags here: the arguments were parsed above
    kubeflow_v2_run_executor.main((args, beam_args))
    restore_uris(executor_input["outputs"]["outputFile"], originals)


if __name__ == "__main__":
    main(sys.argv[1:])
