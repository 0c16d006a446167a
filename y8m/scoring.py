"""`y8m score`: a Kaggle submission (schemas/submission.py) scored against video-level labels."""
import numpy as np

from common.errors import InvalidInputError
from models import metrics
from schemas.submission import read_submission

MAX_IDS_NAMED = 5


def read_labels(patterns: list[str], num_classes: int) -> dict[str, np.ndarray]:
    """video_id -> int64 label array from the video-level TFRecords matching `patterns`.

    A pattern matching no file, an invalid record, or a video id found twice raises
    InvalidInputError naming the pattern, or the file and record.
    """
    # Lazily: reading and writing submission files should not need TensorFlow.
    from schemas.video_level import read_video_records
    from common.input_files import expand_patterns

    labels = {}
    first_seen = {}
    for path in expand_patterns(patterns, "label"):
        for index, record in enumerate(read_video_records(path, num_classes)):
            if record.video_id in labels:
                raise InvalidInputError(f"{path}: record {index}: video id '{record.video_id}' "
                                        f"already read from {first_seen[record.video_id]}")
            labels[record.video_id] = record.labels
            first_seen[record.video_id] = f"{path} record {index}"
    return labels


def score_submission(submission_path: str, label_patterns: list[str],
                     num_classes: int = 3862, k: int = 20) -> dict:
    """Scores a submission file against labelled video-level records (GAP@k etc.).

    Videos are joined by id, never by position: every labelled video must be in the
    submission and every submitted video labelled. A video with more than k pairs is an
    error (the file was meant for another k); rows with fewer are padded with pairs that
    match nothing. Returns `models.metrics.evaluate`'s dict.
    """
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    submission = read_submission(submission_path, max_pairs=k, num_classes=num_classes)
    labels = read_labels(label_patterns, num_classes)
    _check_same_videos(submission_path, label_patterns, submission, labels)
    video_ids = sorted(labels)
    class_ids, top_scores = _top_k_rows(submission, video_ids, k)
    return metrics.evaluate(class_ids, top_scores, [labels[v] for v in video_ids], num_classes)


def _check_same_videos(submission_path: str, label_patterns: list[str], submission: dict, labels: dict) -> None:
    unsubmitted = sorted(labels.keys() - submission.keys())
    if unsubmitted:
        raise InvalidInputError(f"{submission_path}: {len(unsubmitted)} labelled videos are missing, "
                                f"e.g. {_some(unsubmitted)}")
    unlabelled = sorted(submission.keys() - labels.keys())
    if unlabelled:
        raise InvalidInputError(f"{submission_path}: {len(unlabelled)} videos have no record in "
                                f"{', '.join(label_patterns)}, e.g. {_some(unlabelled)}")


def _some(video_ids: list[str]) -> str:
    return ", ".join(video_ids[:MAX_IDS_NAMED])


def _top_k_rows(submission: dict, video_ids: list[str], k: int):
    """[N, k] arrays of each video's pairs (at most k), best first; padding has class -1
    and score -inf, so it ranks last and matches no label."""
    class_ids = np.full((len(video_ids), k), -1, dtype=np.int64)
    top_scores = np.full((len(video_ids), k), -np.inf)
    for row, video_id in enumerate(video_ids):
        video_classes, video_scores = submission[video_id]
        best = np.argsort(-video_scores, kind="stable")
        class_ids[row, :best.size] = video_classes[best]
        top_scores[row, :best.size] = video_scores[best]
    return class_ids, top_scores
