"""Video-level data for the trainers: TFRecord splits into arrays, targets into batches.

Model input is the raw `[mean_rgb; mean_audio]` vector (1152 floats); each model applies
its own preprocessing in-graph. Frame-level models read FrameFeatures' records instead:
`features` is then a dict of quantized frames (uint8 [N, max_frames, 1152], zero-padded)
and frame counts (int32 [N]), the inputs of models/frame_zoo.py. Targets are kept sparse (class ids + weights per video)
and made dense per batch, so a 3862-class target matrix never sits in memory.
"""
from typing import NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from schemas import frame_level, soft_labels, video_level

PARSE_BATCH = 1024


class VideoSet(NamedTuple):
    ids: list[str]
    features: np.ndarray  # float32 [N, FEATURE_SIZE], or for frame-level models a dict (`load_frame_videos`)
    labels: list[np.ndarray]  # int64 class ids per video
    soft_ids: list[np.ndarray] | None = None  # soft-label class ids per video, where read
    soft_values: list[np.ndarray] | None = None


def _files(patterns: Sequence[str]) -> list[str]:
    return sorted(path for pattern in patterns for path in tf.io.gfile.glob(pattern))


def load_videos(patterns: Sequence[str], with_soft_labels: bool = False) -> VideoSet:
    """Every video of the gzipped video-level TFRecords matching `patterns`."""
    files = _files(patterns)
    spec = {**video_level.feature_spec(), **(soft_labels.feature_spec() if with_soft_labels else {})}
    ids, features, labels, soft_ids, soft_values = [], [], [], [], []
    if files:
        dataset = (tf.data.TFRecordDataset(files, compression_type="GZIP")
                   .batch(PARSE_BATCH)
                   .map(lambda batch: tf.io.parse_example(batch, spec)))
        for parsed in dataset:
            count = int(parsed[video_level.ID_KEY].shape[0])
            ids.extend(video_id.decode() for video_id in parsed[video_level.ID_KEY].numpy())
            features.append(np.concatenate(
                [parsed[video_level.RGB_KEY].numpy(), parsed[video_level.AUDIO_KEY].numpy()], axis=1))
            labels.extend(_rows_of_sparse(parsed[video_level.LABELS_KEY], count))
            if with_soft_labels:
                soft_ids.extend(_rows_of_sparse(parsed[soft_labels.SOFT_IDS_KEY], count))
                soft_values.extend(_rows_of_sparse(parsed[soft_labels.SOFT_VALUES_KEY], count))
    stacked = np.concatenate(features) if features else np.zeros((0, video_level.FEATURE_SIZE), np.float32)
    if not with_soft_labels:
        return VideoSet(ids, stacked.astype(np.float32), labels)
    return VideoSet(ids, stacked.astype(np.float32), labels, soft_ids, soft_values)


def load_frame_videos(patterns: Sequence[str], max_frames: int) -> VideoSet:
    """Every video of the (uncompressed) frame-feature TFRecords matching `patterns`, its
    first `max_frames` frames zero-padded to that length."""
    files = _files(patterns)
    context_spec = {frame_level.ID_KEY: tf.io.FixedLenFeature([], tf.string),
                    frame_level.LABELS_KEY: tf.io.VarLenFeature(tf.int64)}
    ids, frames, counts, labels = [], [], [], []
    if files:
        dataset = (tf.data.TFRecordDataset(files)
                   .batch(PARSE_BATCH // 8)
                   .map(lambda batch: _parse_frame_batch(batch, context_spec, max_frames)))
        for video_ids, batch_labels, batch_frames, batch_counts in dataset:
            ids.extend(video_id.decode() for video_id in video_ids.numpy())
            labels.extend(_rows_of_sparse(batch_labels, int(video_ids.shape[0])))
            frames.append(batch_frames.numpy())
            counts.append(batch_counts.numpy())
    features = {
        "frames": np.concatenate(frames) if frames else np.zeros((0, max_frames, video_level.FEATURE_SIZE), np.uint8),
        "num_frames": np.concatenate(counts) if counts else np.zeros((0,), np.int32),
    }
    return VideoSet(ids, features, labels)


def _parse_frame_batch(batch, context_spec: dict, max_frames: int):
    """(ids, labels, uint8 frames [b, max_frames, 1152], int32 counts) of serialized records."""
    context, sequences, lengths = tf.io.parse_sequence_example(
        batch, context_features=context_spec, sequence_features=frame_level.raw_frames_spec())
    frames = tf.concat([
        tf.io.decode_raw(sequences[frame_level.RGB_KEY], tf.uint8, fixed_length=video_level.RGB_SIZE),
        tf.io.decode_raw(sequences[frame_level.AUDIO_KEY], tf.uint8, fixed_length=video_level.AUDIO_SIZE),
    ], axis=-1)[:, :max_frames]
    frames = tf.pad(frames, [[0, 0], [0, max_frames - tf.shape(frames)[1]], [0, 0]])
    counts = tf.cast(tf.minimum(lengths[frame_level.RGB_KEY], max_frames), tf.int32)
    return context[frame_level.ID_KEY], context[frame_level.LABELS_KEY], frames, counts


def _concatenate_features(parts: list):
    """Feature arrays of several sets, joined along videos (dicts key by key)."""
    if isinstance(parts[0], dict):
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    return np.concatenate(parts)


def _rows_of_sparse(sparse: tf.SparseTensor, num_rows: int) -> list[np.ndarray]:
    rows, values = sparse.indices.numpy()[:, 0], sparse.values.numpy()
    bounds = np.searchsorted(rows, np.arange(num_rows + 1))
    return [values[bounds[i]:bounds[i + 1]] for i in range(num_rows)]


def mixed_targets(videos: VideoSet, soft_weight: float):
    """Per video: class ids and weights of `soft_weight·soft + (1 − soft_weight)·hard`."""
    class_ids, weights = [], []
    for hard, soft_ids, soft_values in zip(videos.labels, videos.soft_ids, videos.soft_values):
        ids = np.union1d(hard, soft_ids)
        soft = np.zeros(ids.size, np.float32)
        soft[np.searchsorted(ids, soft_ids)] = soft_values
        hard_indicator = np.isin(ids, hard).astype(np.float32)
        class_ids.append(ids)
        weights.append(soft_weight * soft + (1.0 - soft_weight) * hard_indicator)
    return class_ids, weights


def concatenate(sets: Sequence[VideoSet]) -> VideoSet:
    """One VideoSet of several (soft labels kept where every part has them)."""
    has_soft = bool(sets) and all(s.soft_ids is not None for s in sets)
    return VideoSet(
        [video_id for s in sets for video_id in s.ids],
        _concatenate_features([s.features for s in sets]) if sets else np.zeros((0, video_level.FEATURE_SIZE), np.float32),
        [labels for s in sets for labels in s.labels],
        [ids for s in sets for ids in s.soft_ids] if has_soft else None,
        [values for s in sets for values in s.soft_values] if has_soft else None)


def padded(class_ids: Sequence[np.ndarray], weights: Sequence[np.ndarray] | None = None):
    """Sparse targets as two [N, L] arrays: class ids (−1 pads) and weights (1.0 for hard labels)."""
    width = max([len(ids) for ids in class_ids] + [1])
    ids = np.full((len(class_ids), width), -1, np.int64)
    values = np.zeros((len(class_ids), width), np.float32)
    for row, row_ids in enumerate(class_ids):
        ids[row, :len(row_ids)] = row_ids
        values[row, :len(row_ids)] = 1.0 if weights is None else weights[row]
    return ids, values


def target_dataset(features: np.ndarray, target_ids: np.ndarray, target_weights: np.ndarray,
                   num_classes: int, batch_size: int, seed: int, shuffle: bool = True) -> tf.data.Dataset:
    """Batches of (features, dense targets), densified by a scatter of the valid pairs
    (a one-hot of the padded [batch, width] ids would build a [batch, width, classes] tensor).

    The shuffle order follows `seed` and the global seed at the time of the call: set the
    latter first (tf_keras.utils.set_random_seed) so that nothing run earlier changes it."""
    dataset = tf.data.Dataset.from_tensor_slices((features, target_ids, target_weights))
    if shuffle:  # len(target_ids): `features` may be a dict of arrays (frame-level models)
        dataset = dataset.shuffle(len(target_ids), seed=seed, reshuffle_each_iteration=True)

    def densify(x, ids, weights):
        valid = ids >= 0
        rows = tf.broadcast_to(tf.range(tf.shape(ids)[0], dtype=ids.dtype)[:, None], tf.shape(ids))
        indices = tf.stack([tf.boolean_mask(rows, valid), tf.boolean_mask(ids, valid)], axis=1)
        dense = tf.scatter_nd(indices, tf.boolean_mask(weights, valid),
                              tf.stack([tf.shape(ids, out_type=ids.dtype)[0], num_classes]))
        return x, tf.minimum(dense, 1.0)

    return dataset.batch(batch_size).map(densify, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def most_frequent_classes(labels: Sequence[np.ndarray], count: int) -> np.ndarray:
    """The `count` classes with the most labelled videos, sorted by class id (ties: lower id)."""
    counts = np.bincount(np.concatenate([np.zeros(0, np.int64), *labels]).astype(np.int64))
    ranked = np.lexsort((np.arange(counts.size), -counts))
    return np.sort(ranked[:count])


def restricted_to(target_ids: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
    """Padded target ids with every class outside `class_ids` turned into padding (−1)."""
    return np.where(np.isin(target_ids, class_ids), target_ids, -1)
