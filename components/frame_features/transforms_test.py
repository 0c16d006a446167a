"""FrameFeatures' Beam transforms on tiny synthetic data: routing by id, aggregates,
truncation, stand-ins, bad-record counting and the threshold."""
import os
import pathlib
import types

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from common.errors import InvalidInputError
from components.frame_features import transforms
from schemas import frame_level, splits, video_level
from y8m import synthetic

CLASSES = 10
NUM_FOLDS = 3
MAX_FRAMES = 5  # below the synthetic 4..8 frames: some videos are truncated
MISSING = 0  # index of the video whose frames are left out


def _write(path, records, tail=b""):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    if tail:
        with open(path, "ab") as target:
            target.write(tail)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """Video-level records in FoldSplitter's layout, and frame files: one good (one video
    left out), one with a malformed record (of the left-out video), an orphan and a
    corrupt tail."""
    root = tmp_path_factory.mktemp("frames")
    synthetic.generate(str(root / "data"), videos=40, classes=CLASSES, seed=3, frames=True, max_frames=8, shards=1)
    split_examples = types.SimpleNamespace(uri=str(root / "split_examples"))
    videos, split_of = {}, {}
    for partition in synthetic.PARTITIONS:
        for _, serialized in video_level.read_records(str(root / "data" / f"{partition}0000.tfrecord")):
            record = video_level.parse_video_record(serialized, CLASSES)
            fold = splits.TEST_FOLD if partition == "test" else splits.fold_of(record.video_id, NUM_FOLDS, 0.2)
            split_of[record.video_id] = splits.split_of(fold)
            videos.setdefault(split_of[record.video_id], []).append(serialized)
    for split, records in videos.items():
        splits.write_split_records(split_examples, split, records)
    frame_records = [serialized for partition in synthetic.PARTITIONS for _, serialized in
                     video_level.read_records(str(root / "data" / "frames" / f"{partition}0000.tfrecord"))]
    parsed = [frame_level.parse_frame_record(r) for r in frame_records]
    _write(root / "good.tfrecord", frame_records[:MISSING] + frame_records[MISSING + 1:])
    malformed = tf.train.SequenceExample.FromString(frame_records[MISSING])
    malformed.feature_lists.feature_list["audio"].feature[0].bytes_list.value[0] = b"short"
    orphan = frame_level.make_sequence_example("zzzz", [1], parsed[1].rgb, parsed[1].audio)
    _write(root / "bad.tfrecord", [malformed.SerializeToString(), orphan.SerializeToString()],
           tail=b"\x10\x00\x00\x00\x00\x00\x00\x00garbage")
    return types.SimpleNamespace(
        frame_files=[str(root / "good.tfrecord"), str(root / "bad.tfrecord")],
        video_splits={name: splits.split_files_pattern(split_examples, name)
                      for name in splits.pipeline_split_names(NUM_FOLDS) if name in videos},
        split_of=split_of, parsed={record.video_id: record for record in parsed},
        missing_id=parsed[MISSING].video_id)


def run(case, max_bad_fraction, check_records=None, check_report=None, frame_files=None):
    with TestPipeline() as pipeline:
        records, report = pipeline | transforms.AggregateFrames(
            frame_files or case.frame_files, case.video_splits, CLASSES, MAX_FRAMES, max_bad_fraction)
        if check_records:
            assert_that(records | beam.Flatten(), check_records, label="Records")
        if check_report:
            assert_that(report, check_report, label="Report")


def decoded(serialized):
    context_spec, sequence_spec = frame_level.frame_feature_spec()
    context, sequence = tf.io.parse_single_sequence_example(serialized, context_spec, sequence_spec)
    return {key: value.numpy() for key, value in {**context, **sequence}.items()
            if not isinstance(value, tf.SparseTensor)}


def test_each_video_goes_to_its_split_with_its_aggregates(case):
    def check(rows):
        by_id = {}
        for split, serialized in rows:
            row = decoded(serialized)
            by_id[row["id"].decode()] = split, row
        assert {video_id: split for video_id, (split, _) in by_id.items()} == case.split_of
        for video_id, (_, row) in by_id.items():
            if video_id == case.missing_id:
                continue
            source = case.parsed[video_id]
            assert row["source_frames"] == len(source.rgb) and row["frames_stand_in"] == 0
            assert len(row["rgb"]) == min(len(source.rgb), MAX_FRAMES)
            assert row["rgb"][0] == source.rgb[0].tobytes()
            values = frame_level.dequantize(source.rgb)  # all frames, not only the kept ones
            np.testing.assert_allclose(row["mean_rgb"], values.mean(axis=0), atol=1e-5)
            np.testing.assert_allclose(row["std_rgb"], values.std(axis=0), atol=1e-5)
            np.testing.assert_allclose(row["max_audio"], frame_level.dequantize(source.audio).max(axis=0), atol=1e-6)
        # The video whose one frame record is malformed gets a one-frame stand-in from its video-level means.
        _, stand_in = by_id[case.missing_id]
        assert stand_in["frames_stand_in"] == 1 and len(stand_in["rgb"]) == 1
        np.testing.assert_allclose(stand_in["mean_rgb"], frame_level.dequantize(case.parsed[case.missing_id].rgb)
                                   .mean(axis=0), atol=frame_level.DEQUANTIZE_SCALE)

    def check_report(reports):
        (report,) = reports
        assert report["good_records"] == len(case.split_of) - 1
        assert report["bad_records"] == 3 and report["frame_records"] == len(case.split_of) + 2
        assert report["bad_records_by_file"] == {case.frame_files[1]: 3}
        assert report["videos_without_frames"] == 1 and report["videos"] == len(case.split_of)
        reasons = " | ".join(report["bad_record_reasons"])
        assert "bad.tfrecord: record 0: frame 0 of 'audio'" in reasons
        assert "record 1: video zzzz has no video-level record" in reasons
        assert "record 2: corrupted record at byte" in reasons

    run(case, 0.5, check, check_report)


def test_too_many_bad_records_fail_the_job_naming_the_file(case):
    with pytest.raises(Exception, match=r"3 of 42 frame-level records are unusable.*bad\.tfrecord \(3\)"):
        run(case, 0.05)


def test_bad_records_below_the_threshold_are_logged_with_their_counts(caplog):
    bad = {"count": 1, "by_file": {"f.tfrecord": 1}, "reasons": ["f.tfrecord: record 4: video c has no frames"]}
    summary = transforms.report(bad, good_records=199, videos=200, missing=1)
    with caplog.at_level("WARNING", logger="y8m.frame_features"):
        assert transforms.check_report(summary, 0.01, None) == summary
    (warning,) = caplog.messages
    assert warning.startswith("1 of 200 frame-level records are unusable and 1 of 200 videos have no usable "
                              "frame-level record (within max_bad_fraction 0.01;")
    assert warning.endswith("first: f.tfrecord: record 4: video c has no frames")


def test_a_video_with_two_frame_records_fails_the_job(case):
    with pytest.raises(Exception, match="occurs twice in the frame-level files"):
        run(case, 0.5, frame_files=[case.frame_files[0], case.frame_files[0]])


def join(video_id, videos, frames):
    return list(transforms.join_video((video_id, {"videos": videos, "frames": frames})))


def test_orphans_and_missing_videos_are_decided_by_id():
    video = transforms.VideoAt("fold_0", "v.tfrecord", 7)
    frame = transforms.RecordAt("f.tfrecord", 4)
    (missing,) = join("a", [video], [])
    assert missing.tag == transforms.MISSING and missing.value == ("v.tfrecord", (7, "fold_0"))
    test_video = transforms.VideoAt("test", "t.tfrecord", 0)
    assert join("b", [test_video], [frame]) == [("f.tfrecord", transforms.Route(4, "b", test_video))]
    # An orphan goes to pass 2 too, which validates it before counting it as bad.
    assert join("c", [], [frame]) == [("f.tfrecord", transforms.Route(4, "c", None))]
    # Pass 1 reads ids only: two records of an id fail the job, whether or not both are valid.
    with pytest.raises(InvalidInputError, match=r"video id 'd' occurs twice in the frame-level files \(f\.tfrecord: "
                                                r"record 4 and f\.tfrecord: record 5\); every video must occur once"):
        join("d", [video], [frame, transforms.RecordAt("f.tfrecord", 5)])


def frame_record(video_id, frames=2, rgb_bytes=video_level.RGB_SIZE):
    rgb = np.full((frames, rgb_bytes), 7, np.uint8)
    audio = np.full((frames, video_level.AUDIO_SIZE), 9, np.uint8)
    return frame_level.make_sequence_example(video_id, [1], rgb, audio).SerializeToString()


def video_record(video_id):
    return video_level.make_example(video_id, [1], [0.5] * video_level.RGB_SIZE,
                                    [0.5] * video_level.AUDIO_SIZE).SerializeToString()


def split_id_stand_in(row):
    split, serialized = row
    record = decoded(serialized)
    return split, record["id"].decode(), int(record["frames_stand_in"])


def test_routing_joins_frame_records_to_fold_and_test_videos_by_id(tmp_path):
    """One frame file: a fold video, a test video, an orphan, a malformed orphan, a record
    without an id, and a malformed record of a video (a stand-in from pass 2); one video
    without a frame record (a stand-in from the join)."""
    split_examples = types.SimpleNamespace(uri=str(tmp_path / "split_examples"))
    splits.write_split_records(split_examples, "fold_0", [video_record(v) for v in ("a", "m", "x")])
    splits.write_split_records(split_examples, "test", [video_record("t")])
    frames = str(tmp_path / "frames.tfrecord")
    _write(frames, [frame_record("a"), frame_record("t"), frame_record("zzzz"), frame_record("yyyy", rgb_bytes=9),
                    b"\x0a\x00", frame_record("m", rgb_bytes=9)])
    video_splits = {name: splits.split_files_pattern(split_examples, name) for name in ("fold_0", "test")}

    def check_report(reports):
        (report,) = reports
        assert (report["good_records"], report["bad_records"], report["videos"]) == (2, 4, 4)
        assert report["videos_without_frames"] == 2
        assert report["bad_record_reasons"] == [  # each bad record once, with its file and index
            f"{frames}: record 2: video zzzz has no video-level record",
            f"{frames}: record 3: frame 0 of 'rgb' of video yyyy has 9 bytes, expected 1024 bytes",
            f"{frames}: record 4: context 'id' must hold exactly one non-empty bytes value",
            f"{frames}: record 5: frame 0 of 'rgb' of video m has 9 bytes, expected 1024 bytes"]

    with TestPipeline() as pipeline:
        (own, stand_ins), report = pipeline | transforms.AggregateFrames([frames], video_splits, CLASSES, MAX_FRAMES, 0.9)
        assert_that(own | "Own" >> beam.Map(split_id_stand_in),
                    equal_to([("fold_0", "a", 0), ("test", "t", 0)]), label="CheckOwn")
        assert_that(stand_ins | "StandIns" >> beam.Map(split_id_stand_in),
                    equal_to([("fold_0", "m", 1), ("fold_0", "x", 1)]), label="CheckStandIns")
        assert_that(report, check_report, label="CheckReport")


def test_pass_2_counts_a_malformed_record_as_bad_and_its_video_as_missing(tmp_path):
    frames = str(tmp_path / "frames.tfrecord")
    _write(frames, [frame_record("a"), frame_record("m", rgb_bytes=9), frame_record("o", rgb_bytes=9),
                    frame_record("z")])
    video_a, video_m = transforms.VideoAt("fold_0", "v.tfrecord", 0), transforms.VideoAt("test", "v.tfrecord", 3)
    routes = [transforms.Route(0, "a", video_a), transforms.Route(1, "m", video_m), transforms.Route(2, "o", None),
              transforms.Route(3, "z", None)]
    with TestPipeline() as pipeline:
        routed = (pipeline | beam.Create([(frames, routes)])
                  | beam.FlatMap(transforms.routed_records, CLASSES, MAX_FRAMES).with_outputs(
                      transforms.BAD, transforms.MISSING, main="records"))
        assert_that(routed.records | beam.Map(split_id_stand_in), equal_to([("fold_0", "a", 0)]), label="Records")
        assert_that(routed[transforms.MISSING], equal_to([("v.tfrecord", (3, "test"))]), label="Missing")
        assert_that(routed[transforms.BAD], equal_to([
            transforms.BadRecord(frames, 1, "frame 0 of 'rgb' of video m has 9 bytes, expected 1024 bytes"),
            transforms.BadRecord(frames, 2, "frame 0 of 'rgb' of video o has 9 bytes, expected 1024 bytes"),
            transforms.BadRecord(frames, 3, "video z has no video-level record")]), label="Bad")


def test_a_frame_file_changed_between_its_two_reads_fails_the_job(tmp_path):
    frames = str(tmp_path / "frames.tfrecord")
    _write(frames, [frame_record("a"), frame_record("b")])
    with pytest.raises(Exception, match=r"record 1 changed while the job ran \(now: video b, not c\)"):
        with TestPipeline() as pipeline:
            video = transforms.VideoAt("fold_0", "v.tfrecord", 0)
            _ = (pipeline | beam.Create([(frames, [transforms.Route(0, "a", video), transforms.Route(1, "c", video)])])
                 | beam.FlatMap(transforms.routed_records, CLASSES, MAX_FRAMES))


def at_least_one_file_per_split(counts):
    # One file per split and bundle: at least one per non-empty split.
    assert len(counts) == 1 and counts[0] >= 2, counts


def test_write_splits_puts_each_record_in_its_split(tmp_path):
    artifact = types.SimpleNamespace(uri=str(tmp_path))
    rows = [("fold_0", b"a"), ("test", b"b"), ("fold_0", b"c")]
    prefixes = {name: splits.split_prefix(artifact, name) for name in ("fold_0", "holdout", "test")}
    with TestPipeline() as pipeline:
        parts = (pipeline | "Some" >> beam.Create(rows[:2]), pipeline | "Others" >> beam.Create(rows[2:]))
        committed = parts | transforms.WriteSplits(prefixes, splits.FRAME_TFRECORD_SUFFIX)
        assert_that(committed, at_least_one_file_per_split)
    for split, expected in (("fold_0", [b"a", b"c"]), ("test", [b"b"])):
        paths = sorted(pathlib.Path(splits.split_dir(artifact, split)).iterdir())
        assert all(path.name.startswith("part-") and path.suffix == ".tfrecord" for path in paths)
        records = [r for path in paths for r in tf.data.TFRecordDataset(str(path)).as_numpy_iterator()]
        assert sorted(records) == expected
    assert not os.path.exists(splits.split_dir(artifact, "holdout"))


# Where a record's data is corrupted: its first byte (the context's key: pass 1 finds no id
# and checks the record), a letter of its id (pass 1 reads another id), a frame (pass 2).
CORRUPT_BYTE = {"context key": lambda record: 0, "id": lambda record: record.index(b"\x0a\x01m") + 2,
                "frame": lambda record: len(record) - 50}


@pytest.mark.parametrize("where", list(CORRUPT_BYTE))
def test_a_record_whose_data_is_corrupt_loses_the_rest_of_its_file(tmp_path, where):
    """As in a full read: the record is bad, and the videos of it and of the records after it are missing."""
    split_examples = types.SimpleNamespace(uri=str(tmp_path / "split_examples"))
    splits.write_split_records(split_examples, "fold_0", [video_record(v) for v in ("a", "m", "x")])
    records = [frame_record("a"), frame_record("m"), frame_record("x")]
    data_start = 16 + len(records[0]) + 12
    frames = str(tmp_path / "frames.tfrecord")
    _write(frames, records)
    damaged = bytearray(pathlib.Path(frames).read_bytes())
    damaged[data_start + CORRUPT_BYTE[where](records[1])] ^= 0x40
    pathlib.Path(frames).write_bytes(bytes(damaged))

    def check_report(reports):
        (report,) = reports
        assert (report["good_records"], report["bad_records"], report["videos_without_frames"]) == (1, 1, 2)
        assert report["bad_record_reasons"] == [f"{frames}: record 1: {video_level.corrupted_reason(data_start)}"]

    with TestPipeline() as pipeline:
        (own, stand_ins), report = pipeline | transforms.AggregateFrames(
            [frames], {"fold_0": splits.split_files_pattern(split_examples, "fold_0")}, CLASSES, MAX_FRAMES, 0.9)
        assert_that(own | "Own" >> beam.Map(split_id_stand_in), equal_to([("fold_0", "a", 0)]), label="CheckOwn")
        assert_that(stand_ins | "StandIns" >> beam.Map(split_id_stand_in),
                    equal_to([("fold_0", "m", 1), ("fold_0", "x", 1)]), label="CheckStandIns")
        assert_that(report, check_report, label="CheckReport")
