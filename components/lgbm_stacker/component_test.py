"""LGBMStacker: its spec, and its executor on the merged candidate rows."""
import json
import os

from tfx import types
from tfx.types.standard_artifacts import Model

import y8m_types
from components import artifact_properties, l2_features
from components.conftest import CLASSES, FOLDS
from components.lgbm_stacker import executor
from components.lgbm_stacker.component import LGBMStacker
from schemas import predictions as rows
from schemas import splits


def test_the_component_is_wired_as_its_spec_says():
    component = LGBMStacker(merged=types.Channel(type=y8m_types.MergedPredictions), num_folds=3,
                            stacker_settings='{"n_estimators": 9}', num_classes=7)
    assert component.id == "LGBMStacker"
    assert component.exec_properties == {"stacker_settings": '{"n_estimators": 9}', "num_folds": 3, "num_classes": 7}
    assert {key: channel.type for key, channel in component.inputs.items()} == {"merged": y8m_types.MergedPredictions}
    assert {key: channel.type for key, channel in component.outputs.items()} == {
        "predictions": y8m_types.Predictions, "model": Model}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_scores_every_candidate_of_every_split(merged, stack_outputs):
    predictions, model = stack_outputs["predictions"][0], stack_outputs["model"][0]
    for split in splits.PREDICTION_SPLITS:
        candidate_rows = {row.video_id: row for row in map(rows.decode_candidates,
                                                           splits.read_split_records(merged, split))}
        stacked = [rows.decode_prediction(record) for record in splits.read_split_records(predictions, split)]
        assert {row.video_id for row in stacked} == set(candidate_rows), split
        assert all(set(row.class_ids) <= set(candidate_rows[row.video_id].candidates)
                   and ((0 <= row.scores) & (row.scores <= 1)).all() for row in stacked)
        assert all(row.class_ids.max() < CLASSES for row in stacked)
    assert sorted(os.listdir(model.uri)) == [f"fold_{fold}.txt" for fold in range(FOLDS)]
    assert artifact_properties.model_name(predictions) == "stack"
    assert json.loads(model.get_string_custom_property(artifact_properties.FEATURE_NAMES)) == \
        l2_features.feature_names("extended", json.loads(merged.get_string_custom_property(
            artifact_properties.FEATURE_NAMES)))
