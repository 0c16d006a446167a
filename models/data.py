"""Data for the trainers: TFRecord splits streamed as `tf.data` pipelines.

No split is ever held in memory. `read_batches` yields a split's videos in file order as
parsed batches (validation, prediction); `training_batches` yields (features, targets)
batches of the training videos in a fresh random order every pass: the files in random
order, several read at once (interleaved), each record through a shuffle buffer of
`shuffle_buffer` serialized records. A trainer's memory is therefore bounded by that
buffer and a few batches, whatever the number of videos.

Model input is the raw `[mean_rgb; mean_audio]` vector (1152 floats); each model applies
its own preprocessing in-graph. Frame-level models read FrameFeatures' records instead
(uncompressed TFRecords): `features` is then a dict of quantized frames (uint8
[b, max_frames, 1152], zero-padded) and frame counts (int32 [b]), the inputs of
models/frame_zoo.py. Labels are read sparse (ragged class ids) and made dense per batch
(`dense_targets`), so a 3862-class target matrix is only ever one batch.
"""
import math
from typing import NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from schemas import frame_level, soft_labels, splits, video_level

PARSE_BATCH = 1024
# Training files read at once: the stream mixes this many files (e.g. the training folds').
INTERLEAVED_FILES = 8

FEATURES, IDS, LABELS = "features", "id", "labels"


class Targets(NamedTuple):
    """What a batch's labels become as training targets."""
    num_classes: int
    # w of `w·soft + (1 − w)·hard`; None: hard labels only (soft labels are not read).
    soft_weight: float | None = None
    # Classes that may be targets (the others never are); None: every class.
    class_subset: tuple[int, ...] | None = None


def files_of(patterns: Sequence[str]) -> list[str]:
    return sorted(path for pattern in patterns for path in tf.io.gfile.glob(pattern))


def _compression(max_frames: int | None) -> str:
    """Video-level splits are gzipped; FrameFeatures' (frame-level) splits are not."""
    return splits.FRAME_COMPRESSION if max_frames else splits.COMPRESSION


def _parse_video_batch(serialized, with_soft_labels: bool) -> dict:
    spec = {**video_level.feature_spec(), **(soft_labels.feature_spec() if with_soft_labels else {})}
    parsed = tf.io.parse_example(serialized, spec)
    batch = {IDS: parsed[video_level.ID_KEY],
             FEATURES: tf.concat([parsed[video_level.RGB_KEY], parsed[video_level.AUDIO_KEY]], axis=1),
             LABELS: tf.RaggedTensor.from_sparse(parsed[video_level.LABELS_KEY])}
    if with_soft_labels:
        for key in (soft_labels.SOFT_IDS_KEY, soft_labels.SOFT_VALUES_KEY):
            batch[key] = tf.RaggedTensor.from_sparse(parsed[key])
    return batch


def _parse_frame_batch(serialized, max_frames: int) -> dict:
    """Ids, labels, uint8 frames [b, max_frames, 1152] (the first ones, zero-padded) and
    int32 frame counts of serialized frame-feature records."""
    context_spec = {frame_level.ID_KEY: tf.io.FixedLenFeature([], tf.string),
                    frame_level.LABELS_KEY: tf.io.VarLenFeature(tf.int64)}
    context, sequences, lengths = tf.io.parse_sequence_example(
        serialized, context_features=context_spec, sequence_features=frame_level.raw_frames_spec())
    frames = tf.concat([
        tf.io.decode_raw(sequences[frame_level.RGB_KEY], tf.uint8, fixed_length=video_level.RGB_SIZE),
        tf.io.decode_raw(sequences[frame_level.AUDIO_KEY], tf.uint8, fixed_length=video_level.AUDIO_SIZE),
    ], axis=-1)[:, :max_frames]
    frames = tf.pad(frames, [[0, 0], [0, max_frames - tf.shape(frames)[1]], [0, 0]])
    counts = tf.cast(tf.minimum(lengths[frame_level.RGB_KEY], max_frames), tf.int32)
    return {IDS: context[frame_level.ID_KEY],
            FEATURES: {"frames": frames, "num_frames": counts},
            LABELS: tf.RaggedTensor.from_sparse(context[frame_level.LABELS_KEY])}


def _parser(max_frames: int | None, with_soft_labels: bool):
    if max_frames:
        return lambda serialized: _parse_frame_batch(serialized, max_frames)
    return lambda serialized: _parse_video_batch(serialized, with_soft_labels)


def read_batches(patterns: Sequence[str], batch_size: int = PARSE_BATCH, max_frames: int | None = None,
                 with_soft_labels: bool = False) -> tf.data.Dataset:
    """Every video of the files matching `patterns`, in file order, as dict batches:
    `id` (string [b]), `features`, `labels` (ragged int64 [b, None]) and with soft labels
    their ragged ids and values. `max_frames`: FrameFeatures' records, that many frames kept."""
    files = files_of(patterns)
    return _without_autotune(tf.data.TFRecordDataset(files, compression_type=_compression(max_frames))
                             .batch(batch_size)
                             .map(_parser(max_frames, with_soft_labels), num_parallel_calls=tf.data.AUTOTUNE)
                             .prefetch(2))


def _without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` without tf.data's autotuning; its AUTOTUNE parallelism is then the number
    of cores. Each iterator's autotuning thread sleeps between optimizations for a period
    that doubles up to a minute; deleting the iterator wakes it before the cancellation is
    marked, so it may sleep out the rest of its period, and the deletion waits for it:
    `fit` (its iterator) and a pass of `read_batches` returned up to a minute late."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def count_records(patterns: Sequence[str], max_frames: int | None = None) -> int:
    """Records in the files matching `patterns` (one read of the files, nothing parsed)."""
    records = tf.data.TFRecordDataset(files_of(patterns), compression_type=_compression(max_frames))
    return int(records.reduce(np.int64(0), lambda count, _: count + 1))


def training_batches(patterns: Sequence[str], targets: Targets, batch_size: int, shuffle_buffer: int,
                     seed: int, max_frames: int | None = None) -> tf.data.Dataset:
    """(features, dense targets) batches, one pass over the videos of the files matching
    `patterns` in random order; each iteration draws a new order. Its cardinality (the
    batches per pass) is known, from a count of the records.

    The order follows `seed` and the global seed at the time of the call: set the latter
    first (tf_keras.utils.set_random_seed) so that nothing run earlier changes it."""
    files = files_of(patterns)
    batches = math.ceil(count_records(patterns, max_frames) / batch_size)
    parse = _parser(max_frames, targets.soft_weight is not None)

    def features_and_targets(serialized):
        batch = parse(serialized)
        return batch[FEATURES], dense_targets(batch, targets)

    return _without_autotune(
        tf.data.Dataset.from_tensor_slices(files)
        .shuffle(max(len(files), 1), seed=seed)
        .interleave(lambda path: tf.data.TFRecordDataset(path, compression_type=_compression(max_frames)),
                    cycle_length=max(1, min(len(files), INTERLEAVED_FILES)),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .shuffle(shuffle_buffer, seed=seed)
        .batch(batch_size)
        .map(features_and_targets, num_parallel_calls=tf.data.AUTOTUNE)
        .apply(tf.data.experimental.assert_cardinality(batches))
        .prefetch(2))


def dense_targets(batch: dict, targets: Targets) -> tf.Tensor:
    """[b, classes] float32 targets of a parsed batch: 1 per hard label, or
    `w·soft + (1 − w)·hard` with soft labels; classes outside the subset are 0. Made by a
    scatter of the valid pairs (a one-hot of the ids would build a [b, labels, classes] tensor)."""
    hard = tf.minimum(_scattered(batch[LABELS], None, targets.num_classes), 1.0)
    dense = hard
    if targets.soft_weight is not None:
        soft = _scattered(batch[soft_labels.SOFT_IDS_KEY], batch[soft_labels.SOFT_VALUES_KEY], targets.num_classes)
        dense = targets.soft_weight * soft + (1.0 - targets.soft_weight) * hard
    if targets.class_subset is not None:
        dense = dense * subset_mask(targets.class_subset, targets.num_classes)[None, :]
    return tf.minimum(dense, 1.0)


def _scattered(class_ids: tf.RaggedTensor, weights: tf.RaggedTensor | None, num_classes: int) -> tf.Tensor:
    rows = class_ids.value_rowids()
    indices = tf.stack([rows, class_ids.values], axis=1)
    values = tf.ones_like(class_ids.values, tf.float32) if weights is None else weights.values
    return tf.scatter_nd(indices, values, tf.stack([class_ids.nrows(), tf.constant(num_classes, tf.int64)]))


def subset_mask(class_subset: Sequence[int], num_classes: int) -> np.ndarray:
    """float32 [classes]: 1 for the classes of the subset, 0 elsewhere."""
    mask = np.zeros(num_classes, np.float32)
    mask[list(class_subset)] = 1.0
    return mask


def label_rows(labels: tf.RaggedTensor) -> list[np.ndarray]:
    """The class ids of each video of a batch, one int64 array per video."""
    values, splits = labels.values.numpy(), labels.row_splits.numpy()
    return [values[splits[row]:splits[row + 1]] for row in range(len(splits) - 1)]


def labels_by_id(patterns: Sequence[str]) -> dict[str, np.ndarray]:
    """Video id → hard label ids, over the video-level files of `patterns`."""
    labels = {}
    for batch in read_batches(patterns):
        labels.update(zip(ids_of(batch), label_rows(batch[LABELS])))
    return labels


def parse_labels(serialized) -> tf.RaggedTensor:
    """The class ids of a batch of serialized video-level Examples (nothing else parsed)."""
    spec = {video_level.LABELS_KEY: video_level.feature_spec()[video_level.LABELS_KEY]}
    return tf.RaggedTensor.from_sparse(tf.io.parse_example(serialized, spec)[video_level.LABELS_KEY])


def ids_of(batch: dict) -> list[str]:
    return [video_id.decode() for video_id in batch[IDS].numpy()]


def label_counts(patterns: Sequence[str], num_classes: int, max_frames: int | None = None) -> np.ndarray:
    """Videos per class over the files matching `patterns`, streamed."""
    counts = np.zeros(num_classes, np.int64)
    for batch in read_batches(patterns, max_frames=max_frames):
        counts += np.bincount(batch[LABELS].values.numpy(), minlength=num_classes)[:num_classes]
    return counts


def most_frequent_classes(counts: np.ndarray, count: int) -> np.ndarray:
    """The `count` classes with the most labelled videos, sorted by class id (ties: lower id)."""
    ranked = np.lexsort((np.arange(counts.size), -counts))
    return np.sort(ranked[:count])
