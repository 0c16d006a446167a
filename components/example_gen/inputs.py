"""Input files: glob expansion, fingerprinting, and validated reading as a Beam source."""
import hashlib
import json

import apache_beam as beam
import tensorflow as tf

from schemas import video_level
from y8m.errors import InvalidInputError


def expand_patterns(patterns: list[str], role: str) -> list[str]:
    """Every file matched by the glob patterns, sorted; a pattern matching nothing is an error."""
    if not patterns:
        raise InvalidInputError(f"no {role} files given")
    files = []
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            raise InvalidInputError(f"{role} pattern '{pattern}' matches no file")
        files.extend(matched)
    return sorted(set(files))


def fingerprint(files: list[str]) -> str:
    """Names, sizes and modification times: what changes when the input data changes."""
    stats = [(path, tf.io.gfile.stat(path).length, tf.io.gfile.stat(path).mtime_nsec) for path in files]
    return hashlib.sha256(json.dumps(stats).encode()).hexdigest()


def validated_records(path: str, num_classes: int):
    """Yields (video id, serialized record) for every record of a file, validating each."""
    empty = True
    for index, serialized in video_level.read_records(path):
        try:
            record = video_level.parse_video_record(serialized, num_classes)
        except ValueError as error:
            raise InvalidInputError(f"{path}: record {index}: {error}") from None
        empty = False
        yield record.video_id, serialized
    if empty:
        raise InvalidInputError(f"{path}: holds no records")


def fail_on_duplicate_ids(id_counts):
    video_id, count = id_counts
    if count > 1:
        raise InvalidInputError(f"video id '{video_id}' occurs {count} times in the input files")
    return video_id


@beam.ptransform_fn
def ReadValidatedVideos(pipeline, files: list[str], num_classes: int):  # pylint: disable=invalid-name
    """Files → (video id, serialized Example), every record validated (one file per work item)."""
    return (pipeline
            | "Files" >> beam.Create(files)
            | "Reshuffle" >> beam.Reshuffle()
            | "Read" >> beam.FlatMap(validated_records, num_classes))
