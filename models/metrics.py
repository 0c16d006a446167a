"""YouTube-8M challenge metrics on the top-k representation a submission holds.

Numpy only, float64 throughout (the starter's float32 accumulation drifts by up to
1e-3 on large sets; docs/method.md §4.3). Inputs are `class_ids` [N, k] int, `top_scores`
[N, k] float and `labels`, one int array of true class ids per video (may be empty;
duplicates count once). A negative class id marks padding (a row with fewer than k
pairs): it never matches a label and belongs to no class.

Ties: where the reference implementation shuffles tied scores with `random.seed(0)`,
these metrics keep a deterministic order: within a row, the given order (so
`top_k`'s lower class id first); in pooled sorts, the earlier video first, then the
earlier position in its row. Scores that tie across videos with different labels can
therefore differ from the reference; tie-free scores agree exactly.
"""
from typing import NamedTuple, Sequence

import numpy as np


def top_k(scores: np.ndarray, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """The k' = min(k, C) best classes per row of `scores` [N, C].

    Returns (class_ids [N, k'] int64, top_scores [N, k'] float64), each row sorted by
    score descending, ties broken by lower class id (also at the k-th place).
    """
    scores = np.asarray(scores)
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [videos, classes], got shape {scores.shape}")
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    if np.isnan(scores).any():
        raise ValueError("scores hold NaN")
    num_videos, num_classes = scores.shape
    k = min(k, num_classes)
    # Selected in the scores' own precision (a float32 → float64 cast keeps every order
    # and tie); only the k chosen scores per row are widened.
    selected = _top_k_mask(scores, k)
    class_ids = np.nonzero(selected)[1].reshape(num_videos, k)  # ascending class id per row
    top_scores = np.take_along_axis(scores, class_ids, axis=1).astype(np.float64)
    by_score = np.argsort(-top_scores, axis=1, kind="stable")
    return (np.take_along_axis(class_ids, by_score, axis=1),
            np.take_along_axis(top_scores, by_score, axis=1))


def _top_k_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """[N, C] bool, exactly k True per row: scores above the k-th largest, then the
    lowest class ids among those equal to it (argpartition alone picks ties arbitrarily)."""
    num_classes = scores.shape[1]
    kth_largest = np.partition(scores, num_classes - k, axis=1)[:, num_classes - k, None]
    selected = scores >= kth_largest
    # Only rows with more ties at the k-th place than places left need the tie order.
    places_left = k - (scores > kth_largest).sum(axis=1)
    overfull = np.nonzero(selected.sum(axis=1) > k)[0]
    if overfull.size:
        rows = scores[overfull]
        tied = rows == kth_largest[overfull]
        selected[overfull] = (rows > kth_largest[overfull]) | (
            tied & (np.cumsum(tied, axis=1) <= places_left[overfull, None]))
    return selected


class _Judged(NamedTuple):
    """Predictions with each row sorted by score and every pair judged against the labels."""
    class_ids: np.ndarray  # [N, k] int64, rows sorted by score descending
    top_scores: np.ndarray  # [N, k] float64
    relevant: np.ndarray  # [N, k] bool: the pair's class is a true label of its video
    label_counts: np.ndarray  # [N] int64: distinct true labels per video
    true_classes: np.ndarray  # int64: class of every distinct true (video, label) pair


def _judge(class_ids, top_scores, labels: Sequence) -> _Judged:
    class_ids = np.asarray(class_ids, dtype=np.int64)
    top_scores = np.asarray(top_scores, dtype=np.float64)
    if class_ids.ndim != 2 or class_ids.shape != top_scores.shape:
        raise ValueError(f"class_ids {class_ids.shape} and top_scores {top_scores.shape} "
                         "must be the same [videos, k] shape")
    if len(labels) != class_ids.shape[0]:
        raise ValueError(f"{len(labels)} label arrays for {class_ids.shape[0]} videos")
    if np.isnan(top_scores).any():
        raise ValueError("top_scores hold NaN")
    class_ids, top_scores = _rows_by_score(class_ids, top_scores)

    num_videos = class_ids.shape[0]
    label_lengths = np.fromiter((len(video_labels) for video_labels in labels),
                                dtype=np.int64, count=num_videos)
    flat_labels = (np.concatenate(list(labels)).astype(np.int64) if num_videos
                   else np.zeros(0, dtype=np.int64))
    if flat_labels.size and flat_labels.min() < 0:
        raise ValueError(f"negative label {flat_labels.min()}")
    # One int64 key per (video, class) pair, so matching is a single sorted search.
    key_base = 1 + max(class_ids.max(initial=0), flat_labels.max(initial=0))
    label_videos = np.repeat(np.arange(num_videos, dtype=np.int64), label_lengths)
    true_keys = np.unique(label_videos * key_base + flat_labels)
    pair_keys = np.arange(num_videos, dtype=np.int64)[:, None] * key_base + class_ids
    found_at = np.minimum(np.searchsorted(true_keys, pair_keys), max(true_keys.size - 1, 0))
    relevant = ((class_ids >= 0) & (true_keys[found_at] == pair_keys) if true_keys.size
                else np.zeros(class_ids.shape, dtype=bool))
    label_counts = np.bincount(true_keys // key_base, minlength=num_videos)
    return _Judged(class_ids, top_scores, relevant, label_counts, true_keys % key_base)


def _rows_by_score(class_ids: np.ndarray, top_scores: np.ndarray):
    """Sorts each row by score descending (stable); skipped when already sorted."""
    if np.all(top_scores[:, :-1] >= top_scores[:, 1:]):
        return class_ids, top_scores
    by_score = np.argsort(-top_scores, axis=1, kind="stable")
    return (np.take_along_axis(class_ids, by_score, axis=1),
            np.take_along_axis(top_scores, by_score, axis=1))


def _average_precision(relevant_in_rank_order: np.ndarray, num_positives: int) -> float:
    """Σ_i rel(i)·precision@i / num_positives over one ranked list; 0 without positives."""
    if num_positives == 0:
        return 0.0
    hits = np.cumsum(relevant_in_rank_order)
    precision = hits / np.arange(1, hits.size + 1, dtype=np.float64)
    return float(precision[relevant_in_rank_order].sum() / num_positives)


def _pooled_rank_order(judged: _Judged) -> np.ndarray:
    """Indices of the flattened pairs by score descending; stable, so ties keep the
    row-major order (earlier video, then earlier position in its row)."""
    return np.argsort(-judged.top_scores.reshape(-1), kind="stable")


def _gap(judged: _Judged, rank_order: np.ndarray) -> float:
    return _average_precision(judged.relevant.reshape(-1)[rank_order], judged.true_classes.size)


def _hit_at_1(judged: _Judged) -> float:
    num_videos = judged.relevant.shape[0]
    if num_videos == 0 or judged.relevant.shape[1] == 0:
        return 0.0
    return float(judged.relevant[:, 0].sum() / num_videos)


def _perr(judged: _Judged) -> float:
    labelled = judged.label_counts > 0
    if not labelled.any():
        return 0.0
    num_kept = np.minimum(judged.label_counts[labelled], judged.class_ids.shape[1])
    within_top_l = np.arange(judged.class_ids.shape[1])[None, :] < num_kept[:, None]
    counted = judged.relevant[labelled] & (judged.top_scores[labelled] > 0) & within_top_l
    # num_kept is 0 only when k' = 0; such a video's precision is 0.
    precision = counted.sum(axis=1) / np.maximum(num_kept, 1)
    return float(precision.mean())


def _per_class_ap(judged: _Judged, rank_order: np.ndarray, num_classes: int) -> np.ndarray:
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    if max(judged.class_ids.max(initial=-1), judged.true_classes.max(initial=-1)) >= num_classes:
        raise ValueError(f"class ids and labels must lie in 0..{num_classes - 1}")
    classes = judged.class_ids.reshape(-1)[rank_order]
    relevant = judged.relevant.reshape(-1)[rank_order]
    real = classes >= 0
    classes, relevant = classes[real], relevant[real]
    # A stable sort by class keeps the pooled rank order within each class; uint16
    # keys make numpy use radix sort (an int64 sort of 20M pairs takes seconds).
    class_keys = classes.astype(np.uint16) if num_classes <= 1 << 16 else classes
    by_class = np.argsort(class_keys, kind="stable")
    classes, relevant = classes[by_class], relevant[by_class]
    pairs_per_class = np.bincount(classes, minlength=num_classes)
    class_starts = (np.cumsum(pairs_per_class) - pairs_per_class)[classes]
    rank_in_class = np.arange(classes.size) - class_starts + 1
    hits = np.cumsum(relevant)
    hits_in_class = hits - (hits - relevant)[class_starts]
    precision = hits_in_class / rank_in_class
    precision_sums = np.bincount(classes[relevant], weights=precision[relevant], minlength=num_classes)
    positives = np.bincount(judged.true_classes, minlength=num_classes)
    return np.divide(precision_sums, positives, out=np.zeros(num_classes), where=positives > 0)


def _mean_ap(judged: _Judged, rank_order: np.ndarray, num_classes: int) -> float:
    return float(_per_class_ap(judged, rank_order, num_classes).mean())


def gap(class_ids, top_scores, labels: Sequence) -> float:
    """Global Average Precision over every video's top-k pairs (the competition metric).

    All N·k pairs (zero and negative scores included) are pooled and ranked by score
    descending; GAP = Σ_i rel(i)·precision@i / N_pos, where N_pos counts ALL true
    (video, label) pairs, including those in no top k (so GAP < 1 when a video has
    more than k labels). 0 when there are no labels.
    """
    judged = _judge(class_ids, top_scores, labels)
    return _gap(judged, _pooled_rank_order(judged))


class PooledGap:
    """`gap` over videos given a chunk at a time: `add` each chunk in order, then `gap()`
    equals `gap` on the chunks concatenated. Holds every added video's top-k scores and
    hits (9 bytes a pair), not its labels."""

    def __init__(self):
        self._scores: list[np.ndarray] = []
        self._relevant: list[np.ndarray] = []
        self._positives = 0

    def add(self, class_ids, top_scores, labels: Sequence) -> None:
        judged = _judge(class_ids, top_scores, labels)
        self._scores.append(judged.top_scores.reshape(-1))
        self._relevant.append(judged.relevant.reshape(-1))
        self._positives += judged.true_classes.size

    def gap(self) -> float:
        scores = np.concatenate(self._scores) if self._scores else np.zeros(0)
        relevant = np.concatenate(self._relevant) if self._relevant else np.zeros(0, bool)
        return _average_precision(relevant[np.argsort(-scores, kind="stable")], self._positives)


def hit_at_1(class_ids, top_scores, labels: Sequence) -> float:
    """Fraction of videos whose top-scored class is a true label (unlabelled videos miss)."""
    return _hit_at_1(_judge(class_ids, top_scores, labels))


def perr(class_ids, top_scores, labels: Sequence) -> float:
    """Precision at equal recall rate: for each video with L > 0 labels, the fraction of
    its top min(L, k) classes that are true labels with score > 0, divided by min(L, k);
    averaged over the videos with labels (0 when none has any)."""
    return _perr(_judge(class_ids, top_scores, labels))


def mean_ap(class_ids, top_scores, labels: Sequence, num_classes: int) -> float:
    """Mean over all `num_classes` classes of the class's AP: its surviving top-k
    (video, class) pairs ranked by score, Σ rel(i)·precision@i / the class's positives.
    Classes without positives count 0 (starter definition, docs/method.md §4.2)."""
    judged = _judge(class_ids, top_scores, labels)
    return _mean_ap(judged, _pooled_rank_order(judged), num_classes)


def per_class_ap(class_ids, top_scores, labels: Sequence, num_classes: int) -> np.ndarray:
    """Each class's AP as `mean_ap` defines it, as a [num_classes] array (0 without positives)."""
    judged = _judge(class_ids, top_scores, labels)
    return _per_class_ap(judged, _pooled_rank_order(judged), num_classes)


def evaluate(class_ids, top_scores, labels: Sequence, num_classes: int) -> dict:
    """All metrics at once: {"gap", "hit_at_1", "perr", "map"} as floats, "videos" as int."""
    return _evaluate(_judge(class_ids, top_scores, labels), num_classes)


class PooledEvaluation:
    """`evaluate` and `per_class_ap` over videos given a chunk at a time: `add` each chunk
    in order, then ask; the results equal those on the chunks concatenated when the scores
    are float32 (as stored predictions are). Holds per pair its class id, score and hit
    (9 bytes), per video its label count and per true label its class (4 bytes each):
    about 200 bytes a video at k = 20, not its labels or ids."""

    def __init__(self):
        self._parts: list[_Judged] = []

    def add(self, class_ids, top_scores, labels: Sequence) -> None:
        judged = _judge(class_ids, top_scores, labels)
        self._parts.append(_Judged(judged.class_ids.astype(np.int32), judged.top_scores.astype(np.float32),
                                   judged.relevant, judged.label_counts.astype(np.int32),
                                   judged.true_classes.astype(np.int32)))

    def _judged(self) -> _Judged:
        if not self._parts:
            return _judge(np.zeros((0, 0), np.int64), np.zeros((0, 0)), [])
        return _Judged(*(np.concatenate(field) for field in zip(*self._parts)))

    def evaluate(self, num_classes: int) -> dict:
        return _evaluate(self._judged(), num_classes)

    def per_class_ap(self, num_classes: int) -> np.ndarray:
        judged = self._judged()
        return _per_class_ap(judged, _pooled_rank_order(judged), num_classes)


def _evaluate(judged: _Judged, num_classes: int) -> dict:
    rank_order = _pooled_rank_order(judged)
    return {
        "gap": _gap(judged, rank_order),
        "hit_at_1": _hit_at_1(judged),
        "perr": _perr(judged),
        "map": _mean_ap(judged, rank_order, num_classes),
        "videos": int(judged.class_ids.shape[0]),
    }
