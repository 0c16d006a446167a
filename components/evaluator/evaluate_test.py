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
    monkeypatch.setattr(evaluate, "CHUNK_ROWS", 4)
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


def reference(labels: dict, top: dict) -> tuple:
    ids = list(labels)
    return (np.stack([evaluate._padded(top[v][0], -1) for v in ids]),
            np.stack([evaluate._padded(top[v][1], -np.inf) for v in ids]), [labels[v] for v in ids])


def test_streamed_metrics_equal_the_whole_split_at_once(case):
    artifact, labels, top = case
    index = evaluate.label_index_of(labels)
    streamed = evaluate.score_split("m", splits.HOLDOUT, evaluate.read_top_k(artifact, splits.HOLDOUT), index,
                                    CLASSES)
    assert streamed == pytest.approx(metrics.evaluate(*reference(labels, top), CLASSES))
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
