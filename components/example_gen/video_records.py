"""VideoExampleGen's work: validated reading of the input files as a Beam source, the
one-record-per-video check, and the `labelled` and `test` splits written."""
import json
import logging
from typing import NamedTuple

import apache_beam as beam

from components import artifact_properties
from common.input_files import expand_patterns
from schemas import splits, video_level
from common.errors import InvalidInputError, UserError, unwrapped_input_errors

log = logging.getLogger("y8m.example_gen")


class Video(NamedTuple):
    """One validated record and where it was read."""
    video_id: str
    path: str
    index: int  # record index in its file
    label_count: int
    serialized: bytes
    magnitude: float  # the largest absolute feature value


class Location(NamedTuple):
    role: str  # which input the file was given as: "labelled", "test", "data"
    path: str
    index: int

    def __str__(self):
        return f"{self.path}: record {self.index}"


def validated_records(path: str, num_classes: int):
    """Yields a Video for every record of a file, validating each."""
    empty = True
    for index, (record, serialized) in enumerate(video_level.read_validated(path, num_classes)):
        empty = False
        yield Video(record.video_id, path, index, record.labels.size, serialized, record.magnitude)
    if empty:
        raise InvalidInputError(f"{path}: holds no records")


@beam.ptransform_fn
def ReadValidatedVideos(pipeline, files: list[str], num_classes: int):  # pylint: disable=invalid-name
    """Files → Video, every record validated (one file per work item)."""
    return (pipeline
            | "Files" >> beam.Create(files)
            | "Reshuffle" >> beam.Reshuffle()
            | "Read" >> beam.FlatMap(validated_records, num_classes))


class FirstLocations(beam.CombineFn):
    """Locations (of one video id, say) → (how many, the first two in (role, path, index)
    order); a location may come as a tuple that starts with it."""

    def create_accumulator(self):
        return 0, []

    def add_input(self, accumulator, location: Location):
        count, first = accumulator
        return count + 1, sorted(first + [location])[:2]

    def merge_accumulators(self, accumulators):
        count, first = 0, []
        for part_count, part_first in accumulators:
            count += part_count
            first = sorted(first + part_first)[:2]
        return count, first

    def extract_output(self, accumulator):
        return accumulator


def fail_on_duplicate_id(video_id: str, occurrences) -> None:
    count, first = occurrences
    if count == 1:
        return
    one, other = first
    if one.role != other.role:
        raise InvalidInputError(
            f"video id '{video_id}' is given both as {one.role} data ({one}) and as {other.role} data "
            f"({other}); a test video must never be trained on: remove it from one of them")
    times = "twice" if count == 2 else f"{count} times"
    raise InvalidInputError(f"video id '{video_id}' occurs {times} in the {one.role} files ({one} and {other}); "
                            "every video must occur once")


@beam.ptransform_fn
def CheckUniqueIds(videos_by_role: dict):  # pylint: disable=invalid-name
    """Fails the job, naming both records, when a video id occurs twice across the
    collections of Video (keyed by the role their files were given in)."""
    located = [videos | f"Locate{role}" >> beam.Map(
        lambda video, role: (video.video_id, Location(role, video.path, video.index)), role)
        for role, videos in videos_by_role.items()]
    return (located
            | "AllIds" >> beam.Flatten()
            | "FirstLocations" >> beam.CombinePerKey(FirstLocations())
            | "NoDuplicates" >> beam.MapTuple(fail_on_duplicate_id))


def check_magnitudes(beyond, records: int, max_bad_fraction: float) -> None:
    """Fails the job when more than `max_bad_fraction` of the `records` hold feature values
    beyond MAX_FEATURE_MAGNITUDE; warns of fewer. `beyond`: FirstLocations of
    (Location, magnitude) of those records."""
    count, first = beyond
    if not count:
        return
    location, magnitude = first[0]
    message = (f"{count} of {records} video-level records hold feature values beyond "
               f"±{video_level.MAX_FEATURE_MAGNITUDE:g}, where the 2018 features (dequantized bytes) lie within "
               f"[-2, 2]; first: {location} (largest |value| {magnitude:.3g}): were the features scaled, or "
               "written in another format?")
    if count > max_bad_fraction * records:
        raise InvalidInputError(f"{message} (more than max_bad_fraction {max_bad_fraction})")
    log.warning("%s (within max_bad_fraction %s)", message, max_bad_fraction)


@beam.ptransform_fn
def CheckFeatureMagnitudes(videos_by_role: dict, max_bad_fraction: float):  # pylint: disable=invalid-name
    """Counts the records of every collection of Video whose features lie far outside the
    format's range (check_magnitudes)."""
    located = [videos | f"Magnitude{role}" >> beam.Map(
        lambda video, role: (Location(role, video.path, video.index), video.magnitude), role)
        for role, videos in videos_by_role.items()]
    magnitudes = located | "AllMagnitudes" >> beam.Flatten()
    beyond = (magnitudes
              | "Beyond" >> beam.Filter(lambda item: item[1] > video_level.MAX_FEATURE_MAGNITUDE)
              | "FirstBeyond" >> beam.CombineGlobally(FirstLocations()))
    records = beam.pvalue.AsSingleton(magnitudes | "CountRecords" >> beam.combiners.Count.Globally())
    return beyond | "CheckMagnitudes" >> beam.Map(check_magnitudes, records, max_bad_fraction)


def warn_of_unlabelled(count: int) -> None:
    if count:
        log.warning("labelled videos without any label: %d (they train as negatives of every class)", count)


@beam.ptransform_fn
def CountUnlabelled(videos):  # pylint: disable=invalid-name
    """Logs how many labelled videos carry no label (the data set should have none)."""
    return (videos
            | "Unlabelled" >> beam.Filter(lambda video: video.label_count == 0)
            | "Count" >> beam.combiners.Count.Globally()
            | "Warn" >> beam.Map(warn_of_unlabelled))


def import_videos(examples, labelled_patterns: str, test_patterns: str, num_classes: int,
                  max_bad_fraction: float, beam_pipeline: beam.Pipeline) -> None:
    """VideoExampleGen's work: `*_patterns` are JSON lists of globs; `max_bad_fraction`: the
    job fails when more records than this hold absurd feature values."""
    if not 0.0 <= max_bad_fraction < 1.0:
        raise UserError(f"max_bad_fraction must lie in [0, 1), got {max_bad_fraction}")
    files = {
        splits.LABELLED: expand_patterns(json.loads(labelled_patterns), "labelled"),
        splits.TEST: expand_patterns(json.loads(test_patterns), "test"),
    }
    overlap = set(files[splits.LABELLED]) & set(files[splits.TEST])
    if overlap:
        raise InvalidInputError(f"{sorted(overlap)[0]} is given both as labelled and as test data")
    with unwrapped_input_errors(), beam_pipeline as pipeline:
        videos = {}
        for split, split_files in files.items():
            videos[split] = pipeline | f"Read{split}" >> ReadValidatedVideos(split_files, num_classes)
            _ = (videos[split]
                 | f"Serialized{split}" >> beam.Map(lambda video: video.serialized)
                 | f"Write{split}" >> beam.io.WriteToTFRecord(
                     splits.split_prefix(examples, split), file_name_suffix=splits.TFRECORD_SUFFIX))
        _ = videos | "UniqueIds" >> CheckUniqueIds()
        _ = videos | "FeatureMagnitudes" >> CheckFeatureMagnitudes(max_bad_fraction)
        _ = videos[splits.LABELLED] | "CountUnlabelled" >> CountUnlabelled()
    artifact_properties.set_split_names(examples, list(files))
    examples.set_string_custom_property(artifact_properties.PAYLOAD_FORMAT, "FORMAT_TF_EXAMPLE")
    examples.set_string_custom_property(artifact_properties.FILE_FORMAT, splits.FILE_FORMAT)
