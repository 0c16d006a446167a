"""Synthetic data in the exact YouTube-8M 2018 video-level format.

The product's embedded default data (`y8m demo`) and the end-to-end tests' tiny data.
Each class has a random prototype direction in the 1152-d feature space (the first
1024 values go to `mean_rgb`, the last 128 to `mean_audio`); a video's features are
the sum of its clean labels' prototypes plus Gaussian noise, clipped to [-2, 2] like
the real dequantized means. Labels follow a Zipf-like class prior (class 0 most
frequent), about 3 per video. The records carry noisy labels (true labels dropped,
spurious ones added); `clean_labels.csv` keeps the true ones so that label denoising
can be measured.
"""
import os
import string

import numpy as np
import tensorflow as tf

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


def generate(output_dir: str, videos: int = 2000, classes: int = NUM_CLASSES, seed: int = 0,
             label_noise: float = 0.2, shards: int = 4, test_fraction: float = 0.2,
             validate_fraction: float = 0.2) -> dict:
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

    Returns {"videos": {"train": n, "validate": n, "test": n}, "classes": C,
    "files": [paths written], "label_noise": p, "mean_labels_per_video": mean number
    of (noisy) labels in the records}.
    """
    _validate_arguments(videos, classes, seed, label_noise, shards, test_fraction, validate_fraction)
    ids_rng, labels_rng, noise_rng, features_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(4))
    prior = class_prior(classes)
    ids = video_ids(videos, ids_rng)
    clean_labels = sample_clean_labels(videos, prior, labels_rng)
    noisy_labels = add_label_noise(clean_labels, prior, label_noise, noise_rng)
    prototypes = class_prototypes(classes, features_rng)

    tf.io.gfile.makedirs(output_dir)
    sizes = partition_sizes(videos, test_fraction, validate_fraction)
    files = []
    start = 0
    for partition in PARTITIONS:
        for shard, indices in enumerate(_shard_indices(start, sizes[partition], shards)):
            path = os.path.join(output_dir, f"{partition}{shard:04d}.tfrecord")
            features = video_features([clean_labels[i] for i in indices], prototypes, features_rng)
            _write_shard(path, [ids[i] for i in indices], [noisy_labels[i] for i in indices], features)
            files.append(path)
        start += sizes[partition]
    clean_path = os.path.join(output_dir, CLEAN_LABELS_FILE)
    _write_clean_labels(clean_path, ids, clean_labels)
    files.append(clean_path)
    return {
        "videos": sizes,
        "classes": classes,
        "files": files,
        "label_noise": label_noise,
        "mean_labels_per_video": float(np.mean([labels.size for labels in noisy_labels])),
    }


def _validate_arguments(videos, classes, seed, label_noise, shards, test_fraction, validate_fraction):
    if not 10 <= videos <= MAX_VIDEOS:
        raise ValueError(f"videos must be between 10 and {MAX_VIDEOS} (4-char ids), got {videos}")
    if classes < 2:
        raise ValueError(f"classes must be at least 2, got {classes}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if not 0 <= label_noise < 1:
        raise ValueError(f"label_noise must be in [0, 1), got {label_noise}")
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    for name, fraction in (("test_fraction", test_fraction), ("validate_fraction", validate_fraction)):
        if not 0 <= fraction < 1:
            raise ValueError(f"{name} must be in [0, 1), got {fraction}")
    if partition_sizes(videos, test_fraction, validate_fraction)["train"] < 1:
        raise ValueError(f"test_fraction + validate_fraction ({test_fraction} + {validate_fraction}) "
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
