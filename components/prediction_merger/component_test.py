"""PredictionMerger: its spec, and its executor on an L1 model's predictions."""
import json

from tfx import types
from tfx.types.standard_artifacts import Examples

import y8m_types
from components import artifact_properties, l2_features
from components.conftest import L1_CONFIG
from components.prediction_merger import executor
from components.prediction_merger.component import PredictionMerger
from schemas import predictions as rows
from schemas import splits


def test_the_component_is_wired_as_its_spec_says():
    component = PredictionMerger(split_examples=types.Channel(type=Examples),
                                 predictions=[types.Channel(type=y8m_types.Predictions) for _ in range(2)], num_folds=3)
    assert component.id == "PredictionMerger"
    assert component.exec_properties == {"num_folds": 3}
    assert {key: channel.type for key, channel in component.inputs.items()} == {
        "split_examples": Examples, "predictions_0": y8m_types.Predictions, "predictions_1": y8m_types.Predictions}
    assert {key: channel.type for key, channel in component.outputs.items()} == {
        "merged": y8m_types.MergedPredictions}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_writes_one_candidate_row_per_video_and_split(l1_predictions, merged):
    names = [L1_CONFIG["name"]]
    for split in splits.PREDICTION_SPLITS:
        candidate_rows = [rows.decode_candidates(record) for record in splits.read_split_records(merged, split)]
        scored = [rows.decode_prediction(record).video_id for record in splits.read_split_records(l1_predictions, split)]
        assert sorted(row.video_id for row in candidate_rows) == sorted(scored), split
        assert all(row.features.shape == (row.candidates.size, len(l2_features.l2_feature_names(names)))
                   for row in candidate_rows)
    assert artifact_properties.split_names(merged) == list(splits.PREDICTION_SPLITS)
    assert json.loads(merged.get_string_custom_property(artifact_properties.MODEL_NAMES)) == names
    assert json.loads(merged.get_string_custom_property(artifact_properties.FEATURE_NAMES)) == \
        l2_features.l2_feature_names(names)
