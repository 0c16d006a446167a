"""The frame-level record: official dequantization, parsing with clear errors, aggregates."""
import io
import re

import numpy as np
import pytest
import tensorflow as tf

from schemas import frame_level
from schemas.video_level import AUDIO_SIZE, RGB_SIZE


def frames(rng, count):
    return (rng.integers(0, 256, (count, RGB_SIZE), dtype=np.uint8),
            rng.integers(0, 256, (count, AUDIO_SIZE), dtype=np.uint8))


def test_dequantize_matches_hand_computed_values():
    # x = q·4/255 + 4/512 − 2 (the starter's Dequantize), worked by hand.
    hand = {0: -1.9921875, 1: -1.9921875 + 4 / 255, 64: 256 / 255 - 1.9921875,
            128: 512 / 255 - 1.9921875, 255: 4.0 - 1.9921875}
    codes = np.array(list(hand), np.uint8)
    np.testing.assert_allclose(frame_level.dequantize(codes), list(hand.values()), rtol=0, atol=1e-6)
    assert frame_level.dequantize(np.uint8(128)) == pytest.approx(0.0156556, abs=1e-6)
    assert frame_level.dequantize(np.uint8(64)) == pytest.approx(-0.9882659, abs=1e-6)


def test_quantize_inverts_dequantize_and_clips():
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(frame_level.quantize(frame_level.dequantize(codes)), codes)
    assert frame_level.quantize([-5.0, 5.0]).tolist() == [0, 255]
    values = np.linspace(-1.99, 2.0, 1001)
    error = np.abs(frame_level.dequantize(frame_level.quantize(values)) - values)
    assert error.max() <= frame_level.DEQUANTIZE_SCALE / 2 + 1e-6


def test_record_round_trip_and_aggregates():
    rgb, audio = frames(np.random.default_rng(0), 7)
    serialized = frame_level.make_sequence_example("abCD", [3, 1], rgb, audio).SerializeToString()
    record = frame_level.parse_frame_record(serialized, num_classes=10)
    assert record.video_id == "abCD" and record.labels.tolist() == [3, 1]
    np.testing.assert_array_equal(record.rgb, rgb)
    np.testing.assert_array_equal(record.audio, audio)
    aggregates = frame_level.aggregate(record)
    np.testing.assert_allclose(aggregates["mean_rgb"], (rgb * (4 / 255) + 4 / 512 - 2).mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(aggregates["std_audio"], (audio * (4 / 255)).std(axis=0), atol=1e-5)
    np.testing.assert_allclose(aggregates["max_rgb"], rgb.max(axis=0) * (4 / 255) + 4 / 512 - 2, atol=1e-6)


def test_add_aggregates_truncates_frames_and_fills_context():
    record_rgb, record_audio = frames(np.random.default_rng(1), 5)
    sequence = frame_level.make_sequence_example("v1", [], record_rgb, record_audio)
    record = frame_level.parse_frame_record(sequence.SerializeToString())
    frame_level.add_aggregates(sequence, frame_level.aggregate(record), 5, max_frames=3)
    truncated = frame_level.parse_frame_record(sequence.SerializeToString())
    np.testing.assert_array_equal(truncated.rgb, record_rgb[:3])
    assert sequence.context.feature[frame_level.SOURCE_FRAMES_KEY].int64_list.value == [5]
    assert len(sequence.context.feature["std_rgb"].float_list.value) == RGB_SIZE


@pytest.mark.parametrize("source_frames, stand_in", [(0, True), (300, False), (2**40 + 5, False)])
def test_aggregates_message_parses_as_the_proto_built_feature_by_feature(source_frames, stand_in):
    rng = np.random.default_rng(6)
    aggregates = {key: rng.normal(size=RGB_SIZE if "rgb" in key else AUDIO_SIZE).astype(np.float32)
                  for key in frame_level.AGGREGATE_KEYS}
    feature = {key: tf.train.Feature(float_list=tf.train.FloatList(value=aggregates[key].tolist()))
               for key in frame_level.AGGREGATE_KEYS}
    feature[frame_level.SOURCE_FRAMES_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(value=[source_frames]))
    feature[frame_level.STAND_IN_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(stand_in)]))
    expected = tf.train.SequenceExample(context=tf.train.Features(feature=feature))
    message = frame_level.aggregates_message(aggregates, source_frames, stand_in)
    assert tf.train.SequenceExample.FromString(message) == expected
    with pytest.raises(ValueError, match="negative"):
        frame_level.aggregates_message(aggregates, -1)


@pytest.mark.parametrize("num_frames, max_frames", [(4, 4), (4, 9), (6, 3)])
def test_with_aggregates_equals_the_rewritten_record(num_frames, max_frames):
    rgb, audio = frames(np.random.default_rng(3), num_frames)
    serialized = frame_level.make_sequence_example("v2", [3, 7], rgb, audio).SerializeToString()
    record, sequence = frame_level.parse_frame_proto(serialized)
    aggregates = frame_level.aggregate(record)
    output = frame_level.with_aggregates(serialized, sequence, aggregates, max_frames)
    rewritten = frame_level.add_aggregates(frame_level.parse_frame_proto(serialized)[1], aggregates,
                                           num_frames, max_frames)
    assert tf.train.SequenceExample.FromString(output) == rewritten
    context_spec, sequence_spec = frame_level.frame_feature_spec()
    parsed = [tf.io.parse_single_sequence_example(record_bytes, context_spec, sequence_spec)
              for record_bytes in (output, rewritten.SerializeToString())]
    for part in (0, 1):
        for key, value in parsed[0][part].items():
            other = parsed[1][part][key]
            if isinstance(value, tf.SparseTensor):
                value, other = tf.sparse.to_dense(value), tf.sparse.to_dense(other)
            np.testing.assert_array_equal(value.numpy(), other.numpy())


def test_with_aggregates_replaces_context_it_would_add():
    rgb, audio = frames(np.random.default_rng(4), 2)
    sequence = frame_level.make_sequence_example("v3", [], rgb, audio)
    sequence.context.feature[frame_level.SOURCE_FRAMES_KEY].int64_list.value[:] = [99]
    serialized = sequence.SerializeToString()
    record, parsed = frame_level.parse_frame_proto(serialized)
    output = tf.train.SequenceExample.FromString(
        frame_level.with_aggregates(serialized, parsed, frame_level.aggregate(record), 5))
    assert output.context.feature[frame_level.SOURCE_FRAMES_KEY].int64_list.value == [2]


def _mutated(mutate) -> bytes:
    rgb, audio = frames(np.random.default_rng(2), 3)
    sequence = frame_level.make_sequence_example("vid0", [1], rgb, audio)
    mutate(sequence)
    return sequence.SerializeToString()


@pytest.mark.parametrize("mutate, message", [
    (lambda s: s.context.feature.pop("id"), "context 'id' must hold exactly one"),
    (lambda s: s.feature_lists.feature_list.pop("rgb"), "video vid0 has no feature list 'rgb'"),
    (lambda s: s.feature_lists.feature_list["audio"].feature[1].bytes_list.value.__setitem__(0, b"xx"),
     "frame 1 of 'audio' of video vid0 has 2 bytes, expected 128 bytes"),
    (lambda s: s.feature_lists.feature_list["audio"].feature.pop(), "3 rgb frames but 2 audio frames"),
    (lambda s: s.context.feature["labels"].int64_list.value.append(99), "label 99 of video vid0 is outside"),
    (lambda s: s.context.feature["labels"].float_list.value.append(1.0),
     "'labels' of video vid0 holds float values, expected int64"),
    (lambda s: s.context.feature["id"].int64_list.value.append(7), "context 'id' holds int64 values, expected bytes"),
    (lambda s: s.context.feature["id"].bytes_list.value.__setitem__(0, b"a b"), "video id 'a b' holds whitespace"),
    (lambda s: s.feature_lists.feature_list["rgb"].feature[0].float_list.value.append(1.0),
     "frame 0 of 'rgb' of video vid0 holds float values, expected bytes"),
])
def test_malformed_records_say_what_is_wrong(mutate, message):
    with pytest.raises(ValueError, match=message):
        frame_level.parse_frame_record(_mutated(mutate), num_classes=10)


def test_no_frames_and_garbage_are_refused():
    empty = frame_level.make_sequence_example("v", [], np.zeros((0, RGB_SIZE), np.uint8),
                                              np.zeros((0, AUDIO_SIZE), np.uint8))
    with pytest.raises(ValueError, match="video v has no frames"):
        frame_level.parse_frame_record(empty.SerializeToString())
    with pytest.raises(ValueError, match="not a tf.train.SequenceExample"):
        frame_level.parse_frame_record(b"\xff\xff garbage")


def test_read_video_id_reads_the_context_alone():
    rgb, audio = frames(np.random.default_rng(5), 3)
    sequence = frame_level.make_sequence_example("aB9z", [2], rgb, audio)
    serialized = sequence.SerializeToString()
    assert frame_level.read_video_id(serialized) == "aB9z"
    # Frames before the context, and a context in two parts (with_aggregates' output) read the same.
    frames_first = (tf.train.SequenceExample(feature_lists=sequence.feature_lists).SerializeToString()
                    + tf.train.SequenceExample(context=sequence.context).SerializeToString())
    assert frame_level.read_video_id(frames_first) == "aB9z"
    record, parsed = frame_level.parse_frame_proto(serialized)
    aggregated = frame_level.with_aggregates(serialized, parsed, frame_level.aggregate(record), 5)
    assert frame_level.read_video_id(aggregated) == "aB9z"
    # The frames are not read: a malformed frame is pass 2's to find.
    assert frame_level.read_video_id(_mutated(lambda s: s.feature_lists.feature_list.pop("rgb"))) == "vid0"


@pytest.mark.parametrize("mutate", [lambda s: s.context.feature.pop("id"),
                                    lambda s: s.context.feature["id"].bytes_list.value.append(b"v2"),
                                    lambda s: s.context.feature["id"].bytes_list.value.__setitem__(0, b"")])
def test_read_video_id_refuses_a_record_without_one_id(mutate):
    with pytest.raises(ValueError, match="context 'id' must hold exactly one non-empty bytes value"):
        frame_level.read_video_id(_mutated(mutate))


@pytest.mark.parametrize("garbage", [b"\xff\xff garbage", b"garbage", b"\x0a\x05abc", b"\x0a\x03\xff\xff\xff",
                                     b"\x08" + b"\xff" * 11])
def test_read_video_id_refuses_bytes_that_are_not_a_sequence_example(garbage):
    with pytest.raises(ValueError, match=r"not a tf\.train\.SequenceExample \(.+\)"):
        frame_level.read_video_id(garbage)


class CountingReader:
    """`read(n)` over a record's bytes, counting the bytes read."""

    def __init__(self, data: bytes):
        self.source, self.bytes_read = io.BytesIO(data), 0

    def read(self, size: int) -> bytes:
        data = self.source.read(size)
        self.bytes_read += len(data)
        return data


def test_read_video_id_from_reads_only_a_leading_context():
    rgb, audio = frames(np.random.default_rng(6), 3)
    sequence = frame_level.make_sequence_example("aB9z", [2], rgb, audio)
    serialized = sequence.SerializeToString()
    reader = CountingReader(serialized)
    assert frame_level.read_video_id_from(reader.read) == "aB9z"
    context = tf.train.SequenceExample(context=sequence.context).ByteSize()
    assert reader.bytes_read == max(context, frame_level.FIELD_HEAD_BYTES) < len(serialized) / 10
    # Frames before the context: the whole record is read.
    frames_first = (tf.train.SequenceExample(feature_lists=sequence.feature_lists).SerializeToString()
                    + tf.train.SequenceExample(context=sequence.context).SerializeToString())
    reader = CountingReader(frames_first)
    assert frame_level.read_video_id_from(reader.read) == "aB9z" and reader.bytes_read == len(frames_first)


@pytest.mark.parametrize("record", [
    b"\x0a\x00", b"\x0a\x00" + b"\x12\x00" * 20,  # an empty context, shorter than the head or not
    _mutated(lambda s: s.context.feature.pop("id")), b"\x0a\x05abc", b"\x08" + b"\xff" * 11, b"\x0a", b""])
def test_read_video_id_from_says_what_read_video_id_says(record):
    with pytest.raises(ValueError) as whole:
        frame_level.read_video_id(record)
    with pytest.raises(ValueError, match=re.escape(str(whole.value))):
        frame_level.read_video_id_from(io.BytesIO(record).read)
