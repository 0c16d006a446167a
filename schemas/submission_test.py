import numpy as np
import pytest

from common.errors import InvalidInputError
from schemas.submission import HEADER, read_submission, write_submission, write_submission_rows

VIDEO_IDS = ["Aa01", "Bb02", "Cc03", "Dd04", "Ee05", "Ff06", "Gg07"]
NUM_CLASSES = 12


def tie_free_predictions(k):
    """Each video's k best of distinct scores with at most 6 significant digits, so `%.6g`
    round-trips them: (class_ids, scores), best first."""
    rng = np.random.default_rng(0)
    scores = (rng.permutation(len(VIDEO_IDS) * NUM_CLASSES) + 1).reshape(len(VIDEO_IDS), NUM_CLASSES) / 1000.0
    class_ids = np.argsort(-scores, axis=1)[:, :k]
    return class_ids, np.take_along_axis(scores, class_ids, axis=1)


def write_text(path, text):
    path.write_text(text)
    return str(path)


def test_written_submission_reads_back_equal(tmp_path):
    class_ids, top_scores = tie_free_predictions(5)
    reversed_rows = class_ids[:, ::-1], top_scores[:, ::-1]  # the writer sorts by score itself
    path = str(tmp_path / "submission.csv")
    write_submission(path, VIDEO_IDS, *reversed_rows)
    submission = read_submission(path)
    assert list(submission) == VIDEO_IDS
    for video_id, row_classes, row_scores in zip(VIDEO_IDS, class_ids, top_scores):
        read_classes, read_scores = submission[video_id]
        np.testing.assert_array_equal(read_classes, row_classes)
        np.testing.assert_array_equal(read_scores, row_scores)
        assert read_classes.dtype == np.int64 and read_scores.dtype == np.float64
    assert not [p for p in tmp_path.iterdir() if p.name != "submission.csv"]  # no temp file left


def test_written_submission_format(tmp_path):
    path = tmp_path / "submission.csv"
    write_submission(str(path), ["vid1"], [[3, 7, -1]], [[0.25, 0.123456789, -np.inf]])
    assert path.read_text() == "VideoId,LabelConfidencePairs\nvid1,3 0.25 7 0.123457\n"


def test_write_submission_rejects_repeated_video(tmp_path):
    with pytest.raises(ValueError, match="repeat"):
        write_submission(str(tmp_path / "s.csv"), ["a", "a"], [[1], [2]], [[0.5], [0.5]])


@pytest.mark.parametrize("text, message", [
    ("VideoId,Labels\nabc,1 0.5\n", r"line 1: header is 'VideoId,Labels'"),
    (HEADER + "\nabc,1 0.5\ndef,1 0.5 2\n", r"line 3: odd number of tokens \(3\)"),
    (HEADER + "\nabc,1 high\n", r"line 2: score 'high' is not a number"),
    (HEADER + "\nabc,1.5 0.3\n", r"line 2: class id '1.5' is not a number"),
    (HEADER + "\nabc,1 nan\n", r"line 2: non-finite score"),
    (HEADER + "\nabc,1 0.5\n\nabc,2 0.5\n", r"line 4: VideoId 'abc' already given on line 2"),
    (HEADER + "\nabc,1 0.5 1 0.4\n", r"line 2: a class id appears twice"),
    (HEADER + "\nabc 1 0.5\n", r"line 2: expected 'VideoId,label score"),
])
def test_read_submission_rejects_bad_input(tmp_path, text, message):
    path = write_text(tmp_path / "bad.csv", text)
    with pytest.raises(InvalidInputError, match=r"bad.csv: " + message):
        read_submission(path)


def test_read_submission_missing_file(tmp_path):
    with pytest.raises(InvalidInputError, match=r"absent.csv: cannot read"):
        read_submission(str(tmp_path / "absent.csv"))


def test_read_submission_accepts_empty_rows_and_trailing_blank_line(tmp_path):
    path = write_text(tmp_path / "s.csv", HEADER + "\nabc,\ndef,4 0.25 1 0.5\n\n")
    submission = read_submission(path)
    assert submission["abc"][0].size == 0
    np.testing.assert_array_equal(submission["def"][0], [4, 1])
    np.testing.assert_array_equal(submission["def"][1], [0.25, 0.5])


def test_rows_are_written_as_they_come_and_a_bad_one_leaves_no_file(tmp_path):
    path = tmp_path / "s.csv"

    def rows():
        yield "a", np.array([2, 5]), np.array([0.1, 0.9])
        yield "b", np.array([1]), np.array([np.nan])

    with pytest.raises(ValueError, match="scores of video 'b' hold NaN"):
        write_submission_rows(str(path), rows())
    with pytest.raises(ValueError, match="video id 'a,b' holds a comma"):
        write_submission_rows(str(path), iter([("a,b", [1], [0.5])]))
    assert not list(tmp_path.iterdir())
    write_submission_rows(str(path), iter([("a", [2, 5], [0.1, 0.9])]))
    assert path.read_text() == "VideoId,LabelConfidencePairs\na,5 0.9 2 0.1\n"
