"""Validated reading of the input files as a Beam source."""
import apache_beam as beam

from schemas import video_level
from common.errors import InvalidInputError


def validated_records(path: str, num_classes: int):
    """Yields (video id, serialized record) for every record of a file, validating each."""
    empty = True
    for record, serialized in video_level.read_validated(path, num_classes):
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
