"""L1Assembler joins K fold outputs by video id, as the in-task loop over folds did."""
import os

import numpy as np
import pytest

import y8m_types
from common.errors import InvalidInputError
from components import artifact_properties
from components.l1_assembler import assemble
from schemas import predictions as rows
from schemas import splits

FOLDS = 3
CLASSES = 5


def fold_output(tmp_path, fold: int, scores: dict, model_name: str = "mlp"):
    """A FoldPredictions artifact with `scores`: split → (ids, float32 [n, CLASSES])."""
    artifact = y8m_types.FoldPredictions()
    artifact.uri = str(tmp_path / f"{model_name}-fold-{fold}")
    for split, (ids, split_scores) in scores.items():
        splits.write_dense_predictions(artifact, split, [(ids, split_scores)])
    artifact.set_string_custom_property(artifact_properties.MODEL_NAME, model_name)
    artifact.set_int_custom_property(artifact_properties.FOLD, fold)
    artifact.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, f'{{"fold": {fold}}}')
    return artifact


def read(artifact, split):
    return [rows.decode_prediction(record) for record in splits.read_split_records(artifact, split)]


@pytest.fixture
def fold_scores():
    rng = np.random.default_rng(0)
    shared = {split: [f"{split}-{i}" for i in range(7)] for split in (splits.HOLDOUT, splits.TEST)}
    return [{splits.OOF: ([f"fold{fold}-{i}" for i in range(4)], rng.random((4, CLASSES), np.float32)),
             **{split: (ids, rng.random((len(ids), CLASSES), np.float32)) for split, ids in shared.items()}}
            for fold in range(FOLDS)]


def test_out_of_fold_in_fold_order_and_the_mean_of_the_fold_models(tmp_path, fold_scores):
    outputs = [fold_output(tmp_path, fold, scores) for fold, scores in enumerate(fold_scores)]
    assembled = y8m_types.Predictions()
    assembled.uri = str(tmp_path / "assembled")
    summaries = assemble.assemble(outputs[::-1], assembled, FOLDS, "mlp")  # any input order
    assert summaries == [{"fold": fold} for fold in range(FOLDS)]
    oof = read(assembled, splits.OOF)
    assert [row.video_id for row in oof] == [video_id for scores in fold_scores for video_id in scores[splits.OOF][0]]
    np.testing.assert_array_equal(np.stack([row.scores for row in oof]),
                                  np.concatenate([scores[splits.OOF][1] for scores in fold_scores]))
    for split in (splits.HOLDOUT, splits.TEST):
        # What the trainer computed when it looped over the folds: a float64 sum in fold order.
        total = np.zeros((7, CLASSES), np.float64)
        for scores in fold_scores:
            total += scores[split][1]
        mean = read(assembled, split)
        assert [row.video_id for row in mean] == fold_scores[0][split][0]
        np.testing.assert_array_equal(np.stack([row.scores for row in mean]), (total / FOLDS).astype(np.float32))


def test_fold_models_that_scored_different_videos_are_refused(tmp_path, fold_scores):
    ids, scores = fold_scores[2][splits.TEST]
    fold_scores[2][splits.TEST] = (ids[:3] + ["stranger"] + ids[4:], scores)
    outputs = [fold_output(tmp_path, fold, scores) for fold, scores in enumerate(fold_scores)]
    assembled = y8m_types.Predictions()
    assembled.uri = str(tmp_path / "assembled")
    with pytest.raises(InvalidInputError, match=r"'test' record 3 is video 'test-3' in fold 0"):
        assemble.assemble(outputs, assembled, FOLDS, "mlp")


@pytest.mark.parametrize("folds, model_names, message", [
    ([0, 1], ["mlp"] * 2, r"needs the folds 0..2, got \[0, 1\]"),
    ([0, 1, 1], ["mlp"] * 3, "fold 1 is given twice"),
    ([0, 1, 2], ["mlp", "mlp", "moe"], "a fold input comes from model 'moe'"),
])
def test_the_folds_of_one_model_each_once(tmp_path, fold_scores, folds, model_names, message):
    outputs = [fold_output(tmp_path / str(index), fold, fold_scores[fold], name)
               for index, (fold, name) in enumerate(zip(folds, model_names))]
    with pytest.raises(InvalidInputError, match=message):
        assemble.folds_in_order(outputs, FOLDS, "mlp")


def test_out_of_fold_files_are_concatenated_in_fold_order_whatever_their_number(tmp_path, fold_scores):
    outputs = []
    for fold, scores in enumerate(fold_scores):
        artifact = fold_output(tmp_path, fold, {split: value for split, value in scores.items() if split != splits.OOF})
        ids, oof_scores = scores[splits.OOF]
        splits.write_split_records(artifact, splits.OOF, (rows.encode_prediction(video_id, row)
                                                          for video_id, row in zip(ids, oof_scores)),
                                   dense_scores=True, records_per_file=3)  # two files per fold
        outputs.append(artifact)
    assembled = y8m_types.Predictions()
    assembled.uri = str(tmp_path / "assembled")
    assemble.assemble(outputs, assembled, FOLDS, "mlp")
    assert [row.video_id for row in read(assembled, splits.OOF)] == [
        video_id for scores in fold_scores for video_id in scores[splits.OOF][0]]


def test_a_sparse_row_among_the_fold_models_is_named(tmp_path, fold_scores):
    outputs = [fold_output(tmp_path, fold, scores) for fold, scores in enumerate(fold_scores)]
    ids, _ = fold_scores[1][splits.HOLDOUT]
    sparse = splits.split_dir(outputs[1], splits.HOLDOUT)
    for name in os.listdir(sparse):
        os.remove(os.path.join(sparse, name))
    splits.write_split_records(outputs[1], splits.HOLDOUT, [rows.encode_prediction(video_id, [0.5], class_ids=[2])
                                                            for video_id in ids])
    assembled = y8m_types.Predictions()
    assembled.uri = str(tmp_path / "assembled")
    with pytest.raises(InvalidInputError, match=r"L1 model 'mlp': fold 1 'holdout': video 'holdout-0' has sparse"):
        assemble.assemble(outputs, assembled, FOLDS, "mlp")


def test_a_fold_file_cut_short_is_named_with_its_record(tmp_path, fold_scores):
    outputs = [fold_output(tmp_path, fold, scores) for fold, scores in enumerate(fold_scores)]
    [path] = splits.split_files(outputs[2], splits.TEST)
    with open(path, "rb") as source:
        data = source.read()
    with open(path, "wb") as sink:
        sink.write(data[:len(data) // 2])
    assembled = y8m_types.Predictions()
    assembled.uri = str(tmp_path / "assembled")
    with pytest.raises(InvalidInputError, match=rf"{path}: record 3: the file is cut short"):
        assemble.assemble(outputs, assembled, FOLDS, "mlp")
