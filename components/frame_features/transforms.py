"""FrameFeatures' Beam logic: frame-level records → per-video features, routed to folds.

Per record: parse and validate the SequenceExample, dequantize with the official formula,
aggregate over all of its frames (per-dimension mean, standard deviation, maximum), keep
the first `max_frames` frames (quantized, as stored; trainers pad and mask), and write
the aggregates into the record's context (schemas/frame_level.py).

Routing joins by video id, never by position, and never shuffles frames. Pass 1 reads
every frame file for its video ids only, from each record's context (the frames, nearly
all of the bytes, are skipped, unread in an uncompressed file; pass 2 checks them and the
record's checksum): (video id, file, record index) per record. A Beam join on
ids with FoldSplitter's examples (video id → split, file, record index) gives each frame
file its routing table (record index → video id and its video-level record), bounded by
the records of that file; no worker holds a table of every video. Pass 2 reads each
frame file again with its table, validates each routed record in full (the only full
parse) and makes its frame-feature record, for its video's split (a record whose id
differs from pass 1's fails the job: the file changed). A video without a frame record
(found by the join) or whose record is malformed (found in pass 2) gets a stand-in read
from its video-level file by index. Policy for records that cannot be used:

- a corrupt or malformed record, or one whose video has no video-level record (an
  orphan; validated too, so that a malformed one says what is wrong), is counted as
  bad, with its file and record index;
- a labelled or test video without a usable frame record gets a stand-in: its
  video-level means as one quantized frame, flagged `frames_stand_in`, so that every
  frame-level model still predicts every video (PredictionMerger requires it); these
  are counted as missing;
- the job fails when bad records exceed `max_bad_fraction` of the frame records read,
  or missing videos that fraction of all videos; a video id with two frame records
  (valid or not) fails it at once; below the threshold, the counts are logged as a warning.
"""
import collections
import json
import logging
import os
import uuid
from typing import NamedTuple


import apache_beam as beam
import numpy as np
import tensorflow as tf

from components import artifact_properties
from schemas import frame_level, splits, video_level
from common.errors import InvalidInputError, UserError, unwrapped_input_errors
from common.input_files import expand_patterns

log = logging.getLogger("y8m.frame_features")

PAYLOAD_FORMAT = "FORMAT_TF_SEQUENCE_EXAMPLE"
REPORT_FILE = "report.json"
# Not a `y8m` logger: the report goes to the command's log file, not to the terminal.
report_log = logging.getLogger(__name__)

BAD = "bad"
MISSING = "missing"
TEMPORARY_PREFIX = ".writing-"
# Reasons kept in the report, per job: enough to see what is wrong without a huge file.
REPORTED_REASONS = 20


class BadRecord(NamedTuple):
    path: str
    index: int  # record index in its file
    reason: str


class RecordAt(NamedTuple):
    """Where a record lies: its file and its index there."""
    path: str
    index: int

    def __str__(self):
        return f"{self.path}: record {self.index}"


class VideoAt(NamedTuple):
    """A video-level record's split and place in FoldSplitter's files."""
    split: str
    path: str
    index: int


def frame_feature_record(serialized: bytes, num_classes: int, max_frames: int) -> tuple[str, bytes]:
    """(video id, frame-feature record) of one frame-level record; ValueError if it is malformed."""
    record, sequence = frame_level.parse_frame_proto(serialized, num_classes)
    return record.video_id, aggregated_record(serialized, record, sequence, max_frames)


def aggregated_record(serialized: bytes, record, sequence, max_frames: int) -> bytes:
    """The frame-feature record of a parsed frame-level record."""
    return frame_level.with_aggregates(serialized, sequence, frame_level.aggregate(record), max_frames)


def frame_ids(path: str):
    """Pass 1 over a frame-level file: (video id, RecordAt) per record whose id can be read
    (from its context alone, the frames skipped unread: they, and the record's checksum,
    are checked in pass 2); BadRecord (tag BAD) per corrupt record or one without an id."""
    for item in video_level.scan_record_heads(path):
        if isinstance(item, video_level.Damage):  # the rest of the file is lost
            yield bad_record(path, *item)
            return
        index, record = item
        try:
            video_id = frame_level.read_video_id_from(record.read)
        except ValueError as error:
            damage = record.damage()  # a corrupt record: as in a full read, the rest of the file is lost
            if damage:
                yield bad_record(path, *damage)
                return
            yield bad_record(path, index, str(error))
            continue
        yield video_id, RecordAt(path, index)


def bad_record(path: str, index: int, reason: str):
    return beam.pvalue.TaggedOutput(BAD, BadRecord(path, index, reason))


def video_places(split_and_path: tuple[str, str]):
    """(video id, VideoAt) of every record of one of FoldSplitter's files."""
    split, path = split_and_path
    for index, serialized in video_level.read_records(path):
        yield video_level.video_id_of(serialized), VideoAt(split, path, index)


class Route(NamedTuple):
    """A frame record's entry in its file's routing table: its video's video-level record,
    or None for an orphan (pass 2 validates it, to report what is wrong with it)."""
    index: int
    video_id: str
    video: VideoAt | None


def missing_video(video: VideoAt):
    """A video without a usable frame record, by its video-level file (tag MISSING)."""
    return beam.pvalue.TaggedOutput(MISSING, (video.path, (video.index, video.split)))


def join_video(joined):
    """One video id's video-level record and frame records → (frame file, Route) when it has
    a frame record (an orphan's Route has no video); the video under tag MISSING when it has
    none. A second frame record for the id fails the job, valid or not."""
    video_id, grouped = joined
    frames = sorted(grouped["frames"])
    if len(frames) > 1:
        times = "twice" if len(frames) == 2 else f"{len(frames)} times"
        raise InvalidInputError(f"video id '{video_id}' occurs {times} in the frame-level files "
                                f"({frames[0]} and {frames[1]}); every video must occur once")
    videos = list(grouped["videos"])  # at most one: VideoExampleGen fails on a repeated id
    if frames:
        yield frames[0].path, Route(frames[0].index, video_id, videos[0] if videos else None)
    else:
        yield missing_video(videos[0])


def scan_wanted(path: str, wanted):
    """(index, serialized record) of the records of `path` whose index is in `wanted`, then a
    Damage if the file stops being readable before the last of them; stops after the last.
    Fails when the file has fewer records than when it was first read."""
    last = max(wanted)
    for item in video_level.scan_records(path):
        if isinstance(item, video_level.Damage):
            yield item
            return
        if item[0] in wanted:
            yield item
        if item[0] == last:
            return
    raise changed_file(path, last, "gone")


def wanted_records(path: str, wanted):
    """scan_wanted's records; a damaged file fails the job."""
    for item in scan_wanted(path, wanted):
        if isinstance(item, video_level.Damage):
            raise video_level.damaged(path, item)
        yield item


def routed_records(path_and_routes, num_classes: int, max_frames: int):
    """Pass 2 over a frame-level file, with its routing table (Routes): validates each
    routed record in full; (split, frame-feature record) of each valid one that has a
    video. A malformed record or an orphan is a BadRecord (tag BAD); a malformed record's
    video is missing (tag MISSING), to get a stand-in. A corrupt record: lost_records."""
    path, routes = path_and_routes
    route_of = {route.index: route for route in routes}
    for item in scan_wanted(path, route_of):
        if isinstance(item, video_level.Damage):
            yield from lost_records(path, item, route_of.values())
            return
        index, serialized = item
        route = route_of[index]
        try:
            record, sequence = frame_level.parse_frame_proto(serialized, num_classes)
        except ValueError as error:
            yield bad_record(path, index, str(error))
            if route.video:
                yield missing_video(route.video)
            continue
        if record.video_id != route.video_id:  # pass 1 read another id here: the file changed
            raise changed_file(path, index, f"video {record.video_id}, not {route.video_id}")
        if route.video is None:
            yield bad_record(path, index, f"video {route.video_id} has no video-level record")
            continue
        yield route.video.split, aggregated_record(serialized, record, sequence, max_frames)


def lost_records(path: str, damage, routes):
    """Pass 2 meets a Damage that pass 1 did not (it skips each record's frames and data
    checksum): the counts of a full read in pass 1. The record is bad, and the videos of it
    and of the records after it, lost with the rest of the file, are missing. A record
    without a route was found bad, and counted, in pass 1."""
    if any(route.index == damage.index for route in routes):
        yield bad_record(path, *damage)
    for route in routes:
        if route.index >= damage.index and route.video:
            yield missing_video(route.video)


def changed_file(path: str, index: int, found: str) -> InvalidInputError:
    return InvalidInputError(f"{path}: record {index} changed while the job ran (now: {found})")


def stand_ins(path_and_missing):
    """(split, stand-in record) of each video of one video-level file that has no usable frames."""
    path, missing = path_and_missing
    split_of = dict(missing)
    for index, serialized in wanted_records(path, split_of):
        yield split_of[index], stand_in(serialized)


def stand_in(serialized: bytes) -> bytes:
    """The stand-in frame-feature record of a video-level record (its video has no usable frames)."""
    feature = tf.train.Example.FromString(serialized).features.feature
    labels = feature[video_level.LABELS_KEY].int64_list.value if video_level.LABELS_KEY in feature else []
    return frame_level.stand_in_record(
        feature[video_level.ID_KEY].bytes_list.value[0].decode(), labels,
        np.asarray(feature[video_level.RGB_KEY].float_list.value, np.float32),
        np.asarray(feature[video_level.AUDIO_KEY].float_list.value, np.float32))


class BadRecordSummary(beam.CombineFn):
    """Bad records → {"count", "by_file": {path: count}, "reasons": first few "path: record i: reason"}."""

    def create_accumulator(self):
        return 0, collections.Counter(), []

    def add_input(self, accumulator, bad: BadRecord):
        count, by_file, reasons = accumulator
        by_file[bad.path] += 1
        if len(reasons) < REPORTED_REASONS:
            reasons.append(f"{bad.path}: record {bad.index}: {bad.reason}")
        return count + 1, by_file, reasons

    def merge_accumulators(self, accumulators):
        count, by_file, reasons = 0, collections.Counter(), []
        for part_count, part_by_file, part_reasons in accumulators:
            count += part_count
            by_file.update(part_by_file)
            reasons.extend(part_reasons[:REPORTED_REASONS - len(reasons)])
        return count, by_file, reasons

    def extract_output(self, accumulator):
        count, by_file, reasons = accumulator
        return {"count": count, "by_file": dict(sorted(by_file.items())), "reasons": sorted(reasons)}


def report(bad: dict, good_records: int, videos: int, missing: int) -> dict:
    records = good_records + bad["count"]
    return {
        "frame_records": records,
        "good_records": good_records,
        "bad_records": bad["count"],
        "bad_fraction": bad["count"] / records if records else 0.0,
        "bad_records_by_file": bad["by_file"],
        "bad_record_reasons": bad["reasons"],
        "videos": videos,
        "videos_without_frames": missing,
        "missing_fraction": missing / videos if videos else 0.0,
    }


def check_report(summary: dict, max_bad_fraction: float, report_path: str | None) -> dict:
    """Writes the report (when a path is given) and fails the job beyond the threshold."""
    if report_path:
        with tf.io.gfile.GFile(report_path, "w") as target:
            json.dump(summary, target, indent=1)
    failed = summary["bad_fraction"] > max_bad_fraction or summary["missing_fraction"] > max_bad_fraction
    if failed:
        # The failed job's report.json is removed with its output; the log keeps the reasons.
        report_log.warning("frame-level report: %s", json.dumps(summary))
    if summary["bad_fraction"] > max_bad_fraction:
        files = ", ".join(f"{path} ({count})" for path, count in list(summary["bad_records_by_file"].items())[:5])
        raise InvalidInputError(
            f"{summary['bad_records']} of {summary['frame_records']} frame-level records are unusable "
            f"(more than max_bad_fraction {max_bad_fraction}); in {files}; first: {summary['bad_record_reasons'][0]} "
            "(the log holds the report)")
    if summary["missing_fraction"] > max_bad_fraction:
        raise InvalidInputError(
            f"{summary['videos_without_frames']} of {summary['videos']} videos have no usable frame-level "
            f"record (more than max_bad_fraction {max_bad_fraction})")
    if summary["bad_records"] or summary["videos_without_frames"]:
        first = f"; first: {summary['bad_record_reasons'][0]}" if summary["bad_record_reasons"] else ""
        where = f" (all counts in {report_path})" if report_path else ""
        log.warning("%d of %d frame-level records are unusable and %d of %d videos have no usable frame-level "
                    "record (within max_bad_fraction %s; such a video gets a stand-in from its video-level "
                    "means)%s%s", summary["bad_records"], summary["frame_records"], summary["videos_without_frames"],
                    summary["videos"], max_bad_fraction, first, where)
    return summary


@beam.ptransform_fn
def AggregateFrames(pipeline, frame_files: list[str], video_splits: dict, num_classes: int,  # pylint: disable=invalid-name
                    max_frames: int, max_bad_fraction: float, report_path: str | None = None):
    """frame_files: paths; video_splits: split name → video-level file pattern (FoldSplitter's,
    gzipped by its suffix; globbed when the pipeline is built).

    Returns (records: a tuple of PCollections of (split, frame-feature record): the videos'
    own, then the stand-ins; report: a PCollection of one summary dict, which fails the
    job when the thresholds are passed). The record collections are kept apart: a Beam
    Flatten of them would make the local runner hold every frame record in memory."""
    video_files = [(split, path) for split, pattern in video_splits.items()
                   for path in sorted(tf.io.gfile.glob(pattern))]
    videos = (pipeline
              | "VideoFiles" >> beam.Create(video_files)
              | "SpreadVideoFiles" >> beam.Reshuffle()
              | "VideoIds" >> beam.FlatMap(video_places))
    frames = (pipeline
              | "Files" >> beam.Create(sorted(frame_files))
              | "SpreadFiles" >> beam.Reshuffle()
              | "FrameIds" >> beam.FlatMap(frame_ids).with_outputs(BAD, main="good"))
    joined = ({"videos": videos, "frames": frames.good}
              | "JoinIds" >> beam.CoGroupByKey()
              | "Route" >> beam.FlatMap(join_video).with_outputs(MISSING, main="routes"))
    routed = (joined.routes
              | "RoutesByFile" >> beam.GroupByKey()
              | "Aggregate" >> beam.FlatMap(routed_records, num_classes, max_frames).with_outputs(
                  BAD, MISSING, main="records"))
    # Small tuples (video-level file, (index, split)), never frame records: flattened.
    without_frames = (joined[MISSING], routed[MISSING]) | "Missing" >> beam.Flatten()
    stand_in_records = (without_frames
                        | "MissingByFile" >> beam.GroupByKey()
                        | "StandIns" >> beam.FlatMap(stand_ins))
    records = (routed.records, stand_in_records)

    def count(collection, name):
        return beam.pvalue.AsSingleton(collection | name >> beam.combiners.Count.Globally())

    bad = (frames[BAD], routed[BAD]) | "Bad" >> beam.Flatten()
    summary = (pipeline
               | "One" >> beam.Create([None])
               | "Report" >> beam.Map(
                   lambda _, bad_summary, good, videos, without: report(bad_summary, good, videos, without),
                   beam.pvalue.AsSingleton(bad | "SummariseBad" >> beam.CombineGlobally(BadRecordSummary())),
                   count(routed.records, "CountGood"), count(videos, "CountVideos"),
                   count(without_frames, "CountMissing"))
               | "Check" >> beam.Map(check_report, max_bad_fraction, report_path))
    return records, summary


class _WriteSplitFiles(beam.DoFn):
    """(split, record) → one file per split and bundle, under a temporary name; yields
    (temporary path, final path) once the bundle's files are closed."""

    def __init__(self, prefixes: dict, suffix: str):
        super().__init__()
        self._prefixes = prefixes
        self._suffix = suffix
        self._writers = {}

    def start_bundle(self):
        self._writers = {}

    def process(self, row):
        split, record = row
        if split not in self._writers:
            final = f"{self._prefixes[split]}-{uuid.uuid4().hex}{self._suffix}"
            temporary = os.path.join(os.path.dirname(final), TEMPORARY_PREFIX + os.path.basename(final))
            tf.io.gfile.makedirs(os.path.dirname(final))
            self._writers[split] = temporary, final, video_level.record_writer(temporary)
        self._writers[split][2].write(record)

    def finish_bundle(self):
        for temporary, final, writer in self._writers.values():
            writer.close()
            yield beam.transforms.window.GlobalWindows.windowed_value((temporary, final))
        self._writers = {}


def commit_files(written: list) -> int:
    """Renames the files of the bundles that completed (a retried bundle's leftovers keep
    their temporary names, which no reader's pattern matches)."""
    for temporary, final in written:
        tf.io.gfile.rename(temporary, final, overwrite=True)
    return len(written)


@beam.ptransform_fn
def WriteSplits(records: tuple, prefixes: dict, suffix: str):  # pylint: disable=invalid-name
    """PCollections of (split, record) → TFRecord files `<prefix>-<unique><suffix>` per
    split; `prefixes`: split → path prefix. Each collection is written where it is made
    (one stage for all splits; a Beam TFRecord sink per split would add several stages
    each, and flattening the records first would gather them), then one commit step.
    Returns a PCollection of the number of files written."""
    written = [part | f"WriteFiles{index}" >> beam.ParDo(_WriteSplitFiles(prefixes, suffix))
               for index, part in enumerate(records)]
    return (written
            | "WrittenFiles" >> beam.Flatten()
            | "AllFiles" >> beam.combiners.ToList()
            | "Commit" >> beam.Map(commit_files))


def write_frame_features(frame_patterns: str, split_examples, frame_features, num_folds: int, num_classes: int,
                         max_frames: int, max_bad_fraction: float, beam_pipeline: beam.Pipeline) -> None:
    """`frame_patterns`: a JSON list of glob patterns of frame-level TFRecords (labelled
    and test videos alike: each is routed by its id); `max_frames`: frames kept per video (aggregates use all); `max_bad_fraction`: the
    job fails when more frame records than this are unusable, or more videos lack frames."""
    if max_frames < 1:
        raise UserError(f"max_frames must be at least 1, got {max_frames}")
    if not 0.0 <= max_bad_fraction < 1.0:
        raise UserError(f"max_bad_fraction must lie in [0, 1), got {max_bad_fraction}")
    names = splits.pipeline_split_names(num_folds)
    files = expand_patterns(json.loads(frame_patterns), "frame-level")
    video_splits = {name: splits.split_files_pattern(split_examples, name) for name in names}
    prefixes = {name: splits.split_prefix(frame_features, name) for name in names}
    report_path = os.path.join(frame_features.uri, REPORT_FILE)
    with unwrapped_input_errors(), beam_pipeline as pipeline:
        records, _ = pipeline | "AggregateFrames" >> AggregateFrames(
            files, video_splits, num_classes, max_frames, max_bad_fraction, report_path)
        _ = records | "WriteSplits" >> WriteSplits(prefixes, splits.FRAME_TFRECORD_SUFFIX)
    with tf.io.gfile.GFile(report_path) as source:
        summary = json.load(source)
    artifact_properties.set_split_names(frame_features, names)
    frame_features.set_string_custom_property(artifact_properties.PAYLOAD_FORMAT, PAYLOAD_FORMAT)
    frame_features.set_string_custom_property(artifact_properties.FILE_FORMAT, splits.FRAME_FILE_FORMAT)
    frame_features.set_int_custom_property(artifact_properties.MAX_FRAMES, max_frames)
    frame_features.set_string_custom_property(artifact_properties.FILE_PATTERNS, frame_patterns)
    for key in artifact_properties.FRAME_REPORT_COUNTS:
        frame_features.set_int_custom_property(key, summary[key])
