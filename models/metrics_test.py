import time

import numpy as np
import pytest

from models import metrics

# docs/method.md §4.3 worked example: 3 videos x 5 classes, 6 positives, tie-free scores.
CHECK_LABELS = [np.array([0, 3]), np.array([1, 2]), np.array([3, 4])]
CHECK_SCORES = np.array([[0.9, 0.8, 0.1, 0.05, 0.3],
                         [0.2, 0.7, 0.6, 0.15, 0.4],
                         [0.5, 0.12, 0.22, 0.95, 0.35]])
CHECK_GAP = {1: 0.500000, 2: 0.591667, 3: 0.695833, 4: 0.695833, 5: 0.762500}


def brute_force_gap(class_ids, top_scores, labels):
    """GAP as a plain loop over the pooled list sorted by score (tie-free input)."""
    pooled = []
    for video_classes, video_scores, video_labels in zip(class_ids, top_scores, labels):
        true = set(int(label) for label in video_labels)
        pooled.extend((float(score), int(c) in true) for c, score in zip(video_classes, video_scores))
    pooled.sort(key=lambda pair: -pair[0])
    num_positives = sum(len(set(int(label) for label in video_labels)) for video_labels in labels)
    hits, total = 0, 0.0
    for rank, (_, relevant) in enumerate(pooled, start=1):
        if relevant:
            hits += 1
            total += hits / rank
    return total / num_positives


def random_case(rng, num_videos=50, num_classes=30, k=10):
    scores = rng.permutation(num_videos * num_classes).reshape(num_videos, num_classes) / 1000.0 - 0.3
    label_counts = rng.integers(0, 15, size=num_videos)
    label_counts[:3] = [0, k + 3, num_classes]  # no labels, more than k, every class
    labels = [rng.choice(num_classes, size=n, replace=False) for n in label_counts]
    return scores, labels


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_gap_matches_method_check_values(k):
    class_ids, top_scores = metrics.top_k(CHECK_SCORES, k)
    assert metrics.gap(class_ids, top_scores, CHECK_LABELS) == pytest.approx(CHECK_GAP[k], abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 5, 20, 30])
def test_gap_matches_brute_force(seed, k):
    scores, labels = random_case(np.random.default_rng(seed))
    class_ids, top_scores = metrics.top_k(scores, k)
    assert metrics.gap(class_ids, top_scores, labels) == pytest.approx(
        brute_force_gap(class_ids, top_scores, labels), abs=1e-12)


def test_gap_accepts_unsorted_rows_and_list_labels():
    class_ids, top_scores = metrics.top_k(CHECK_SCORES, 3)
    shuffled = np.array([[2, 0, 1]] * 3)
    labels = [list(map(int, video_labels)) for video_labels in CHECK_LABELS]
    result = metrics.gap(np.take_along_axis(class_ids, shuffled, 1),
                         np.take_along_axis(top_scores, shuffled, 1), labels)
    assert result == pytest.approx(CHECK_GAP[3], abs=1e-6)


def test_gap_counts_positives_outside_top_k_and_duplicate_labels_once():
    # One video, labels {0, 1}: only class 0 is predicted, so GAP = (1/1) / 2.
    assert metrics.gap([[0]], [[0.9]], [[0, 1, 1]]) == pytest.approx(0.5)


def test_gap_ties_keep_pooled_order():
    # Equal scores: video 0's irrelevant pair ranks before video 1's relevant one.
    assert metrics.gap([[5], [7]], [[0.5], [0.5]], [[], [7]]) == pytest.approx(0.5)


def test_pooled_gap_over_chunks_equals_gap_over_all():
    rng = np.random.default_rng(3)
    scores, labels = random_case(rng)
    scores = np.round(scores, 1)  # many ties: the pooled order across chunks must hold
    class_ids, top_scores = metrics.top_k(scores, 10)
    pooled = metrics.PooledGap()
    for start, stop in [(0, 7), (7, 8), (8, 31), (31, 50)]:
        pooled.add(class_ids[start:stop], top_scores[start:stop], labels[start:stop])
    assert pooled.gap() == metrics.gap(class_ids, top_scores, labels)
    assert metrics.PooledGap().gap() == 0.0


def test_padding_matches_nothing_and_ranks_last():
    # Pooled: 0.9 true, 0.8 false, 0.1 true, padding (class -1, -inf): (1/1 + 2/3) / 2.
    class_ids, top_scores, labels = [[0, -1], [1, 2]], [[0.9, -np.inf], [0.8, 0.1]], [[0], [2]]
    assert metrics.gap(class_ids, top_scores, labels) == pytest.approx((1 + 2 / 3) / 2)
    assert metrics.hit_at_1([[-1]], [[-np.inf]], [[0]]) == 0.0


def test_gap_without_labels_is_zero():
    assert metrics.gap([[0, 1]], [[0.9, 0.1]], [[]]) == 0.0


def test_top_k_orders_by_score_then_class_id():
    scores = np.array([[0.1, 0.5, 0.5, 0.9, 0.5],
                       [0.0, 0.0, 0.0, 0.0, 0.0]])
    class_ids, top_scores = metrics.top_k(scores, 3)
    np.testing.assert_array_equal(class_ids, [[3, 1, 2], [0, 1, 2]])
    np.testing.assert_array_equal(top_scores, [[0.9, 0.5, 0.5], [0.0, 0.0, 0.0]])
    assert class_ids.dtype == np.int64 and top_scores.dtype == np.float64


def test_top_k_clips_k_to_classes_and_rejects_nan():
    class_ids, _ = metrics.top_k(CHECK_SCORES, 20)
    np.testing.assert_array_equal(class_ids[0], [0, 1, 4, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        metrics.top_k(np.array([[np.nan, 1.0]]), 1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_top_k_matches_full_stable_argsort(dtype):
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(40, 30)).astype(dtype)  # many ties
    scores[::3] = rng.permutation(30)  # and some tie-free rows
    class_ids, top_scores = metrics.top_k(scores, 7)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :7]
    np.testing.assert_array_equal(class_ids, expected)
    np.testing.assert_array_equal(top_scores, np.take_along_axis(scores, expected, 1))
    assert top_scores.dtype == np.float64


def test_hit_at_1():
    class_ids = [[1, 0], [2, 1], [0, 1], [1, 2]]
    top_scores = [[0.9, 0.1], [0.8, 0.7], [0.6, 0.5], [0.4, 0.3]]
    labels = [[1], [1], [0, 1], []]  # hit, miss, hit, unlabelled miss
    assert metrics.hit_at_1(class_ids, top_scores, labels) == pytest.approx(0.5)


def test_perr():
    class_ids = [[1, 0, 2], [2, 1, 0], [0, 1, 2], [0, 1, 2]]
    top_scores = [[0.9, 0.5, 0.1], [0.8, 0.7, 0.2], [0.6, -0.5, -0.6], [0.4, 0.3, 0.2]]
    labels = [
        [1, 2],        # top 2 = {1, 0}: 1/2
        [0, 1, 2, 3],  # L = 4 > k = 3: top 3 all true, 3/3
        [0, 1],        # top 2 = {0, 1} but class 1 scores <= 0: 1/2
        [],            # unlabelled: not averaged
    ]
    assert metrics.perr(class_ids, top_scores, labels) == pytest.approx((0.5 + 1.0 + 0.5) / 3)


def test_mean_ap():
    # Class 0: ranked v0 0.9 true, v1 0.6 false, v2 0.3 true, v3 0.01 false; 2 positives:
    #   AP = (1/1 + 2/3) / 2. Class 1: v1 0.8 true, v2's positive never predicted: 1/2.
    # Class 2: predicted, no positives: 0. Class 3: one positive, never predicted: 0.
    class_ids = [[0, 2], [1, 0], [0, 2], [2, 0]]
    top_scores = [[0.9, 0.1], [0.8, 0.6], [0.3, 0.2], [0.05, 0.01]]
    labels = [[0], [1], [0, 1], [3]]
    expected = ((1 + 2 / 3) / 2 + 1 / 2 + 0.0 + 0.0) / 4
    assert metrics.mean_ap(class_ids, top_scores, labels, num_classes=4) == pytest.approx(expected)
    assert metrics.per_class_ap(class_ids, top_scores, labels, num_classes=4) == pytest.approx(
        [(1 + 2 / 3) / 2, 1 / 2, 0.0, 0.0])


def brute_force_mean_ap(class_ids, top_scores, labels, num_classes):
    """Per class: loop over its pooled top-k pairs sorted by score (tie-free input)."""
    average_precisions = []
    for c in range(num_classes):
        positives = sum(c in set(int(label) for label in video_labels) for video_labels in labels)
        ranked = sorted((float(score), c in set(int(label) for label in video_labels))
                        for video_classes, video_scores, video_labels in zip(class_ids, top_scores, labels)
                        for cls, score in zip(video_classes, video_scores) if cls == c)[::-1]
        hits, total = 0, 0.0
        for rank, (_, relevant) in enumerate(ranked, start=1):
            if relevant:
                hits += 1
                total += hits / rank
        average_precisions.append(total / positives if positives else 0.0)
    return sum(average_precisions) / num_classes


@pytest.mark.parametrize("seed", range(3))
def test_mean_ap_matches_brute_force(seed):
    scores, labels = random_case(np.random.default_rng(seed))
    class_ids, top_scores = metrics.top_k(scores, 5)
    assert metrics.mean_ap(class_ids, top_scores, labels, 30) == pytest.approx(
        brute_force_mean_ap(class_ids, top_scores, labels, 30), abs=1e-12)


def test_mean_ap_counts_classes_without_positives_as_zero():
    assert metrics.mean_ap([[0]], [[0.5]], [[0]], num_classes=10) == pytest.approx(0.1)


def test_evaluate_returns_every_metric():
    class_ids, top_scores = metrics.top_k(CHECK_SCORES, 3)
    result = metrics.evaluate(class_ids, top_scores, CHECK_LABELS, num_classes=5)
    assert set(result) == {"gap", "hit_at_1", "perr", "map", "videos"}
    assert result["videos"] == 3 and isinstance(result["videos"], int)
    assert result["gap"] == pytest.approx(CHECK_GAP[3], abs=1e-6)
    assert result["hit_at_1"] == metrics.hit_at_1(class_ids, top_scores, CHECK_LABELS)
    assert result["perr"] == metrics.perr(class_ids, top_scores, CHECK_LABELS)
    assert result["map"] == metrics.mean_ap(class_ids, top_scores, CHECK_LABELS, 5)
    assert all(isinstance(result[name], float) for name in ("gap", "hit_at_1", "perr", "map"))


def test_mean_ap_rejects_out_of_range_classes():
    with pytest.raises(ValueError, match="0..2"):
        metrics.mean_ap([[3]], [[0.5]], [[0]], num_classes=3)


def test_gap_is_fast():
    rng = np.random.default_rng(0)
    num_videos, k, num_classes = 200_000, 20, 3862
    top_scores = -np.sort(-rng.random((num_videos, k)), axis=1)
    class_ids = rng.integers(0, num_classes, size=(num_videos, k))
    labels = list(rng.integers(0, num_classes, size=(num_videos, 3)))
    start = time.perf_counter()
    metrics.gap(class_ids, top_scores, labels)
    assert time.perf_counter() - start < 15.0  # ~1 s on 2 vCPUs; generous against noisy hosts


def test_pooled_evaluation_over_chunks_equals_evaluate_over_all():
    rng = np.random.default_rng(5)
    videos, k, classes = 53, 20, 40
    class_ids = np.stack([rng.permutation(classes)[:k] for _ in range(videos)])
    class_ids[:5, 15:] = -1  # padded rows
    top_scores = rng.random((videos, k)).astype(np.float32)
    top_scores[:5, 15:] = -np.inf
    labels = [rng.choice(classes, rng.integers(0, 5), replace=False) for _ in range(videos)]
    pooled = metrics.PooledEvaluation()
    for start in range(0, videos, 17):
        pooled.add(class_ids[start:start + 17], top_scores[start:start + 17], labels[start:start + 17])
    assert pooled.evaluate(classes) == metrics.evaluate(class_ids, top_scores, labels, classes)
    np.testing.assert_array_equal(pooled.per_class_ap(classes),
                                  metrics.per_class_ap(class_ids, top_scores, labels, classes))
    assert metrics.PooledEvaluation().evaluate(classes)["videos"] == 0
