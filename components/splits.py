"""Split layout shared by every artifact of the pipeline: `<uri>/Split-<name>/part-*.gz`.

Standard `Examples` keep their split names in a property; the custom types (which may
not declare properties under Kubeflow V2) keep them in the custom property below.
"""
import json
import os

import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts

from schemas import predictions

SPLIT_NAMES = "split_names"
TFRECORD_SUFFIX = ".tfrecord.gz"


def split_dir(artifact, split: str) -> str:
    return os.path.join(artifact.uri, f"Split-{split}")


def split_files_pattern(artifact, split: str) -> str:
    return os.path.join(split_dir(artifact, split), "*" + TFRECORD_SUFFIX)


def split_prefix(artifact, split: str) -> str:
    """The Beam `WriteToTFRecord` prefix of a split."""
    return os.path.join(split_dir(artifact, split), "part")


def set_split_names(artifact, names: list[str]) -> None:
    if isinstance(artifact, standard_artifacts.Examples):
        artifact.split_names = artifact_utils.encode_split_names(list(names))
    else:
        artifact.set_string_custom_property(SPLIT_NAMES, json.dumps(list(names)))


def split_names(artifact) -> list[str]:
    if isinstance(artifact, standard_artifacts.Examples):
        return artifact_utils.decode_split_names(artifact.split_names)
    return json.loads(artifact.get_string_custom_property(SPLIT_NAMES) or "[]")


def write_split_records(artifact, split: str, records) -> None:
    """Writes serialized records as one gzipped TFRecord file of the split."""
    os.makedirs(split_dir(artifact, split), exist_ok=True)
    path = split_prefix(artifact, split) + "-00000-of-00001" + TFRECORD_SUFFIX
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for record in records:
            writer.write(record)


def write_dense_predictions(artifact, split: str, ids: list[str], scores) -> None:
    """One dense prediction row (schemas/predictions.py) per video id."""
    write_split_records(artifact, split, (predictions.encode_prediction(video_id, row)
                                          for video_id, row in zip(ids, scores)))
