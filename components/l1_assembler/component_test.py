"""L1Assembler: its spec, and its executor on the L1 model's fold outputs."""
import json

from tfx import types

import y8m_types
from components import artifact_properties
from components.conftest import FOLDS, L1_CONFIG
from components.l1_assembler import executor
from components.l1_assembler.component import L1Assembler
from schemas import predictions as rows
from schemas import splits


def test_the_component_is_wired_as_its_spec_says():
    component = L1Assembler(fold_predictions=[types.Channel(type=y8m_types.FoldPredictions) for _ in range(3)],
                            model_config="{}", num_folds=3)
    assert component.id == "L1Assembler"
    assert component.exec_properties == {"model_config": "{}", "num_folds": 3}
    assert {key: channel.type for key, channel in component.inputs.items()} == {
        f"fold_predictions_{fold}": y8m_types.FoldPredictions for fold in range(3)}
    assert {key: channel.type for key, channel in component.outputs.items()} == {"predictions": y8m_types.Predictions}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_joins_the_folds_out_of_fold_and_averages_them_elsewhere(fold_predictions, l1_predictions):
    def ids(artifact, split):
        return [rows.decode_prediction(record).video_id for record in splits.read_split_records(artifact, split)]

    assert ids(l1_predictions, splits.OOF) == [video for fold in fold_predictions for video in ids(fold, splits.OOF)]
    for split in (splits.HOLDOUT, splits.TEST):
        assert ids(l1_predictions, split) == ids(fold_predictions[0], split)
    assert artifact_properties.model_name(l1_predictions) == L1_CONFIG["name"]
    assert l1_predictions.get_string_custom_property(artifact_properties.KIND) == "l1"
    summary = json.loads(l1_predictions.get_string_custom_property(artifact_properties.TRAINING_SUMMARY))
    assert [fold["fold"] for fold in summary["folds"]] == list(range(FOLDS))
