"""Dense prediction rows encoded and decoded at their offsets are the bytes and values of
`encode_prediction` and of a protobuf parse; any other row takes the parse."""
import numpy as np
import pytest
import tensorflow as tf

from common.errors import InvalidInputError
from schemas import predictions as rows

# Ids of several lengths (the empty one included), and scores with signed zeros, a NaN,
# subnormals and the ends of [0, 1].
VIDEO_IDS = ["", "a", "abcd", "abcd", "a much longer video id", "é"] * 3


def dense_scores(count: int, classes: int = 7) -> np.ndarray:
    scores = np.random.default_rng(0).random((count, classes), np.float32)
    scores[0, :6] = [-0.0, 0.0, np.nan, np.float32(1e-45), 1.0, 0.0]
    return scores


def bits(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, np.float32).view(np.uint32)


def test_dense_rows_are_encoded_as_encode_prediction_encodes_each():
    scores = dense_scores(len(VIDEO_IDS))
    assert rows.encode_dense_predictions(VIDEO_IDS, scores) == [
        rows.encode_prediction(video_id, row) for video_id, row in zip(VIDEO_IDS, scores)]


def test_dense_rows_are_decoded_as_a_parse_of_each():
    scores = dense_scores(len(VIDEO_IDS))
    serialized = rows.encode_dense_predictions(VIDEO_IDS, scores)
    ids, decoded = rows.decode_dense_predictions(serialized, "here")
    parsed = [rows.decode_prediction(record) for record in serialized]
    assert ids == [row.video_id for row in parsed] == VIDEO_IDS
    np.testing.assert_array_equal(bits(decoded), bits(np.stack([row.scores for row in parsed])))


def with_extra_feature(video_id: str, scores) -> bytes:
    example = tf.train.Example.FromString(rows.encode_prediction(video_id, scores))
    example.features.feature["extra"].int64_list.value.append(1)
    return example.SerializeToString()


def test_rows_laid_out_otherwise_are_parsed():
    scores = dense_scores(3)
    serialized = [with_extra_feature("a", scores[0]), *rows.encode_dense_predictions(["b", "c"], scores[1:])]
    assert rows.DenseLayout.of(serialized[0]) is None
    ids, decoded = rows.decode_dense_predictions(serialized, "here")
    assert ids == ["a", "b", "c"]
    np.testing.assert_array_equal(bits(decoded), bits(scores))


@pytest.mark.parametrize("record", [b"", b"\x0a", b"\x0a\xff", rows.encode_prediction("a", [0.5])[:-1],
                                    rows.encode_prediction("a", [0.5]) + b"\x00",
                                    rows.encode_prediction("a", [0.5], class_ids=[2])])
def test_what_is_not_a_dense_row_as_encoded_has_no_layout(record):
    assert rows.DenseLayout.of(record) is None


def test_sparse_rows_and_rows_of_other_lengths_are_refused_as_before():
    sparse = [*rows.encode_dense_predictions(["a"], dense_scores(1)), rows.encode_prediction("b", [0.5], [2])]
    with pytest.raises(InvalidInputError, match="here: video 'b' has sparse scores"):
        rows.decode_dense_predictions(sparse, "here")
    shorter = rows.encode_dense_predictions(["a"], dense_scores(1)) + rows.encode_dense_predictions(
        ["b"], dense_scores(1, classes=6))
    with pytest.raises(InvalidInputError, match="here: video 'b' has 6 scores, video 'a' 7"):
        rows.decode_dense_predictions(shorter, "here")


def test_a_row_has_one_encoding_its_entries_in_key_order():
    def key_positions(encoded: bytes, keys: list[str]) -> list[int]:
        return [encoded.index(b"\n" + bytes([len(key)]) + key.encode()) for key in keys]

    scores = np.arange(3, dtype=np.float32)
    dense = key_positions(rows.encode_prediction("v1", scores), [rows.ID_KEY, rows.SCORES_KEY])
    sparse = key_positions(rows.encode_prediction("v1", scores, [4, 5, 6]),
                           [rows.CLASS_IDS_KEY, rows.ID_KEY, rows.SCORES_KEY])
    assert dense == sorted(dense) and sparse == sorted(sparse)
