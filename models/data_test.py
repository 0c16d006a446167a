import types

import numpy as np
import pytest
import tensorflow as tf

from models import data
from schemas import soft_labels, splits, video_level


def video_record(video_id: str, labels, features=None, soft=None) -> bytes:
    """A video-level record; `soft`: (class ids, values) of its soft labels."""
    features = np.zeros(video_level.FEATURE_SIZE, np.float32) if features is None else features
    example = video_level.make_example(video_id, labels, features[:video_level.RGB_SIZE],
                                       features[video_level.RGB_SIZE:])
    if soft is not None:
        feature = example.features.feature
        feature[soft_labels.SOFT_IDS_KEY].int64_list.value.extend(soft[0])
        feature[soft_labels.SOFT_VALUES_KEY].float_list.value.extend(soft[1])
    return example.SerializeToString()


def write_split(directory, split: str, records) -> str:
    """The records as a gzipped split of an artifact at `directory`; returns its pattern."""
    artifact = types.SimpleNamespace(uri=str(directory))
    splits.write_split_records(artifact, split, records)
    return splits.split_files_pattern(artifact, split)


def test_read_batches_keep_file_order_ids_features_and_labels(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(5, video_level.FEATURE_SIZE)).astype(np.float32)
    labels = [[1], [], [0, 3], [2], [4, 1]]
    pattern = write_split(tmp_path, "fold_0", [video_record(f"v{i}", labels[i], features[i]) for i in range(5)])
    batches = list(data.read_batches([pattern], batch_size=2))
    assert [len(data.ids_of(batch)) for batch in batches] == [2, 2, 1]
    assert [video_id for batch in batches for video_id in data.ids_of(batch)] == [f"v{i}" for i in range(5)]
    np.testing.assert_array_equal(np.concatenate([batch[data.FEATURES].numpy() for batch in batches]), features)
    assert [row.tolist() for batch in batches for row in data.label_rows(batch[data.LABELS])] == labels
    assert data.count_records([pattern]) == 5


def test_labels_by_id_over_several_splits(tmp_path):
    patterns = [write_split(tmp_path, splits.fold_split_name(fold), [video_record(video_id, [fold, 7])
                                                                      for video_id in video_ids])
                for fold, video_ids in enumerate((["a", "b"], ["c"]))]
    labels = data.labels_by_id(patterns)
    assert {video_id: value.tolist() for video_id, value in labels.items()} == {"a": [0, 7], "b": [0, 7], "c": [1, 7]}


def test_targets_densify_hard_soft_and_subset(tmp_path):
    pattern = write_split(tmp_path, "fold_0", [
        video_record("a", [1, 3], soft=([0, 1], [0.2, 0.6])),
        video_record("b", [], soft=([], [])),
        video_record("c", [4, 4], soft=([4], [0.5]))])
    batch = next(iter(data.read_batches([pattern], with_soft_labels=True)))
    hard = data.dense_targets(batch, data.Targets(5)).numpy()
    np.testing.assert_array_equal(hard, [[0, 1, 0, 1, 0], [0] * 5, [0, 0, 0, 0, 1]])  # a repeated label counts once
    mixed = data.dense_targets(batch, data.Targets(5, soft_weight=0.25)).numpy()
    # 0.25·soft + 0.75·hard: class 0 soft only, class 1 both, class 3 hard only.
    np.testing.assert_allclose(mixed, [[0.05, 0.25 * 0.6 + 0.75, 0, 0.75, 0], [0] * 5, [0, 0, 0, 0, 0.25 * 0.5 + 0.75]])
    subset = data.dense_targets(batch, data.Targets(5, soft_weight=0.25, class_subset=(1, 4))).numpy()
    np.testing.assert_allclose(subset, mixed * [0, 1, 0, 0, 1])


def test_training_batches_pass_over_every_video_in_a_new_order_each_time(tmp_path):
    patterns = [write_split(tmp_path, f"fold_{fold}", [
        video_record(f"f{fold}v{i}", [fold], np.full(video_level.FEATURE_SIZE, 10 * fold + i, np.float32))
        for i in range(7)]) for fold in range(3)]
    tf.random.set_seed(0)
    dataset = data.training_batches(patterns, data.Targets(3), batch_size=4, shuffle_buffer=5, seed=1)
    assert int(dataset.cardinality()) == 6  # ceil(21 / 4)

    def one_pass():
        batches = list(dataset)
        features = np.concatenate([x.numpy()[:, 0] for x, _ in batches])
        targets = np.concatenate([y.numpy() for _, y in batches])
        np.testing.assert_array_equal(targets.argmax(axis=1), features // 10)  # targets stay with their video
        return features

    first, second = one_pass(), one_pass()
    assert sorted(first) == sorted(second) == sorted(10 * fold + i for fold in range(3) for i in range(7))
    assert list(first) != list(second)


def test_streams_run_without_autotuning(tmp_path):
    # Deleting an autotuned iterator can wait out its tuning thread's sleep, up to a minute.
    pattern = write_split(tmp_path, "fold_0", [video_record("v0", [0])])
    assert data.read_batches([pattern]).options().autotune.enabled is False
    assert data.training_batches([pattern], data.Targets(2), batch_size=2, shuffle_buffer=3,
                                 seed=0).options().autotune.enabled is False


def test_a_changed_file_count_is_caught(tmp_path):
    pattern = write_split(tmp_path, "fold_0", [video_record(f"v{i}", [0]) for i in range(3)])
    dataset = data.training_batches([pattern], data.Targets(2), batch_size=2, shuffle_buffer=3, seed=0)
    write_split(tmp_path, "fold_0", [video_record(f"v{i}", [0]) for i in range(5)])
    with pytest.raises(tf.errors.FailedPreconditionError):
        list(dataset)


def test_most_frequent_classes_streamed(tmp_path):
    pattern = write_split(tmp_path, "fold_0", [video_record(f"v{i}", labels) for i, labels in
                                                enumerate([[3, 1], [3], [1, 7], [3, 2]])])
    counts = data.label_counts([pattern], 10)
    assert counts.tolist() == [0, 2, 1, 3, 0, 0, 0, 1, 0, 0]
    assert list(data.most_frequent_classes(counts, 2)) == [1, 3]
    assert list(data.most_frequent_classes(counts, 3)) == [1, 2, 3]  # ties: the lower id
