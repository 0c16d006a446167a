import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from components.soft_label_indexer.index import (JoinSoftLabels, keyed_soft_labels, labelled_records, soft_label_route,
                                                 with_soft_labels)
from schemas import predictions as rows
from schemas import video_level
from schemas.soft_labels import SOFT_IDS_KEY, SOFT_VALUES_KEY
from common.errors import InvalidInputError


def write(path, records):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)


def video(video_id):
    return video_level.make_example(video_id, [1], np.zeros(1024), np.zeros(128)).SerializeToString()


def test_soft_labels_attach_to_their_video_in_its_fold(tmp_path):
    write(tmp_path / "fold0.tfrecord", [video("a"), video("b")])
    write(tmp_path / "fold1.tfrecord", [video("c")])
    write(tmp_path / "soft.tfrecord", [rows.encode_prediction(v, [0.5, 0.25], class_ids=[3, 7]) for v in "cab"])

    def summary(pair):
        fold, serialized = pair
        feature = tf.train.Example.FromString(serialized).features.feature
        return (fold, feature["id"].bytes_list.value[0].decode(), tuple(feature[SOFT_IDS_KEY].int64_list.value),
                tuple(feature[SOFT_VALUES_KEY].float_list.value))

    with TestPipeline() as pipeline:
        joined = pipeline | JoinSoftLabels([str(tmp_path / "fold0.tfrecord"), str(tmp_path / "fold1.tfrecord")],
                                           str(tmp_path / "soft.tfrecord"))
        expected = [(0, "a", (3, 7), (0.5, 0.25)), (0, "b", (3, 7), (0.5, 0.25)), (1, "c", (3, 7), (0.5, 0.25))]
        assert_that(joined | "Summary" >> beam.Map(summary), equal_to(expected))


def test_a_video_without_soft_labels_is_an_error():
    with pytest.raises(InvalidInputError, match="video 'a': 1 video records and 0 soft-label rows"):
        soft_label_route("a", {"video": [(0, 0)], "soft": []})


def test_a_fold_file_that_changed_between_the_passes_is_an_error(tmp_path):
    write(tmp_path / "fold0.tfrecord", [video("a"), video("b")])
    soft = (np.array([3], np.int64).tobytes(), np.array([0.5], np.float32).tobytes())
    files = [(0, str(tmp_path / "fold0.tfrecord"))]
    with pytest.raises(InvalidInputError, match="record 1 changed while the job ran"):
        list(labelled_records((0, [(0, soft)]), files))
    with pytest.raises(InvalidInputError, match="lost records"):
        list(labelled_records((0, [(0, soft), (1, soft), (2, soft)]), files))


def test_the_records_written_are_the_row_by_row_ones_byte_for_byte(tmp_path, monkeypatch):
    """Batches of 2 records (several per file): each output record is its video's record
    parsed, given the soft labels of its stack row decoded on its own, and serialized."""
    monkeypatch.setattr(video_level, "SCAN_BATCH", 2)
    rng = np.random.default_rng(3)
    folds = [[video(f"v{fold}{i}") for i in range(5)] for fold in range(2)]
    for fold, records in enumerate(folds):
        write(tmp_path / f"fold{fold}.tfrecord", records)
    soft_rows = [rows.encode_prediction(video_level.video_id_of(record), rng.random(n).astype(np.float32),
                                        class_ids=rng.choice(50, n, replace=False))
                 for n, record in zip(range(1, 11), folds[0] + folds[1])]
    write(tmp_path / "soft-0.tfrecord", soft_rows[:7])
    write(tmp_path / "soft-1.tfrecord", soft_rows[7:])
    decoded = {row.video_id: row for row in map(rows.decode_prediction, soft_rows)}
    expected = [(fold, with_soft_labels(record, (decoded[video_level.video_id_of(record)].class_ids.tobytes(),
                                                 decoded[video_level.video_id_of(record)].scores.tobytes())))
                for fold, records in enumerate(folds) for record in records]
    with TestPipeline() as pipeline:
        joined = pipeline | JoinSoftLabels([str(tmp_path / "fold0.tfrecord"), str(tmp_path / "fold1.tfrecord")],
                                           str(tmp_path / "soft-*.tfrecord"))
        assert_that(joined, equal_to(expected))


@pytest.mark.parametrize("row, message", [
    (rows.encode_prediction("b", [0.5, 0.5]), "stack prediction of video 'b' is dense"),
    (rows.encode_prediction("b", [0.5, 1.5], class_ids=[1, 2]), "video 'b' is not a probability in \\[0, 1\\]"),
    (rows.encode_prediction("b", [0.5, np.nan], class_ids=[1, 2]), "video 'b' is not a probability"),
])
def test_a_stack_row_that_is_not_sparse_probabilities_is_an_error(tmp_path, row, message):
    write(tmp_path / "soft.tfrecord", [rows.encode_prediction("a", [0.5], class_ids=[3]), row])
    with pytest.raises(InvalidInputError, match=message):
        list(keyed_soft_labels(str(tmp_path / "soft.tfrecord")))
