import numpy as np
import pytest

from models import metrics
from schemas.submission import HEADER, write_submission
from y8m import scoring
from common.errors import InvalidInputError

NUM_CLASSES = 12
VIDEO_IDS = ["Aa01", "Bb02", "Cc03", "Dd04", "Ee05", "Ff06", "Gg07"]
VIDEO_LABELS = [[0, 3], [1], [2, 5, 7], [], [11], [4, 6], [0, 1, 2, 3, 4, 5, 6, 7]]


def write_records(path, video_ids, labels):
    import tensorflow as tf

    from schemas.video_level import AUDIO_SIZE, RGB_SIZE, make_example

    with tf.io.TFRecordWriter(str(path)) as writer:
        for video_id, video_labels in zip(video_ids, labels):
            writer.write(make_example(video_id, video_labels, np.zeros(RGB_SIZE), np.zeros(AUDIO_SIZE))
                         .SerializeToString())


@pytest.fixture(scope="module")
def label_shards(tmp_path_factory):
    """Two TFRecord shards holding the videos of VIDEO_IDS, split 4 + 3."""
    directory = tmp_path_factory.mktemp("labels")
    write_records(directory / "part0.tfrecord", VIDEO_IDS[:4], VIDEO_LABELS[:4])
    write_records(directory / "part1.tfrecord", VIDEO_IDS[4:], VIDEO_LABELS[4:])
    return str(directory / "part*.tfrecord")


def tie_free_predictions(k):
    """Distinct scores with at most 6 significant digits, so `%.6g` round-trips them."""
    rng = np.random.default_rng(0)
    scores = (rng.permutation(len(VIDEO_IDS) * NUM_CLASSES) + 1).reshape(len(VIDEO_IDS), NUM_CLASSES) / 1000.0
    return metrics.top_k(scores, k)


def write_text(path, text):
    path.write_text(text)
    return str(path)


def test_read_labels(label_shards):
    labels = scoring.read_labels([label_shards], NUM_CLASSES)
    assert sorted(labels) == sorted(VIDEO_IDS)
    for video_id, video_labels in zip(VIDEO_IDS, VIDEO_LABELS):
        np.testing.assert_array_equal(labels[video_id], video_labels)


def test_read_labels_rejects_empty_pattern_and_duplicate_ids(tmp_path, label_shards):
    missing = str(tmp_path / "nothing*.tfrecord")
    with pytest.raises(InvalidInputError, match="label pattern '.*nothing\\*.tfrecord' matches no file"):
        scoring.read_labels([missing], NUM_CLASSES)
    write_records(tmp_path / "again.tfrecord", VIDEO_IDS[:1], VIDEO_LABELS[:1])
    with pytest.raises(InvalidInputError, match=r"again.tfrecord: record 0: video id 'Aa01'"):
        scoring.read_labels([label_shards, str(tmp_path / "again.tfrecord")], NUM_CLASSES)


@pytest.mark.parametrize("k", [3, 20])
def test_score_submission_equals_evaluate(tmp_path, label_shards, k):
    class_ids, top_scores = tie_free_predictions(k)
    path = str(tmp_path / "submission.csv")
    order = [3, 0, 6, 1, 5, 2, 4]  # a different video order: the join is by id
    write_submission(path, [VIDEO_IDS[i] for i in order], class_ids[order], top_scores[order])
    result = scoring.score_submission(path, [label_shards], NUM_CLASSES, k=k)
    labels = [np.array(video_labels, dtype=np.int64) for video_labels in VIDEO_LABELS]
    assert result == pytest.approx(metrics.evaluate(class_ids, top_scores, labels, NUM_CLASSES), abs=1e-12)


def test_score_submission_pads_short_rows(tmp_path, label_shards):
    class_ids, top_scores = tie_free_predictions(4)
    short = class_ids.copy(), top_scores.copy()
    short[0][0, 2:], short[1][0, 2:] = -1, -np.inf  # the first video submits 2 pairs only
    path = str(tmp_path / "submission.csv")
    write_submission(path, VIDEO_IDS, *short)
    labels = [np.array(video_labels, dtype=np.int64) for video_labels in VIDEO_LABELS]
    assert scoring.score_submission(path, [label_shards], NUM_CLASSES, k=4) == pytest.approx(
        metrics.evaluate(*short, labels, NUM_CLASSES), abs=1e-12)


def test_score_submission_names_missing_and_extra_videos(tmp_path, label_shards):
    class_ids, top_scores = tie_free_predictions(3)
    path = str(tmp_path / "submission.csv")
    write_submission(path, VIDEO_IDS[:5], class_ids[:5], top_scores[:5])
    with pytest.raises(InvalidInputError, match=r"submission.csv: 2 labelled videos are missing, e.g. Ff06, Gg07"):
        scoring.score_submission(path, [label_shards], NUM_CLASSES)
    write_submission(path, VIDEO_IDS + ["Zz99"], np.vstack([class_ids, class_ids[:1]]),
                             np.vstack([top_scores, top_scores[:1]]))
    with pytest.raises(InvalidInputError, match=r"1 videos have no record in .*, e.g. Zz99"):
        scoring.score_submission(path, [label_shards], NUM_CLASSES)


def test_score_submission_rejects_class_outside_vocabulary(tmp_path, label_shards):
    path = write_text(tmp_path / "s.csv", HEADER + "\n" + "".join(
        f"{video_id},{NUM_CLASSES if i == 2 else 0} 0.5\n" for i, video_id in enumerate(VIDEO_IDS)))
    with pytest.raises(InvalidInputError, match=r"s.csv: line 4: class id 12 of 'Cc03' is outside the vocabulary"):
        scoring.score_submission(path, [label_shards], NUM_CLASSES)
