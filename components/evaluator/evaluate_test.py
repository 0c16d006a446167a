"""The streamed evaluation against `metrics.evaluate` on the whole split at once."""
import types

import numpy as np
import pytest

from common.errors import InvalidInputError
from components.evaluator import evaluate
from models import metrics
from schemas import predictions as rows
from schemas import splits

CLASSES = 30


def test_label_index_finds_labels_by_id_and_rejects_a_repeated_id():
    index = evaluate.label_index_of({"b": np.array([3, 4]), "a": np.array([], np.int64), "c": np.array([7])})
    positions = index.positions(np.array([b"c", b"x", b"a", b"b"]))
    assert positions[1] == -1
    assert [list(labels) for labels in index.labels_at(positions[[0, 2, 3]])] == [[7], [], [3, 4]]
    assert list(index.class_frequency(8)) == [0, 0, 0, 1, 1, 0, 0, 1]
    with pytest.raises(InvalidInputError, match="video 'a' occurs more than once"):
        evaluate._indexed([np.array([b"a", b"b", b"a"], object)], [np.array([0, 0, 0])], [np.zeros(0)], "x")


@pytest.fixture
def case(tmp_path, monkeypatch):
    """Dense and sparse prediction rows of labelled and unlabelled videos, several files."""
    monkeypatch.setattr(evaluate, "BATCH_ROWS", 4)
    rng = np.random.default_rng(2)
    labels = {f"v{i:02d}": rng.choice(CLASSES, rng.integers(0, 4), replace=False) for i in range(23)}
    records, top = [], {}
    for i, video_id in enumerate([*labels, "extra1", "extra2"]):
        if i % 3:  # dense
            scores = rng.random(CLASSES).astype(np.float32)
            records.append(rows.encode_prediction(video_id, scores))
        else:  # sparse, fewer than 20 pairs
            class_ids = rng.choice(CLASSES, 12, replace=False)
            scores = rng.random(12).astype(np.float32)
            records.append(rows.encode_prediction(video_id, scores, class_ids=class_ids))
        top[video_id] = rows.top_k_of(rows.decode_prediction(records[-1]), evaluate.TOP_K)
    artifact = types.SimpleNamespace(uri=str(tmp_path))
    splits.write_split_records(artifact, splits.HOLDOUT, records, records_per_file=7)
    return artifact, labels, top


def padded(values: np.ndarray, fill) -> np.ndarray:
    return np.concatenate([values, np.full(evaluate.TOP_K - len(values), fill, values.dtype)])


def reference(labels: dict, top: dict) -> tuple:
    ids = list(labels)
    return (np.stack([padded(top[v][0], -1) for v in ids]),
            np.stack([padded(top[v][1], -np.inf) for v in ids]), [labels[v] for v in ids])


def test_a_batch_has_the_top_20_of_each_row_as_row_by_row():
    """Every row's top 20 pairs, in order, as `rows.top_k_of` finds them one row at a time:
    ties at and inside the 20th place, NaN scores, sparse rows shorter and longer than 20,
    dense and sparse rows in one batch, dense rows of different lengths."""
    rng = np.random.default_rng(5)

    def dense(length, nan=False):
        scores = rng.integers(0, 8, length).astype(np.float32) / 8  # many ties
        if nan:
            scores[rng.choice(length, 3, replace=False)] = np.nan
        return scores

    def sparse(length, nan=False):
        return dense(length, nan), rng.choice(CLASSES * 10, length, replace=False)

    batches = [
        [rows.encode_prediction(f"d{i}", dense(CLASSES)) for i in range(6)],
        [rows.encode_prediction("n", dense(CLASSES, nan=True)), rows.encode_prediction("d", dense(CLASSES))],
        [rows.encode_prediction(f"s{i}", *sparse(length, nan=i == 2)) for i, length in enumerate([3, 20, 25, 64])],
        [rows.encode_prediction("d", dense(CLASSES)), rows.encode_prediction("s", *sparse(12)),
         rows.encode_prediction("short", dense(7))],
    ]
    for batch in batches:
        top = evaluate.top_k_of_batch(np.array(batch, object))
        for position, serialized in enumerate(batch):
            row = rows.decode_prediction(serialized)
            class_ids, scores = rows.top_k_of(row, evaluate.TOP_K)
            assert top.video_ids[position].decode() == row.video_id
            np.testing.assert_array_equal(top.class_ids[position], padded(class_ids, -1))
            np.testing.assert_array_equal(top.scores[position], padded(scores, -np.inf))
            assert top.scores.dtype == np.float32


def test_streamed_metrics_equal_the_whole_split_at_once(case):
    artifact, labels, top = case
    index = evaluate.label_index_of(labels)
    streamed = evaluate.score_split("m", splits.HOLDOUT, evaluate.read_top_k(artifact, splits.HOLDOUT), index,
                                    CLASSES)
    assert streamed == metrics.evaluate(*reference(labels, top), CLASSES)
    assert streamed["videos"] == len(labels)
    artifact.get_string_custom_property = lambda key: "m"
    np.testing.assert_allclose(evaluate.per_class_ap(artifact, index, CLASSES),
                               metrics.per_class_ap(*reference(labels, top), CLASSES))


def test_a_missing_or_repeated_prediction_is_an_error(case):
    artifact, labels, top = case
    with pytest.raises(InvalidInputError, match="m: 1 videos of split 'holdout' have no prediction, e.g. \\['zz'\\]"):
        evaluate.score_split("m", splits.HOLDOUT, evaluate.read_top_k(artifact, splits.HOLDOUT),
                             evaluate.label_index_of({**labels, "zz": np.array([1])}), CLASSES)
    twice = [*evaluate.read_top_k(artifact, splits.HOLDOUT)] * 2
    with pytest.raises(InvalidInputError, match="more than one prediction"):
        evaluate.score_split("m", splits.HOLDOUT, iter(twice), evaluate.label_index_of(labels), CLASSES)


def test_the_class_prior_baseline_scores_every_video_by_class_frequency():
    labels = {splits.OOF: evaluate.label_index_of({"a": np.array([1, 2]), "b": np.array([1]), "c": np.array([3])}),
              splits.HOLDOUT: evaluate.label_index_of({"h1": np.array([1]), "h2": np.array([2, 5])})}
    # Every held-out video gets class 1 first (2 of 3 videos), then 2 and 3, then the rest:
    # the pooled ranking puts h1's class 1 and h2's class 2 among the judged pairs.
    expected = metrics.evaluate(np.array([[1, 2, 3, 0, 4, 5]] * 2), np.array([[2, 1, 1, 0, 0, 0]] * 2) / 3,
                                [np.array([1]), np.array([2, 5])], 6)["gap"]
    assert evaluate.class_prior_gap(labels, 6) == pytest.approx(expected)


def stages(student: float, best_l1: float) -> list[dict]:
    return [{"name": "mlp", "kind": "l1", "split": splits.HOLDOUT, "gap": best_l1},
            {"name": "student", "kind": "student", "split": splits.HOLDOUT, "gap": student},
            {"name": "student", "kind": "student", "split": splits.TEST, "gap": 0.99}]


@pytest.mark.parametrize("student, best_l1, blessed, decided_by, reason", [
    (0.50, 0.52, True, "both", "student held-out GAP 0.5000 >= class-prior baseline held-out GAP 0.0560 + 0.05; "
                               "student held-out GAP 0.5000 >= 0.9 x best L1 held-out GAP 0.5200"),
    (0.40, 0.52, False, "min_gap_ratio", "student held-out GAP 0.4000 < 0.9 x best L1 held-out GAP 0.5200"),
    # A student that learnt nothing, judged against members that learnt nothing either.
    (0.078, 0.08, False, "class_prior_floor",
     "student held-out GAP 0.0780 < class-prior baseline held-out GAP 0.0560 + 0.05"),
])
def test_the_blessing_needs_the_prior_floor_and_the_ratio(student, best_l1, blessed, decided_by, reason):
    decision = evaluate.blessing_decision(stages(student, best_l1), 0.9, 0.056, 0.05)
    assert decision == {"blessed": blessed, "decided_by": decided_by, "reason": reason, "min_gap_ratio": 0.9,
                        "min_gap_over_prior": 0.05, "class_prior_gap": 0.056}
