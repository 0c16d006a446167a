"""The YouTube-8M 2018 frame-level record (`tf.train.SequenceExample`) and its validation.

Context: `id` (bytes, the video's 4-char id) and `labels` (int64 list, empty for test).
Feature lists: `rgb`, one 1024-byte string per second, and `audio`, one 128-byte string
per second, of equal length (up to 300 frames). Each byte is a quantized value; the
official dequantization (the YouTube-8M starter's `utils.Dequantize`, range [-2, 2]) is

    x = q · 4/255 + (4/512 − 2)

and a video-level `mean_rgb`/`mean_audio` is the mean of the dequantized frames.

FrameFeatures writes the same layout back, frames truncated, with aggregate features
added to the context (`AGGREGATE_KEYS`): the input of the frame-level trainers.
"""
from typing import Callable, NamedTuple

import numpy as np
import tensorflow as tf

from schemas import protobuf_wire as wire
from schemas.video_ids import decode_video_id
from schemas.video_level import AUDIO_SIZE, FEATURE_KINDS, NUM_CLASSES, RGB_SIZE, check_kind

ID_KEY = "id"
LABELS_KEY = "labels"
RGB_KEY = "rgb"
AUDIO_KEY = "audio"

# "up to 300" frames at one per second (the starter's max_frames).
MAX_FRAMES = 300

# The official dequantization: quantized_range / 255 per step, offset to the middle of a step.
QUANTIZED_MIN = -2.0
QUANTIZED_MAX = 2.0
DEQUANTIZE_SCALE = (QUANTIZED_MAX - QUANTIZED_MIN) / 255.0
DEQUANTIZE_BIAS = (QUANTIZED_MAX - QUANTIZED_MIN) / 512.0 + QUANTIZED_MIN

# Aggregates over all of a video's frames (before truncation), dequantized. `mean_*` use
# the video-level keys, so an aggregate record also reads as a video-level one.
MEAN_RGB_KEY, MEAN_AUDIO_KEY = "mean_rgb", "mean_audio"
STD_RGB_KEY, STD_AUDIO_KEY = "std_rgb", "std_audio"
MAX_RGB_KEY, MAX_AUDIO_KEY = "max_rgb", "max_audio"
AGGREGATE_KEYS = (MEAN_RGB_KEY, MEAN_AUDIO_KEY, STD_RGB_KEY, STD_AUDIO_KEY, MAX_RGB_KEY, MAX_AUDIO_KEY)
# Frames of the source record (the kept ones may be fewer) and whether the frames are a
# one-frame stand-in built from the video-level means (the source record was unusable).
SOURCE_FRAMES_KEY = "source_frames"
STAND_IN_KEY = "frames_stand_in"


class FrameRecord(NamedTuple):
    video_id: str
    labels: np.ndarray  # int64 class ids
    rgb: np.ndarray  # uint8 [frames, RGB_SIZE], quantized
    audio: np.ndarray  # uint8 [frames, AUDIO_SIZE], quantized


def dequantize(quantized) -> np.ndarray:
    """float32 values of quantized bytes (any shape), by the official formula."""
    return np.asarray(quantized, np.float32) * np.float32(DEQUANTIZE_SCALE) + np.float32(DEQUANTIZE_BIAS)


def quantize(values) -> np.ndarray:
    """uint8 codes whose dequantized values are nearest to `values` (clipped to the range)."""
    codes = np.rint((np.asarray(values, np.float64) - DEQUANTIZE_BIAS) / DEQUANTIZE_SCALE)
    return np.clip(codes, 0, 255).astype(np.uint8)


def _bytes_feature_list(frames: np.ndarray) -> tf.train.FeatureList:
    return tf.train.FeatureList(feature=[
        tf.train.Feature(bytes_list=tf.train.BytesList(value=[frame.tobytes()])) for frame in frames])


def make_sequence_example(video_id: str, labels, rgb: np.ndarray, audio: np.ndarray) -> tf.train.SequenceExample:
    """A frame-level record of quantized frames (uint8 [frames, 1024] and [frames, 128])."""
    context = tf.train.Features(feature={
        ID_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[video_id.encode()])),
        LABELS_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(x) for x in labels])),
    })
    feature_lists = tf.train.FeatureLists(feature_list={
        RGB_KEY: _bytes_feature_list(np.asarray(rgb, np.uint8)),
        AUDIO_KEY: _bytes_feature_list(np.asarray(audio, np.uint8)),
    })
    return tf.train.SequenceExample(context=context, feature_lists=feature_lists)


def _frames(sequence: tf.train.SequenceExample, key: str, size: int, video_id: str) -> np.ndarray:
    if key not in sequence.feature_lists.feature_list:
        raise ValueError(f"video {video_id} has no feature list '{key}'")
    values = []
    for index, feature in enumerate(sequence.feature_lists.feature_list[key].feature):
        check_kind(feature, "bytes_list", f"frame {index} of '{key}' of video {video_id}")
        frame = feature.bytes_list.value
        if len(frame) != 1 or len(frame[0]) != size:
            got = f"{len(frame[0])} bytes" if len(frame) == 1 else f"{len(frame)} values"
            raise ValueError(f"frame {index} of '{key}' of video {video_id} has {got}, expected {size} bytes")
        values.append(frame[0])
    return np.frombuffer(b"".join(values), np.uint8).reshape(len(values), size)


def _video_id(context) -> str:
    """The id in a record's context features; ValueError when there is not exactly one."""
    if ID_KEY in context:
        check_kind(context[ID_KEY], FEATURE_KINDS[ID_KEY], f"context '{ID_KEY}'")
    ids = context[ID_KEY].bytes_list.value if ID_KEY in context else []
    if len(ids) != 1 or not ids[0]:
        raise ValueError(f"context '{ID_KEY}' must hold exactly one non-empty bytes value")
    return decode_video_id(ids[0])


def _not_a_sequence_example(error) -> ValueError:
    return ValueError(f"not a tf.train.SequenceExample ({error})")


def parse_frame_proto(serialized: bytes, num_classes: int = NUM_CLASSES
                      ) -> tuple[FrameRecord, tf.train.SequenceExample]:
    """Parses and validates one record; returns it and its proto; raises ValueError saying what is wrong."""
    try:
        sequence = tf.train.SequenceExample.FromString(serialized)
    except Exception as error:  # protobuf raises its own DecodeError
        raise _not_a_sequence_example(error) from None
    context = sequence.context.feature
    video_id = _video_id(context)
    rgb = _frames(sequence, RGB_KEY, RGB_SIZE, video_id)
    audio = _frames(sequence, AUDIO_KEY, AUDIO_SIZE, video_id)
    if len(rgb) != len(audio):
        raise ValueError(f"video {video_id} has {len(rgb)} rgb frames but {len(audio)} audio frames")
    if len(rgb) == 0:
        raise ValueError(f"video {video_id} has no frames")
    if LABELS_KEY in context:
        check_kind(context[LABELS_KEY], FEATURE_KINDS[LABELS_KEY], f"'{LABELS_KEY}' of video {video_id}")
    labels = np.asarray(context[LABELS_KEY].int64_list.value if LABELS_KEY in context else [], np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0]
        raise ValueError(f"label {bad} of video {video_id} is outside the vocabulary 0..{num_classes - 1}")
    return FrameRecord(video_id, labels, rgb, audio), sequence


def parse_frame_record(serialized: bytes, num_classes: int = NUM_CLASSES) -> FrameRecord:
    return parse_frame_proto(serialized, num_classes)[0]


# SequenceExample's `context` (tf.train.Features): field 1, length-delimited.
CONTEXT_FIELD = 1


def read_video_id(serialized: bytes) -> str:
    """The video id of a serialized frame-level record, read from its context alone: the
    frames, nearly all of the bytes, are skipped, not parsed or checked. The same id as
    parse_frame_proto's; ValueError (worded as its) when the bytes are not a
    SequenceExample or the context has no single id."""
    try:
        # Occurrences of a message field merge, as their concatenation parses (with_aggregates' output has two).
        context = tf.train.Features.FromString(b"".join(wire.field_bytes(serialized, CONTEXT_FIELD)))
    except Exception as error:  # ValueError from the walk; protobuf raises its own DecodeError
        raise _not_a_sequence_example(error) from None
    return _video_id(context.feature)


# Enough to hold a field's key and length (varints of at most 10 bytes each).
FIELD_HEAD_BYTES = 20


def read_video_id_from(read: Callable[[int], bytes]) -> str:
    """read_video_id of a record given by `read(n)`, its next n bytes (all that are left
    for n < 0), read only as far as needed: when the record starts with its context (as
    TensorFlow and make_sequence_example write it), that field alone; otherwise, or when
    that field has no single id, the whole record. (A record that repeats its context
    field with another id gets the first field's id here, not the last one's as a full
    parse does.)"""
    head = read(FIELD_HEAD_BYTES)
    try:
        key, position = wire.read_varint(head, 0)
        if key == CONTEXT_FIELD << 3 | wire.LENGTH_DELIMITED:
            length, position = wire.read_varint(head, position)
            end = position + length
            head += read(end - len(head)) if end > len(head) else b""
            return read_video_id(head[:end])
    except ValueError:  # not a leading context with an id: the whole record's read says why
        pass
    return read_video_id(head + read(-1))


def aggregate(record: FrameRecord) -> dict[str, np.ndarray]:
    """Per-dimension mean, standard deviation and maximum of the dequantized frames."""
    rgb, audio = dequantize(record.rgb), dequantize(record.audio)
    return {
        MEAN_RGB_KEY: rgb.mean(axis=0), MEAN_AUDIO_KEY: audio.mean(axis=0),
        STD_RGB_KEY: rgb.std(axis=0), STD_AUDIO_KEY: audio.std(axis=0),
        # max of the codes, then dequantized: the same value, a 4-times smaller pass
        MAX_RGB_KEY: dequantize(record.rgb.max(axis=0)), MAX_AUDIO_KEY: dequantize(record.audio.max(axis=0)),
    }


ADDED_CONTEXT_KEYS = (*AGGREGATE_KEYS, SOURCE_FRAMES_KEY, STAND_IN_KEY)


def _float_feature(values: np.ndarray) -> bytes:
    """A tf.train.Feature's `float_list` (field 2): FloatList.value (1), packed, as the
    little-endian float32 bytes it is on the wire."""
    return wire.length_delimited(2, wire.length_delimited(1, np.asarray(values, "<f4").tobytes()))


def _int64_feature(value: int) -> bytes:
    """A tf.train.Feature's `int64_list` (field 3) of one non-negative value, packed."""
    return wire.length_delimited(3, wire.length_delimited(1, wire.varint(value)))


def aggregates_message(aggregates: dict, source_frames: int, stand_in: bool = False) -> bytes:
    """A serialized SequenceExample whose context holds only the features a frame-feature
    record adds to its frame-level record. Encoded from the arrays' bytes: building the
    same message as protos (a Python float per value) costs several times more, per
    record, than the job's whole write."""
    entries = [wire.feature_entry(key, _float_feature(aggregates[key])) for key in AGGREGATE_KEYS]
    entries += [wire.feature_entry(SOURCE_FRAMES_KEY, _int64_feature(source_frames)),
                wire.feature_entry(STAND_IN_KEY, _int64_feature(int(stand_in)))]
    return wire.length_delimited(CONTEXT_FIELD, b"".join(entries))


def add_aggregates(sequence: tf.train.SequenceExample, aggregates: dict, source_frames: int,
                   max_frames: int, stand_in: bool = False) -> tf.train.SequenceExample:
    """Truncates the proto's frames to `max_frames` and writes the aggregates into its
    context, in place (a parsed map entry replaces one of the same key)."""
    sequence.MergeFromString(aggregates_message(aggregates, source_frames, stand_in))
    for key in (RGB_KEY, AUDIO_KEY):
        del sequence.feature_lists.feature_list[key].feature[max_frames:]
    return sequence


def with_aggregates(serialized: bytes, sequence: tf.train.SequenceExample, aggregates: dict,
                    max_frames: int) -> bytes:
    """The frame-feature record of a parsed frame-level record (`serialized`, `sequence`).

    A record with at most `max_frames` frames and none of the added keys is kept as it
    is, with the added context appended as a second serialized message: a protobuf
    parser merges concatenated messages (map entries added), so the frames, nearly all
    of the bytes, are not serialized again. Otherwise the proto is changed and
    serialized whole."""
    source_frames = len(sequence.feature_lists.feature_list[RGB_KEY].feature)
    context = sequence.context.feature
    if source_frames <= max_frames and not any(key in context for key in ADDED_CONTEXT_KEYS):
        return serialized + aggregates_message(aggregates, source_frames)
    return add_aggregates(sequence, aggregates, source_frames, max_frames).SerializeToString(deterministic=True)


def stand_in_record(video_id: str, labels, mean_rgb: np.ndarray, mean_audio: np.ndarray) -> bytes:
    """The frame-feature record of a video whose frames are unusable: its video-level means as
    one quantized frame, the means themselves as aggregates, no spread."""
    rgb, audio = quantize(mean_rgb)[None, :], quantize(mean_audio)[None, :]
    sequence = make_sequence_example(video_id, labels, rgb, audio)
    zeros_rgb, zeros_audio = np.zeros(RGB_SIZE, np.float32), np.zeros(AUDIO_SIZE, np.float32)
    aggregates = {MEAN_RGB_KEY: np.asarray(mean_rgb, np.float32), MEAN_AUDIO_KEY: np.asarray(mean_audio, np.float32),
                  STD_RGB_KEY: zeros_rgb, STD_AUDIO_KEY: zeros_audio,
                  MAX_RGB_KEY: np.asarray(mean_rgb, np.float32), MAX_AUDIO_KEY: np.asarray(mean_audio, np.float32)}
    return add_aggregates(sequence, aggregates, 0, 1, stand_in=True).SerializeToString(deterministic=True)


def frame_feature_spec() -> tuple[dict, dict]:
    """(context, sequence) specs of `tf.io.parse_sequence_example` for a frame-feature record."""
    sizes = {MEAN_RGB_KEY: RGB_SIZE, MEAN_AUDIO_KEY: AUDIO_SIZE, STD_RGB_KEY: RGB_SIZE,
             STD_AUDIO_KEY: AUDIO_SIZE, MAX_RGB_KEY: RGB_SIZE, MAX_AUDIO_KEY: AUDIO_SIZE}
    context = {ID_KEY: tf.io.FixedLenFeature([], tf.string), LABELS_KEY: tf.io.VarLenFeature(tf.int64),
               SOURCE_FRAMES_KEY: tf.io.FixedLenFeature([], tf.int64),
               STAND_IN_KEY: tf.io.FixedLenFeature([], tf.int64),
               **{key: tf.io.FixedLenFeature([size], tf.float32) for key, size in sizes.items()}}
    return context, raw_frames_spec()


def raw_frames_spec() -> dict:
    return {RGB_KEY: tf.io.FixedLenSequenceFeature([], tf.string),
            AUDIO_KEY: tf.io.FixedLenSequenceFeature([], tf.string)}

