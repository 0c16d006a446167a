"""Kaggle submission files: the header `VideoId,LabelConfidencePairs`, then one line per
video, `id,label score label score ...` (space-separated pairs, best first)."""
import os
import tempfile

import numpy as np

from common.errors import InvalidInputError
from schemas.video_ids import check_video_id

HEADER = "VideoId,LabelConfidencePairs"


def read_submission(path: str, max_pairs: int | None = None,
                    num_classes: int | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """video_id -> (class_ids int64, scores float64), pairs in file order.

    Raises InvalidInputError naming the file and line for a missing file, wrong
    header, odd token count, non-numeric or non-finite token, negative class id or
    one of `num_classes` or more, a class repeated within a line, more than
    `max_pairs` pairs, or a repeated VideoId.
    """
    try:
        with open(path, encoding="utf-8-sig") as lines:  # -sig: tolerate a byte-order mark
            return _parse_submission(path, lines, max_pairs, num_classes)
    except OSError as error:
        raise InvalidInputError(f"{path}: cannot read the submission ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise InvalidInputError(f"{path}: not UTF-8 text ({error.reason})") from None


def _parse_submission(path: str, lines, max_pairs: int | None,
                      num_classes: int | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    header = next(lines, "").strip()
    if header != HEADER:
        raise InvalidInputError(f"{path}: line 1: header is '{header[:80]}', expected '{HEADER}'")
    submission = {}
    line_of_video = {}
    for line_number, line in enumerate(lines, start=2):
        if not line.strip():
            continue  # a trailing blank line is common and harmless
        try:
            video_id, class_ids, scores = _parse_line(line)
        except ValueError as error:
            raise InvalidInputError(f"{path}: line {line_number}: {error}") from None
        if num_classes is not None and class_ids.size and class_ids.max() >= num_classes:
            raise InvalidInputError(f"{path}: line {line_number}: class id {class_ids.max()} of '{video_id}' "
                                    f"is outside the vocabulary 0..{num_classes - 1}")
        if max_pairs is not None and class_ids.size > max_pairs:
            raise InvalidInputError(f"{path}: line {line_number}: {class_ids.size} label/score pairs for "
                                    f"'{video_id}', at most {max_pairs} are scored: keep each video's best {max_pairs}")
        if video_id in submission:
            raise InvalidInputError(f"{path}: line {line_number}: VideoId '{video_id}' "
                                    f"already given on line {line_of_video[video_id]}")
        submission[video_id] = (class_ids, scores)
        line_of_video[video_id] = line_number
    return submission


def _parse_line(line: str) -> tuple[str, np.ndarray, np.ndarray]:
    video_id, comma, pairs = line.strip().partition(",")
    if not comma or not video_id:
        raise ValueError("expected 'VideoId,label score label score ...'")
    tokens = pairs.split()
    if len(tokens) % 2:
        raise ValueError(f"odd number of tokens ({len(tokens)}) in the label/score pairs of '{video_id}'")
    class_ids = np.array([_parse_token(int, token, "class id") for token in tokens[0::2]], dtype=np.int64)
    scores = np.array([_parse_token(float, token, "score") for token in tokens[1::2]], dtype=np.float64)
    if class_ids.size and class_ids.min() < 0:
        raise ValueError(f"negative class id {class_ids.min()}")
    if not np.isfinite(scores).all():
        raise ValueError(f"non-finite score {scores[~np.isfinite(scores)][0]}")
    if np.unique(class_ids).size != class_ids.size:
        raise ValueError(f"a class id appears twice for '{video_id}'")
    return video_id, class_ids, scores


def _parse_token(kind, token: str, what: str):
    try:
        return kind(token)
    except ValueError:
        raise ValueError(f"{what} '{token[:40]}' is not a number") from None


def write_submission(path: str, video_ids, class_ids, top_scores) -> None:
    """write_submission_rows of arrays: class_ids and top_scores [videos, pairs]."""
    video_ids = [str(video_id) for video_id in video_ids]
    class_ids = np.asarray(class_ids, dtype=np.int64)
    top_scores = np.asarray(top_scores, dtype=np.float64)
    if class_ids.ndim != 2 or class_ids.shape != top_scores.shape or len(class_ids) != len(video_ids):
        raise ValueError(f"{len(video_ids)} video ids, class_ids {class_ids.shape} and "
                         f"top_scores {top_scores.shape} do not match")
    write_submission_rows(path, zip(video_ids, class_ids, top_scores))


def write_submission_rows(path: str, rows) -> None:
    """Writes one line per (video id, class ids, scores) of `rows`, as they come, pairs
    sorted by score descending as `%d %.6g`; holds only the ids written (a submission
    holds every video once).

    Pairs with a negative class id (padding) are left out. The file is written under a
    temporary name and renamed, so `path` never holds a half-written submission.
    """
    def lines():
        yield HEADER
        written = set()
        for video_id, class_ids, scores in rows:
            video_id = str(video_id)
            class_ids, scores = np.asarray(class_ids, np.int64), np.asarray(scores, np.float64)
            if video_id in written:
                raise ValueError(f"video id {video_id!r} repeats; a submission holds every video once")
            check_video_id(video_id)
            if not np.isfinite(scores[class_ids >= 0]).all():
                raise ValueError(f"the scores of video {video_id!r} hold NaN or infinite values")
            written.add(video_id)
            by_score = np.argsort(-scores, kind="stable")
            yield format_line(video_id, class_ids[by_score], scores[by_score])
    _write_atomically(path, lines())


def format_line(video_id: str, class_ids: np.ndarray, scores: np.ndarray) -> str:
    pairs = " ".join("%d %.6g" % pair for pair in zip(class_ids, scores) if pair[0] >= 0)
    return f"{video_id},{pairs}"


def _write_atomically(path: str, lines) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp_path = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp_file:
            temp_file.writelines(line + "\n" for line in lines)
        os.chmod(temp_path, 0o644)  # mkstemp makes it owner-only; a submission is shared
        os.replace(temp_path, path)
    except BaseException:
        os.unlink(temp_path)
        raise
