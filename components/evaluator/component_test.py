"""GapEvaluator: its spec, and its executor on the run's predictions."""
import json
import os

from tfx import types
from tfx.types.standard_artifacts import Examples, Model, ModelBlessing

import y8m_types
from components import artifact_properties
from components.conftest import L1_CONFIG
from components.evaluator import evaluate, executor, report
from components.evaluator.component import GapEvaluator


def test_the_component_is_wired_as_its_spec_says():
    component = GapEvaluator(split_examples=types.Channel(type=Examples),
                             l1_predictions=[types.Channel(type=y8m_types.Predictions)],
                             stack_predictions=types.Channel(type=y8m_types.Predictions),
                             student_predictions=types.Channel(type=y8m_types.Predictions),
                             student_model=types.Channel(type=Model), num_folds=3, num_classes=7, min_gap_ratio=0.5,
                             min_gap_over_prior=0.02, settings='{"name": "x"}')
    assert component.id == "GapEvaluator"
    assert component.exec_properties == {"num_folds": 3, "num_classes": 7, "min_gap_ratio": 0.5,
                                         "min_gap_over_prior": 0.02, "settings": '{"name": "x"}'}
    assert {key: channel.type for key, channel in component.inputs.items()} == {
        "split_examples": Examples, "stack_predictions": y8m_types.Predictions,
        "student_predictions": y8m_types.Predictions, "student_model": Model, "predictions_0": y8m_types.Predictions}
    assert {key: channel.type for key, channel in component.outputs.items()} == {
        "metrics": y8m_types.StageMetrics, "blessing": ModelBlessing, "report": y8m_types.HtmlReport,
        "summary": y8m_types.MarkdownSummary, "scalars": y8m_types.ScalarMetrics}
    assert {key: component.outputs[key].additional_custom_properties["display_name"]
            for key in report.DISPLAY_NAMES} == report.DISPLAY_NAMES
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_scores_every_stage_and_decides_the_blessing(evaluator_outputs):
    metrics, blessing = evaluator_outputs["metrics"][0], evaluator_outputs["blessing"][0]
    with open(os.path.join(metrics.uri, evaluate.METRICS_FILE)) as source:
        written = json.load(source)
    assert {(stage["name"], stage["split"]) for stage in written["stages"]} >= {
        (L1_CONFIG["name"], "oof"), (L1_CONFIG["name"], "holdout"), ("stack", "oof"), ("student", "holdout")}
    assert not any(stage["name"] == "student" and stage["split"] == "oof" for stage in written["stages"])
    assert written["blessing"]["blessed"]  # min_gap_ratio 0: any student is blessed
    assert os.listdir(blessing.uri) == ["BLESSED"]
    assert blessing.get_int_custom_property(artifact_properties.BLESSED) == 1
    assert os.path.exists(os.path.join(metrics.uri, report.REPORT_FILE))
    with open(evaluator_outputs["report"][0].uri) as page:
        assert "<svg" in page.read()
    scalars = evaluator_outputs["scalars"][0]
    assert scalars.get_float_custom_property("blessed") == 1.0
    assert scalars.has_custom_property(f"gap20_{L1_CONFIG['name']}_holdout")
