import collections
import types

import numpy as np
import pytest
import tensorflow as tf

from common.errors import UserError
from schemas import fold_bounds, splits, video_level

IDS = [f"{i:04x}" for i in range(20000)]


def test_fold_of_is_a_pure_function_of_the_id():
    assert [splits.fold_of(v, 5, 0.1) for v in IDS[:100]] == [splits.fold_of(v, 5, 0.1) for v in IDS[:100]]
    assert splits.fold_of("abcd", 5, 0.1, seed=0) == splits.fold_of("abcd", 5, 0.1, seed=0)


def test_the_fold_of_an_id_is_pinned():
    # A change of hash or formula would move videos between the folds of earlier runs.
    assert [splits.fold_of(f"{i:04x}", 5, 0.1) for i in range(12)] == [1, 0, -1, 3, -1, 1, 4, 3, 4, 4, 3, 4]
    assert [splits.fold_of(v, 3, 0.2, seed=7) for v in ("abcd", "Xy9k", "0000", "zzzz")] == [1, 2, 1, 2]


def test_folds_are_balanced_and_holdout_has_its_fraction():
    counts = collections.Counter(splits.fold_of(v, 5, 0.1) for v in IDS)
    assert counts[splits.HOLDOUT_FOLD] / len(IDS) == pytest.approx(0.1, abs=0.01)
    for fold in range(5):
        assert counts[fold] / len(IDS) == pytest.approx(0.18, abs=0.01)
    assert set(counts) == {splits.HOLDOUT_FOLD, 0, 1, 2, 3, 4}


def test_split_names_and_validation():
    assert splits.fold_split_names(3) == ["fold_0", "fold_1", "fold_2"]
    assert splits.pipeline_split_names(3) == ["fold_0", "fold_1", "fold_2", "holdout", "test"]
    assert splits.split_of(splits.HOLDOUT_FOLD) == "holdout" and splits.split_of(2) == "fold_2"
    assert [splits.prediction_split_of(fold) for fold in splits.pipeline_folds(2)] == ["oof", "oof", "holdout", "test"]
    for folds, holdout_fraction in ((1, 0.1), (fold_bounds.MAX_FOLDS + 1, 0.1), (5, 0.0)):
        with pytest.raises(UserError):
            fold_bounds.validate_folds(folds, holdout_fraction)
    fold_bounds.validate_folds(fold_bounds.MAX_FOLDS, 0.1)


def test_layouts(tmp_path):
    artifact = types.SimpleNamespace(uri=str(tmp_path))
    for fold, video_ids in enumerate((["a", "b"], ["c"])):
        splits.write_split_records(artifact, splits.fold_split_name(fold), [
            video_level.make_example(video_id, [fold, 7], np.zeros(video_level.RGB_SIZE),
                                     np.zeros(video_level.AUDIO_SIZE)).SerializeToString()
            for video_id in video_ids])
    assert [len(tf.io.gfile.glob(pattern)) for pattern in splits.fold_files_patterns(artifact, 2)] == [1, 1]
    assert tf.io.gfile.glob(splits.frame_split_files_pattern(artifact, "fold_0")) == []  # gzipped, not frames


def test_split_records_are_written_a_bounded_number_to_a_file_and_read_back_in_order(tmp_path):
    artifact = types.SimpleNamespace(uri=str(tmp_path))
    records = [f"record {i}".encode() for i in range(7)]
    splits.write_split_records(artifact, splits.OOF, records, records_per_file=3)
    files = sorted(tf.io.gfile.glob(splits.split_files_pattern(artifact, splits.OOF)))
    assert [len(list(tf.data.TFRecordDataset(f, compression_type="GZIP"))) for f in files] == [3, 3, 1]
    assert list(splits.read_split_records(artifact, splits.OOF)) == records
    splits.write_split_records(artifact, splits.HOLDOUT, [], records_per_file=3)
    assert len(tf.io.gfile.glob(splits.split_files_pattern(artifact, splits.HOLDOUT))) == 1
    assert list(splits.read_split_records(artifact, splits.HOLDOUT)) == []


def test_fold_splits_written_in_process_route_every_video_by_its_id(tmp_path):
    labelled, test = str(tmp_path / "train0000.tfrecord"), str(tmp_path / "test0000.tfrecord")
    for path, ids in ((labelled, IDS[:40]), (test, ["t1", "t2"])):
        with tf.io.TFRecordWriter(path) as writer:
            for video_id in ids:
                writer.write(video_level.make_example(video_id, [1], np.zeros(video_level.RGB_SIZE, np.float32),
                                                      np.zeros(video_level.AUDIO_SIZE, np.float32))
                             .SerializeToString())
    artifact = types.SimpleNamespace(uri=str(tmp_path / "split_examples"))
    splits.write_fold_splits(artifact, [labelled], [test], 5, 0.1)
    for fold in splits.pipeline_folds(5):
        ids = [tf.train.Example.FromString(record).features.feature["id"].bytes_list.value[0].decode()
               for record in splits.read_split_records(artifact, splits.split_of(fold))]
        assert ids == (["t1", "t2"] if fold == splits.TEST_FOLD
                       else [v for v in IDS[:40] if splits.fold_of(v, 5, 0.1) == fold])
