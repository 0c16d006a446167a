"""Synthetic data in the exact YouTube-8M 2018 video-level format.

The product's embedded default data (`y8m demo`) and the end-to-end tests' tiny data.
Each class has a random prototype direction in the 1152-d feature space (the first
1024 values go to `mean_rgb`, the last 128 to `mean_audio`); a video's features are
the sum of its clean labels' prototypes plus Gaussian noise, clipped to [-2, 2] like
the real dequantized means. Labels follow a Zipf-like class prior (class 0 most
frequent), about 3 per video. The records carry noisy labels (true labels dropped,
spurious ones added); `clean_labels.csv` keeps the true ones so that label denoising
can be measured.

With `frames=True` the same videos are also written at frame level
(`frames/trainNNNN.tfrecord` etc., `tf.train.SequenceExample`s in the 2018 layout): each
video's frames are its video-level features plus a temporal component that averages to
zero, quantized so that the mean of the dequantized frames reproduces `mean_rgb` /
`mean_audio` within quantization error. The temporal component is per-frame noise plus
the signatures of the temporal classes (`temporal_classes`), which averages wash out:
a burst class shows a pattern in a short run of frames only and adds nothing to the
video-level features; the two classes of an order pair share one video-level prototype
and show two patterns in opposite orders (+d then −d, or −d then +d).
"""
import os
import string

import numpy as np
import tensorflow as tf

from common.errors import UserError
from schemas import frame_level
from schemas.video_level import FEATURE_SIZE, NUM_CLASSES, RGB_SIZE, make_example

ID_ALPHABET = string.digits + string.ascii_lowercase + string.ascii_uppercase
ID_LENGTH = 4
MAX_VIDEOS = len(ID_ALPHABET) ** ID_LENGTH  # every video needs its own 4-char id

# Class prior p_c ∝ 1 / (c + ZIPF_OFFSET) ** ZIPF_EXPONENT, like the real vocabulary's fall-off.
ZIPF_OFFSET = 10.0
ZIPF_EXPONENT = 1.0
# 1 + Poisson(2) labels per video: at least one, about 3 on average as in the real data.
MEAN_EXTRA_LABELS = 2.0
MAX_LABELS = 10

# Per-value standard deviations. Noise dominates each value, so a class's direction
# must be learned from many examples (a ridge model on 5000 videos × 200 clean classes
# reaches GAP ~0.85, not 1); a video with 3 labels has values of std ~0.55, so clipping
# to the real range [-2, 2] touches almost nothing.
PROTOTYPE_SCALE = 0.1
NOISE_SCALE = 0.52
FEATURE_LIMIT = 2.0

PARTITIONS = ("train", "validate", "test")
CLEAN_LABELS_FILE = "clean_labels.csv"
# Videos whose labels are drawn at once: bounds the videos × classes sampling keys.
SAMPLING_CHUNK = 1024

FRAMES_DIR = "frames"
# Temporal classes (those below the vocabulary size): frequent enough to be learnt from a
# few thousand videos, and not the most frequent, which anchor the video-level models.
BURST_CLASSES = (2, 5)
ORDER_PAIRS = ((3, 4), (6, 7))
# A burst lasts this fraction of the video's frames (at least one frame).
BURST_FRACTION = 0.1
# Per-value standard deviations of the per-frame noise, of an order pair's patterns and of
# a burst's pattern. An order pattern spans half the video, so a modest one is learnt. A
# burst spans a few frames: at 0.1 (|pattern| ≈ 3.4 against the frame noise's ≈ 10) no
# frame-level model found it within bench/frame_models_ap.py's budget, at 0.2 they learnt
# it slowly, at 0.3 (a burst frame stands out by as much as the noise itself, like a
# distinct scene) within a few epochs.
FRAME_NOISE_SCALE = 0.3
ORDER_PATTERN_SCALE = 0.1
BURST_PATTERN_SCALE = 0.3
# Rounds of the quantization mean correction (two or three are needed).
MEAN_CORRECTION_ROUNDS = 32


def generate(output_dir: str, videos: int = 2000, classes: int = NUM_CLASSES, seed: int = 0,
             label_noise: float = 0.2, shards: int = 4, test_fraction: float = 0.2,
             validate_fraction: float = 0.2, frames: bool = False,
             max_frames: int = frame_level.MAX_FRAMES) -> dict:
    """Writes a synthetic video-level data set into `output_dir` and returns its summary.

    Files: `trainNNNN.tfrecord`, `validateNNNN.tfrecord`, `testNNNN.tfrecord`
    (uncompressed; `shards` per partition, fewer when a partition has fewer videos,
    none when it is empty) and `clean_labels.csv` (`VideoId,Labels`, space-separated
    true class ids of every video). Partitions are sized by the fractions; train gets
    the rest.

    Label noise p = `label_noise`: each true label is dropped with probability p/2
    (keeping at least one per video) and, with probability p, one spurious label
    drawn from the class prior is added. The records hold these noisy labels, test
    records included: the real pipeline never trains on test labels but scores on
    them when present.

    Fully deterministic in `seed`. Class labels, ids and features do not depend on
    `label_noise`, so runs that differ only in the noise share the same clean truth.

    With `frames`, frame-level files of the same videos go to `frames/` (same shard
    names, each video with max_frames/2 to `max_frames` frames), the temporal classes
    get their signatures, and the summary also holds "temporal_classes" and
    "frame_files". Without it the output is as before (the temporal classes are
    ordinary classes).

    Returns {"videos": {"train": n, "validate": n, "test": n}, "classes": C,
    "files": [paths written], "label_noise": p, "mean_labels_per_video": mean number
    of (noisy) labels in the records}.
    """
    _validate_arguments(videos, classes, seed, label_noise, shards, test_fraction, validate_fraction)
    if frames and not 2 <= max_frames <= frame_level.MAX_FRAMES:
        raise UserError(f"max_frames must be between 2 and {frame_level.MAX_FRAMES}, got {max_frames}")
    # The fifth stream (frames) leaves the first four, and so the video-level data, as they were.
    ids_rng, labels_rng, noise_rng, features_rng, frames_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(5))
    prior = class_prior(classes)
    ids = video_ids(videos, ids_rng)
    clean_labels = sample_clean_labels(videos, prior, labels_rng)
    noisy_labels = add_label_noise(clean_labels, prior, label_noise, noise_rng)
    prototypes = class_prototypes(classes, features_rng)
    signatures = TemporalSignatures.draw(classes, frames_rng) if frames else None
    if signatures is not None:
        prototypes = signatures.video_level_prototypes(prototypes)

    try:
        tf.io.gfile.makedirs(output_dir)
    except tf.errors.OpError as error:
        raise UserError(f"cannot make the output directory {output_dir}: {error.message}") from None
    sizes = partition_sizes(videos, test_fraction, validate_fraction)
    files, frame_files = [], []
    if signatures is not None:
        tf.io.gfile.makedirs(os.path.join(output_dir, FRAMES_DIR))
    start = 0
    for partition in PARTITIONS:
        for shard, indices in enumerate(_shard_indices(start, sizes[partition], shards)):
            path = os.path.join(output_dir, f"{partition}{shard:04d}.tfrecord")
            features = video_features([clean_labels[i] for i in indices], prototypes, features_rng)
            _write_shard(path, [ids[i] for i in indices], [noisy_labels[i] for i in indices], features)
            files.append(path)
            if signatures is not None:
                frame_path = os.path.join(output_dir, FRAMES_DIR, os.path.basename(path))
                _write_frame_shard(frame_path, [ids[i] for i in indices], [noisy_labels[i] for i in indices],
                                   [clean_labels[i] for i in indices], features, signatures, max_frames,
                                   frames_rng)
                frame_files.append(frame_path)
        start += sizes[partition]
    clean_path = os.path.join(output_dir, CLEAN_LABELS_FILE)
    _write_clean_labels(clean_path, ids, clean_labels)
    files.append(clean_path)
    summary = {
        "videos": sizes,
        "classes": classes,
        "files": files,
        "label_noise": label_noise,
        "mean_labels_per_video": float(np.mean([labels.size for labels in noisy_labels])),
    }
    if signatures is not None:
        summary["temporal_classes"] = signatures.summary()
        summary["frame_files"] = frame_files
    return summary


def _validate_arguments(videos, classes, seed, label_noise, shards, test_fraction, validate_fraction):
    if not 10 <= videos <= MAX_VIDEOS:
        raise UserError(f"videos must be between 10 and {MAX_VIDEOS} (4-char ids), got {videos}")
    if classes < 2:
        raise UserError(f"classes must be at least 2, got {classes}")
    if seed < 0:
        raise UserError(f"seed must be non-negative, got {seed}")
    if not 0 <= label_noise < 1:
        raise UserError(f"label_noise must be in [0, 1), got {label_noise}")
    if shards < 1:
        raise UserError(f"shards must be at least 1, got {shards}")
    for name, fraction in (("test_fraction", test_fraction), ("validate_fraction", validate_fraction)):
        if not 0 <= fraction < 1:
            raise UserError(f"{name} must be in [0, 1), got {fraction}")
    if partition_sizes(videos, test_fraction, validate_fraction)["train"] < 1:
        raise UserError(f"test_fraction + validate_fraction ({test_fraction} + {validate_fraction}) "
                         f"leaves no training videos out of {videos}")


def partition_sizes(videos: int, test_fraction: float, validate_fraction: float) -> dict:
    test = int(videos * test_fraction + 0.5)
    validate = int(videos * validate_fraction + 0.5)
    return {"train": videos - test - validate, "validate": validate, "test": test}


def _shard_indices(start: int, size: int, shards: int) -> list[np.ndarray]:
    """Consecutive video indices of each shard: at most `shards`, none empty."""
    if size == 0:
        return []
    return np.array_split(np.arange(start, start + size), min(shards, size))


def class_prior(classes: int) -> np.ndarray:
    """Zipf-like class probabilities, decreasing with the class id."""
    weights = 1.0 / (np.arange(classes) + ZIPF_OFFSET) ** ZIPF_EXPONENT
    return weights / weights.sum()


def video_ids(videos: int, rng: np.random.Generator) -> list[str]:
    """Unique random 4-char ids over [0-9a-zA-Z], like the real anonymised ids."""
    codes = rng.choice(MAX_VIDEOS, size=videos, replace=False)
    digits = codes[:, None] // len(ID_ALPHABET) ** np.arange(ID_LENGTH) % len(ID_ALPHABET)
    return ["".join(ID_ALPHABET[digit] for digit in row) for row in digits]


def sample_clean_labels(videos: int, prior: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Each video's true labels (sorted int64), drawn from the prior without replacement."""
    max_labels = min(MAX_LABELS, prior.size)
    counts = np.minimum(1 + rng.poisson(MEAN_EXTRA_LABELS, videos), max_labels)
    labels = []
    for start in range(0, videos, SAMPLING_CHUNK):
        chunk_counts = counts[start:start + SAMPLING_CHUNK]
        draws = _ordered_draws_without_replacement(prior, chunk_counts.size, max_labels, rng)
        labels += [np.sort(row[:count]) for row, count in zip(draws, chunk_counts)]
    return labels


def _ordered_draws_without_replacement(prior: np.ndarray, rows: int, draws: int,
                                       rng: np.random.Generator) -> np.ndarray:
    """[rows, draws] classes in the order successive weighted draws would pick them.

    Gumbel top-k: the classes with the largest log p + Gumbel keys are an exact
    sample without replacement, in order, for all rows at once.
    """
    keys = np.log(prior) + rng.gumbel(size=(rows, prior.size))
    top = np.argpartition(-keys, draws - 1, axis=1)[:, :draws]
    order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1).astype(np.int64)


def add_label_noise(clean_labels: list[np.ndarray], prior: np.ndarray, label_noise: float,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """Drops each true label with probability p/2 (keeping one) and adds a spurious one with probability p."""
    noisy = []
    for labels in clean_labels:
        kept = labels[rng.random(labels.size) >= label_noise / 2]
        if kept.size == 0:
            kept = labels[[rng.integers(labels.size)]]
        if labels.size < prior.size and rng.random() < label_noise:
            others = prior.copy()
            others[labels] = 0.0  # spurious means not a true label
            kept = np.sort(np.append(kept, rng.choice(prior.size, p=others / others.sum())))
        noisy.append(kept)
    return noisy


def class_prototypes(classes: int, rng: np.random.Generator) -> np.ndarray:
    """[classes, FEATURE_SIZE] random directions, one per class, rgb values then audio."""
    return rng.normal(0.0, PROTOTYPE_SCALE, size=(classes, FEATURE_SIZE)).astype(np.float32)


def video_features(clean_labels: list[np.ndarray], prototypes: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """[videos, FEATURE_SIZE] float32: sum of the clean labels' prototypes plus noise, clipped."""
    starts = np.cumsum([0] + [labels.size for labels in clean_labels[:-1]])
    signal = np.add.reduceat(prototypes[np.concatenate(clean_labels)], starts, axis=0)
    noise = rng.normal(0.0, NOISE_SCALE, size=signal.shape)
    return np.clip(signal + noise, -FEATURE_LIMIT, FEATURE_LIMIT).astype(np.float32)


def _write_shard(path: str, ids: list[str], labels: list[np.ndarray], features: np.ndarray):
    with tf.io.TFRecordWriter(path) as writer:
        for video_id, video_labels, row in zip(ids, labels, features):
            example = make_example(video_id, video_labels, row[:RGB_SIZE].tolist(), row[RGB_SIZE:].tolist())
            writer.write(example.SerializeToString())


def _write_clean_labels(path: str, ids: list[str], clean_labels: list[np.ndarray]):
    with tf.io.gfile.GFile(path, "w") as csv_file:
        csv_file.write("VideoId,Labels\n")
        for video_id, labels in zip(ids, clean_labels):
            csv_file.write(f"{video_id},{' '.join(str(label) for label in labels)}\n")


# ---------------------------------------------------------------------------------------
# Frame level


def temporal_classes(classes: int) -> tuple[list[int], list[tuple[int, int]]]:
    """(burst classes, order pairs) that fit a vocabulary of `classes`."""
    return ([c for c in BURST_CLASSES if c < classes],
            [(a, b) for a, b in ORDER_PAIRS if b < classes])


class TemporalSignatures:
    """The temporal patterns of the temporal classes: one per burst class, one per order pair."""

    def __init__(self, bursts: dict, orders: dict):
        self.bursts = bursts  # class → pattern [FEATURE_SIZE]
        self.orders = orders  # (first class, second class) → pattern [FEATURE_SIZE]

    @classmethod
    def draw(cls, classes: int, rng: np.random.Generator) -> "TemporalSignatures":
        bursts, pairs = temporal_classes(classes)
        return cls({c: rng.normal(0.0, BURST_PATTERN_SCALE, FEATURE_SIZE) for c in bursts},
                   {pair: rng.normal(0.0, ORDER_PATTERN_SCALE, FEATURE_SIZE) for pair in pairs})

    def video_level_prototypes(self, prototypes: np.ndarray) -> np.ndarray:
        """Burst classes leave no trace in the mean; the classes of a pair share one prototype."""
        prototypes = prototypes.copy()
        for c in self.bursts:
            prototypes[c] = 0.0
        for first, second in self.orders:
            prototypes[second] = prototypes[first]
        return prototypes

    def component(self, clean_labels: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
        """[frames, FEATURE_SIZE]: noise plus the video's signatures, centred over time."""
        labels = set(clean_labels.tolist())
        values = rng.normal(0.0, FRAME_NOISE_SCALE, (frames, FEATURE_SIZE))
        for c, pattern in self.bursts.items():
            if c in labels:
                length = max(1, round(frames * BURST_FRACTION))
                start = rng.integers(0, frames - length + 1)
                values[start:start + length] += pattern
        half = frames // 2
        for (first, second), pattern in self.orders.items():
            # first: +d then −d; second: −d then +d (both: they cancel).
            sign = (first in labels) - (second in labels)
            values[:half] += sign * pattern
            values[half:] -= sign * pattern
        return values - values.mean(axis=0)

    def summary(self) -> dict:
        return {"burst": sorted(self.bursts), "order_pairs": [list(pair) for pair in sorted(self.orders)]}


def quantize_to_mean(frames: np.ndarray, mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 codes of `frames` [n, d] whose dequantized mean is `mean` [d] within half a
    quantization step divided by n (`mean` clipped to the representable range).

    Rounding and clipping shift each column's sum; the shortfall, in whole steps, is
    spread over the rows that have room (not saturated), evenly and then one step each at
    random rows, until every column sum matches."""
    count = len(frames)
    codes = frame_level.quantize(frames).astype(np.int64)
    target_units = (np.asarray(mean, np.float64) - frame_level.DEQUANTIZE_BIAS) / frame_level.DEQUANTIZE_SCALE
    target = np.rint(np.clip(target_units, 0, 255) * count).astype(np.int64)
    for _ in range(MEAN_CORRECTION_ROUNDS):
        shortfall = target - codes.sum(axis=0)
        if not shortfall.any():
            return codes.astype(np.uint8)
        sign, need = np.sign(shortfall), np.abs(shortfall)
        room = np.where(sign > 0, 255 - codes, codes) * (sign != 0)
        even = np.minimum(room, need // np.maximum((room > 0).sum(axis=0), 1))
        left = need - even.sum(axis=0)
        order = rng.permutation(count)  # the one-step extras go to random rows with room
        has_room = (room - even > 0)[order]
        extra = np.empty_like(has_room)
        extra[order] = has_room & (np.cumsum(has_room, axis=0) <= left)
        codes += sign * (even + extra)
    raise RuntimeError("frame quantization did not reach the video-level mean")


def video_frames(features: np.ndarray, clean_labels: np.ndarray, signatures: TemporalSignatures,
                 max_frames: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 [frames, FEATURE_SIZE] codes of one video whose dequantized mean is `features`."""
    frames = int(rng.integers(max(1, max_frames // 2), max_frames + 1))
    values = features[None, :] + signatures.component(clean_labels, frames, rng)
    return quantize_to_mean(values, features, rng)


def _write_frame_shard(path: str, ids: list[str], labels: list[np.ndarray], clean_labels: list[np.ndarray],
                       features: np.ndarray, signatures: TemporalSignatures, max_frames: int,
                       rng: np.random.Generator):
    with tf.io.TFRecordWriter(path) as writer:
        for video_id, video_labels, truth, row in zip(ids, labels, clean_labels, features):
            codes = video_frames(row, truth, signatures, max_frames, rng)
            example = frame_level.make_sequence_example(video_id, video_labels, codes[:, :RGB_SIZE],
                                                        codes[:, RGB_SIZE:])
            writer.write(example.SerializeToString())
