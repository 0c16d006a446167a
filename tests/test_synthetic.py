"""Tests of the synthetic YouTube-8M video-level data generator (tiny data)."""
import csv
import os
import re

import numpy as np
import pytest

from common.errors import UserError
from schemas.video_level import AUDIO_SIZE, RGB_SIZE, read_video_records
from y8m import synthetic

VIDEOS = 200
CLASSES = 50
NOISE = 0.3
SHARDS = 4


def tiny(output_dir, **overrides) -> dict:
    arguments = dict(videos=VIDEOS, classes=CLASSES, seed=7, label_noise=NOISE, shards=SHARDS)
    return synthetic.generate(str(output_dir), **{**arguments, **overrides})


def read_partition(output_dir, partition) -> list:
    paths = sorted(output_dir.glob(f"{partition}*.tfrecord"))
    return [record for path in paths for record in read_video_records(str(path), CLASSES)]


def read_clean_labels(output_dir) -> dict[str, set[int]]:
    with open(output_dir / synthetic.CLEAN_LABELS_FILE, newline="") as csv_file:
        return {row["VideoId"]: {int(label) for label in row["Labels"].split()}
                for row in csv.DictReader(csv_file)}


def multi_hot(records) -> np.ndarray:
    labels = np.zeros((len(records), CLASSES))
    for row, record in enumerate(records):
        labels[row, record.labels] = 1.0
    return labels


def features(records) -> np.ndarray:
    return np.stack([np.concatenate([record.mean_rgb, record.mean_audio]) for record in records])


@pytest.fixture(scope="module")
def noisy_dir(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("noisy")
    return output_dir, tiny(output_dir)


@pytest.fixture(scope="module")
def noisy_records(noisy_dir):
    output_dir, _ = noisy_dir
    return {partition: read_partition(output_dir, partition) for partition in synthetic.PARTITIONS}


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("clean")
    tiny(output_dir, label_noise=0.0)
    return output_dir


def test_writes_the_named_files_and_summary(noisy_dir):
    output_dir, summary = noisy_dir
    expected = [f"{partition}{shard:04d}.tfrecord" for partition in synthetic.PARTITIONS
                for shard in range(SHARDS)] + ["clean_labels.csv"]
    assert sorted(os.listdir(output_dir)) == sorted(expected)
    assert [os.path.basename(path) for path in summary["files"]] == expected
    assert summary["videos"] == {"train": 120, "validate": 40, "test": 40}
    assert summary["classes"] == CLASSES
    assert summary["label_noise"] == NOISE


def test_every_record_reads_back_in_the_real_format(noisy_dir, noisy_records):
    _, summary = noisy_dir
    for partition, records in noisy_records.items():
        assert len(records) == summary["videos"][partition]
        for record in records:
            assert re.fullmatch(r"[0-9a-zA-Z]{4}", record.video_id)
            assert record.mean_rgb.shape == (RGB_SIZE,) and record.mean_audio.shape == (AUDIO_SIZE,)
            assert record.labels.size >= 1  # test records carry labels too
            assert 0 <= record.labels.min() and record.labels.max() < CLASSES


def test_features_lie_in_the_real_dequantized_range(noisy_records):
    values = features(noisy_records["train"])
    assert values.min() >= -2.0 and values.max() <= 2.0
    assert 0.2 < values.std() < 1.0


def test_ids_are_unique_across_partitions_and_match_clean_labels(noisy_dir, noisy_records):
    output_dir, _ = noisy_dir
    ids = [record.video_id for records in noisy_records.values() for record in records]
    assert len(set(ids)) == len(ids) == VIDEOS
    assert set(read_clean_labels(output_dir)) == set(ids)


def test_same_seed_gives_identical_bytes(noisy_dir, tmp_path):
    output_dir, _ = noisy_dir
    tiny(tmp_path)
    for name in os.listdir(output_dir):
        assert (tmp_path / name).read_bytes() == (output_dir / name).read_bytes(), name


def test_other_seed_gives_other_data(noisy_dir, tmp_path):
    output_dir, _ = noisy_dir
    tiny(tmp_path, seed=8)
    assert (tmp_path / "train0000.tfrecord").read_bytes() != (output_dir / "train0000.tfrecord").read_bytes()


def test_class_frequency_falls_off_like_the_vocabulary(clean_dir):
    counts = np.zeros(CLASSES)
    for labels in read_clean_labels(clean_dir).values():
        counts[list(labels)] += 1
    decile = CLASSES // 10
    assert counts[:decile].mean() > 3 * counts[-decile:].mean()
    assert np.corrcoef(np.arange(CLASSES), counts)[0, 1] < -0.7


def test_labels_per_video(noisy_dir, noisy_records, clean_dir):
    _, summary = noisy_dir
    noisy_counts = [record.labels.size for records in noisy_records.values() for record in records]
    clean_counts = [len(labels) for labels in read_clean_labels(clean_dir).values()]
    assert min(noisy_counts) >= 1 and min(clean_counts) >= 1
    assert 1.5 <= np.mean(noisy_counts) <= 5 and 1.5 <= np.mean(clean_counts) <= 5
    assert summary["mean_labels_per_video"] == pytest.approx(np.mean(noisy_counts))


def test_label_noise_drops_and_adds_labels(noisy_dir, noisy_records):
    clean = read_clean_labels(noisy_dir[0])
    records = [record for records in noisy_records.values() for record in records]
    dropped = sum(len(clean[r.video_id] - set(r.labels.tolist())) for r in records)
    added = sum(len(set(r.labels.tolist()) - clean[r.video_id]) for r in records)
    true_labels = sum(len(labels) for labels in clean.values())
    assert 0.05 < dropped / true_labels < 0.3  # p/2 = 0.15, less where a video's last label is kept
    assert 0.15 < added / VIDEOS < 0.45  # p = 0.3


def test_without_noise_records_hold_the_clean_labels(clean_dir, noisy_dir):
    clean = read_clean_labels(clean_dir)
    for partition in synthetic.PARTITIONS:
        for record in read_partition(clean_dir, partition):
            assert set(record.labels.tolist()) == clean[record.video_id]
    assert clean == read_clean_labels(noisy_dir[0])  # the truth does not depend on the noise


def test_a_linear_model_learns_far_above_the_prior(noisy_records):
    train, test = noisy_records["train"], noisy_records["test"]
    train_labels, test_labels = multi_hot(train), multi_hot(test)
    # Ridge regression in its dual form: 120 videos, 1152 features.
    train_features = features(train)
    weights = np.linalg.solve(train_features @ train_features.T + 10.0 * np.eye(len(train)), train_labels)
    scores = features(test) @ (train_features.T @ weights)
    model_hit_rate = test_labels[np.arange(len(test)), scores.argmax(axis=1)].mean()
    prior_hit_rate = test_labels[:, train_labels.mean(axis=0).argmax()].mean()
    assert model_hit_rate > prior_hit_rate + 0.3
    assert model_hit_rate > 2 * prior_hit_rate


def test_shards_shrink_to_tiny_partitions(tmp_path):
    summary = tiny(tmp_path, videos=10, shards=4)
    assert summary["videos"] == {"train": 6, "validate": 2, "test": 2}
    assert sorted(name for name in os.listdir(tmp_path) if name.startswith("test")) == [
        "test0000.tfrecord", "test0001.tfrecord"]


def test_empty_partition_writes_no_files(tmp_path):
    summary = tiny(tmp_path, test_fraction=0.0)
    assert summary["videos"]["test"] == 0
    assert not list(tmp_path.glob("test*"))


@pytest.mark.parametrize("overrides, message", [
    (dict(videos=9), "videos must be between 10"),
    (dict(classes=1), "classes must be at least 2"),
    (dict(label_noise=1.0), r"label_noise must be in \[0, 1\)"),
    (dict(label_noise=-0.1), r"label_noise must be in \[0, 1\)"),
    (dict(shards=0), "shards must be at least 1"),
    (dict(seed=-1), "seed must be non-negative"),
    (dict(test_fraction=1.5), r"test_fraction must be in \[0, 1\)"),
    (dict(test_fraction=0.5, validate_fraction=0.5), "leaves no training videos"),
])
def test_invalid_arguments_are_refused(tmp_path, overrides, message):
    with pytest.raises(UserError, match=message):
        tiny(tmp_path / "out", **overrides)
    assert not (tmp_path / "out").exists()
