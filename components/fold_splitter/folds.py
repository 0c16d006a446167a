"""The one fold assignment of the pipeline: a pure function of the video id.

Every stage (L1 models, stacker, soft labels, frame-level data) uses the same
assignment, so out-of-fold predictions of different models are comparable. About
`holdout_fraction` of the labelled videos form a held-out split that nothing trains on:
the student, whose targets come from teachers trained on every fold, is judged there.
"""
import hashlib

HOLDOUT = -1
TEST = -2


def fold_split_name(fold: int) -> str:
    return f"fold_{fold}"


def _unit_hash(video_id: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{video_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def fold_of(video_id: str, num_folds: int, holdout_fraction: float, seed: int = 0) -> int:
    """The fold 0..num_folds-1 of a labelled video, or HOLDOUT."""
    position = _unit_hash(video_id, seed)
    if position < holdout_fraction:
        return HOLDOUT
    fold = int((position - holdout_fraction) / (1.0 - holdout_fraction) * num_folds)
    return min(fold, num_folds - 1)


def split_of(fold: int) -> str:
    """The split name of a fold number (HOLDOUT and TEST included)."""
    if fold == HOLDOUT:
        return "holdout"
    if fold == TEST:
        return "test"
    return fold_split_name(fold)


def split_names(num_folds: int) -> list[str]:
    return [fold_split_name(k) for k in range(num_folds)] + ["holdout", "test"]


def validate(num_folds: int, holdout_fraction: float) -> None:
    from common.errors import UserError
    if num_folds < 2:
        raise UserError(f"folds must be at least 2, got {num_folds}")
    if not 0.0 < holdout_fraction < 0.5:
        raise UserError(f"holdout_fraction must lie in (0, 0.5), got {holdout_fraction}")
