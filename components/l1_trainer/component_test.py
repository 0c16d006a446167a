"""L1Trainer: its spec, and its executor on a few synthetic videos."""
import json

from tfx import types
from tfx.types.standard_artifacts import Examples

import y8m_types
from components import artifact_properties
from components.conftest import CLASSES, FOLDS, L1_CONFIG
from components.l1_trainer import executor
from components.l1_trainer.component import L1Trainer
from schemas import predictions as rows
from schemas import splits, video_level


def test_the_component_is_wired_as_its_spec_says():
    component = L1Trainer(examples=types.Channel(type=Examples), model_config="{}", fold=1, num_folds=3,
                          soft_labels=types.Channel(type=y8m_types.SoftLabels), num_classes=7)
    assert component.id == "L1Trainer"
    assert component.exec_properties == {"model_config": "{}", "fold": 1, "num_folds": 3, "num_classes": 7}
    assert {key: channel.type for key, channel in component.inputs.items()} == {
        "examples": Examples, "soft_labels": y8m_types.SoftLabels}
    assert {key: channel.type for key, channel in component.outputs.items()} == {
        "fold_predictions": y8m_types.FoldPredictions}
    assert component.executor_spec.executor_class is executor.Executor
    frame_level = L1Trainer(examples=types.Channel(type=Examples), model_config="{}", fold=0, num_folds=3,
                            frame_features=types.Channel(type=Examples))
    assert set(frame_level.inputs) == {"examples", "frame_features"}


def test_the_executor_scores_its_own_fold_the_holdout_and_test(split_examples, fold_predictions):
    for fold, artifact in enumerate(fold_predictions):
        oof = [rows.decode_prediction(record) for record in splits.read_split_records(artifact, splits.OOF)]
        assert [row.video_id for row in oof] == video_ids(split_examples, splits.fold_split_name(fold))
        assert all(row.scores.shape == (CLASSES,) for row in oof)
        for split in (splits.HOLDOUT, splits.TEST):
            assert [rows.decode_prediction(record).video_id for record in splits.read_split_records(artifact, split)] \
                == video_ids(split_examples, split)
        assert artifact.get_int_custom_property(artifact_properties.FOLD) == fold
        assert artifact.get_string_custom_property(artifact_properties.MODEL_NAME) == L1_CONFIG["name"]
        assert artifact_properties.split_names(artifact) == list(splits.PREDICTION_SPLITS)
        summary = json.loads(artifact.get_string_custom_property(artifact_properties.TRAINING_SUMMARY))
        assert summary["fold"] == fold
        assert len(summary["epoch_train_seconds"]) == len(summary["epoch_seconds"]) == len(summary["val_gaps"])
        assert all(0 <= steps <= whole for steps, whole in zip(summary["epoch_train_seconds"], summary["epoch_seconds"]))
    assert len(fold_predictions) == FOLDS


def video_ids(examples, split: str) -> list[str]:
    return [video_level.video_id_of(record) for record in splits.read_split_records(examples, split)]
