"""The streaming merge against a plain dense numpy version of the same definitions."""
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that

from components import l2_features
from components.prediction_merger import merge
from schemas import predictions as rows
from schemas import video_level
from common.errors import InvalidInputError

CLASSES = 50


def dense_features(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference, written plainly: candidates = union of every model's top 20 by a full
    sort; one feature row per candidate in the order of `l2_features.l2_feature_names`."""
    orders = [list(np.argsort(-model)) for model in scores]
    candidates = sorted({int(c) for order in orders for c in order[:20]})
    table = []
    for c in candidates:
        model_scores = [float(model[c]) for model in scores]
        model_ranks = [order.index(c) for order in orders]
        table.append([c, *model_scores, *model_ranks, np.mean(model_scores), max(model_scores),
                      min(model_scores), np.std(model_scores), sum(r < 20 for r in model_ranks)])
    return np.array(candidates), np.array(table, np.float32)


def test_candidates_and_features_match_dense_reference():
    rng = np.random.default_rng(0)
    for models in (1, 3):
        for _ in range(10):
            scores = rng.random((models, CLASSES)).astype(np.float32)  # tie-free with probability 1
            row = merge.candidates_of("vid1", 0, np.array([1, 2]), scores)
            candidates, table = dense_features(scores)
            np.testing.assert_array_equal(row.candidates, candidates)
            np.testing.assert_allclose(row.features, table, rtol=1e-6)
            assert row.features.shape[1] == len(l2_features.l2_feature_names(["m"] * models))


def _write(path, records):
    import tensorflow as tf
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)


def _video(video_id, labels):
    return video_level.make_example(video_id, labels, [0.0] * 1024, [0.0] * 128).SerializeToString()


@pytest.fixture
def small_case(tmp_path):
    rng = np.random.default_rng(1)
    ids = [f"v{i:03d}" for i in range(12)]
    _write(str(tmp_path / "videos.tfrecord"), [_video(v, [i % CLASSES]) for i, v in enumerate(ids)])
    scores = {name: rng.random((len(ids), CLASSES)).astype(np.float32) for name in ("a", "b", "c")}
    for name, matrix in scores.items():
        order = rng.permutation(len(ids))  # file order must not matter
        _write(str(tmp_path / f"{name}.tfrecord"),
               [rows.encode_prediction(ids[i], matrix[i]) for i in order])
        for part, rows_of_part in enumerate((order[:5], order[5:])):  # the same rows in two files
            _write(str(tmp_path / f"{name}-{part}.tfrecord"),
                   [rows.encode_prediction(ids[i], matrix[i]) for i in rows_of_part])
    return tmp_path, ids, scores


@pytest.mark.parametrize("files", [["{}.tfrecord"], ["{}-0.tfrecord", "{}-1.tfrecord"]])
def test_beam_merge_joins_by_id(small_case, files):
    path, ids, scores = small_case
    expected = {v: merge.candidates_of(v, 0, np.array([i % CLASSES]), np.stack([scores[m][i] for m in "abc"]))
                for i, v in enumerate(ids)}

    def check(actual):
        assert sorted(row.video_id for row in actual) == sorted(ids)
        for row in actual:
            want = expected[row.video_id]
            np.testing.assert_array_equal(row.candidates, want.candidates)
            np.testing.assert_allclose(row.features, want.features)
            np.testing.assert_array_equal(row.labels, want.labels)

    with TestPipeline() as pipeline:
        merged = pipeline | merge.MergePredictions(
            {0: str(path / "videos.tfrecord")},
            {name: [str(path / file.format(name)) for file in files] for name in "abc"})
        assert_that(merged, check)


def test_missing_prediction_names_model_and_video(small_case):
    path, ids, scores = small_case
    _write(str(path / "short.tfrecord"), [rows.encode_prediction(v, scores["a"][i]) for i, v in enumerate(ids[1:])])
    with pytest.raises(Exception, match=f"model 'short': video '{ids[0]}' has no prediction"):
        with TestPipeline() as pipeline:
            _ = pipeline | merge.MergePredictions(
                {0: str(path / "videos.tfrecord")}, {"short": [str(path / "short.tfrecord")]})


def test_nan_and_sparse_scores_are_errors_naming_the_video(tmp_path):
    good = np.full(CLASSES, 0.5, np.float32)
    nan_file, sparse_file = str(tmp_path / "nan.tfrecord"), str(tmp_path / "sparse.tfrecord")
    _write(nan_file, [rows.encode_prediction("v0", good), rows.encode_prediction("v1", np.full(CLASSES, np.nan))])
    _write(sparse_file, [rows.encode_prediction("v0", good), rows.encode_prediction("v1", [0.5], class_ids=[3])])
    with pytest.raises(InvalidInputError, match="model 'm': video 'v1' has NaN"):
        list(merge.file_rows(nan_file, "m"))
    with pytest.raises(InvalidInputError, match="model 'm': .*sparse.tfrecord: video 'v1' has sparse scores"):
        list(merge.file_rows(sparse_file, "m"))


def test_missing_prediction_split_is_named(tmp_path):
    import types

    from schemas import splits
    from components.prediction_merger.merge import prediction_files
    artifact = types.SimpleNamespace(uri=str(tmp_path))
    splits.write_split_records(artifact, splits.OOF, [])
    with pytest.raises(InvalidInputError, match="model 'mlp': no 'holdout' prediction files"):
        prediction_files(artifact, "mlp")


def test_duplicate_prediction_names_model_and_video(small_case):
    path, ids, scores = small_case
    _write(str(path / "twice.tfrecord"), [rows.encode_prediction(v, scores["a"][i]) for i, v in enumerate(ids)]
           + [rows.encode_prediction(ids[3], scores["a"][3])])
    with pytest.raises(Exception, match=f"model 'twice': video '{ids[3]}' has 2 predictions"):
        with TestPipeline() as pipeline:
            _ = pipeline | merge.MergePredictions(
                {0: str(path / "videos.tfrecord")}, {"twice": [str(path / "twice.tfrecord")]})


def test_top_labels_of_a_vocabulary_smaller_than_twenty():
    scores = np.array([0.1, 0.9, 0.5, 0.3], np.float32)
    assert sorted(merge.top_labels(scores)) == [0, 1, 2, 3]
    many = np.linspace(0, 1, 30, dtype=np.float32)
    assert sorted(merge.top_labels(many)) == list(range(10, 30))


def test_a_file_that_changed_between_the_passes_is_an_error(small_case):
    path, ids, scores = small_case
    files = {"a": [str(path / "a-0.tfrecord")]}
    file_ids = [video_id for _, video_id, _ in merge.file_rows(files["a"][0], "a")]
    other = next(v for v in ids if v != file_ids[0])
    route = merge.packed([0, 0], [1])
    with pytest.raises(InvalidInputError, match="record 0 changed while the job ran"):
        list(merge.file_columns(((1, 0), [(other, route)]), [[], files["a"]], ["first", "a"]))
    routes = [(video_id, merge.packed([index, 0], [1])) for index, video_id in enumerate(file_ids)]
    with pytest.raises(InvalidInputError, match="lost records"):
        list(merge.file_columns(((1, 0), routes + [("v999", merge.packed([len(file_ids), 0], [1]))]),
                                [[], files["a"]], ["first", "a"]))


def test_packed_parts_round_trip():
    scores = np.array([0.5, -1.25], np.float32)
    data = merge.packed([7], scores, np.array([], np.int64), np.array([3, 1]))
    head, packed_scores, empty, ids = merge.unpacked(data)
    assert head.tolist() == [7] and empty.size == 0 and ids.tolist() == [3, 1]
    np.testing.assert_array_equal(packed_scores.view(np.float32), scores)
