"""GapEvaluator: scores every stage on hard labels and blesses (or not) the student.

L1 models and the stack are scored out-of-fold and on the held-out split; the student
only on the held-out split (its soft targets saw every fold: docs/design.md, "Honest
evaluation"); every stage also on test when the test files carry labels. Writes
`metrics.json`, `report.html` and a ModelBlessing that the standard Pusher reads. No Resolver node:
the baseline is the best L1 model of the same run. For the Kubeflow Pipelines UI, also the
report as an HTML artifact, a Markdown summary of the stages' GAP@20 and those GAPs as
scalar metrics (KFP's `system.` types, y8m_types.py), each under a display name.
"""
import json
import os


from tfx import types
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.types import artifact_utils
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples, Model, ModelBlessing

import y8m_types
from components import artifact_properties, model_inputs, splits
from components.evaluator import evaluate, report
from schemas.video_level import NUM_CLASSES

METRICS_FILE = "metrics.json"


# The names the Kubeflow Pipelines UI shows for the outputs it renders (ML Metadata's
# `display_name`, which the UI requires of them).
DISPLAY_NAMES = {"report": "Run report", "summary": "GAP@20 by stage", "scalars": "GAP@20"}


def evaluate_run(split_examples, l1_predictions: list, stack_predictions, student_predictions, student_model,
                 metrics, blessing, ui_outputs: dict, num_folds: int, num_classes: int, min_gap_ratio: float,
                 settings: dict) -> None:
    labels = evaluate.evaluation_labels(split_examples, num_folds)
    stages = []
    for artifact in sorted(l1_predictions, key=artifact_properties.model_name):
        stages += evaluate.stage_metrics(artifact_properties.model_name(artifact), "l1",
                                         artifact, labels, num_classes)
    stages += evaluate.stage_metrics("stack", "stack", stack_predictions, labels, num_classes)
    student_labels = {split: value for split, value in labels.items() if split != splits.OOF}
    stages += evaluate.stage_metrics("student", "student", student_predictions, student_labels, num_classes)
    blessed, reason = evaluate.blessing_decision(stages, min_gap_ratio)
    metrics_report = {"stages": stages, "blessing": {"blessed": blessed, "reason": reason,
                                                     "min_gap_ratio": min_gap_ratio}}
    with open(os.path.join(metrics.uri, METRICS_FILE), "w") as out:
        json.dump(metrics_report, out, indent=2)
    fold_summaries = {artifact_properties.model_name(artifact): (artifact_properties.training_summary(artifact)
                                                                 or {}).get("folds", [])
                      for artifact in l1_predictions}
    page = write_report(metrics.uri, metrics_report, labels, stack_predictions, student_predictions, student_model,
                        num_classes, settings, fold_summaries)
    write_ui_outputs(ui_outputs, metrics_report, page)
    with open(os.path.join(blessing.uri, "BLESSED" if blessed else "NOT_BLESSED"), "w") as out:
        out.write(reason + "\n")
    blessing.set_int_custom_property(artifact_properties.BLESSED, int(blessed))
    blessing.set_string_custom_property(artifact_properties.REASON, reason)


def write_report(directory: str, metrics_report: dict, labels: dict, stack_predictions, student_predictions,
                 student_model, num_classes: int, settings: dict, fold_summaries: dict | None = None) -> str:
    """Writes report.html into `directory`; returns the page. `fold_summaries`: each L1
    model's fold summaries, for its training curves."""
    frequency = labels[splits.OOF].class_frequency(num_classes)
    ap_by_stage = {name: evaluate.per_class_ap(artifact, labels[splits.HOLDOUT], num_classes)
                   for name, artifact in (("stack", stack_predictions), ("student", student_predictions))}
    model_bytes = (student_model.get_int_custom_property(artifact_properties.SAVED_MODEL_BYTES)
                   if student_model.has_custom_property(artifact_properties.SAVED_MODEL_BYTES) else None)
    precisions = json.loads(student_model.get_string_custom_property(artifact_properties.PRECISIONS) or "{}")
    page = report.render_report(metrics_report, frequency, ap_by_stage, model_bytes, settings, precisions,
                                fold_summaries)
    with open(os.path.join(directory, report.REPORT_FILE), "w") as out:
        out.write(page)
    return page


def write_ui_outputs(ui_outputs: dict, metrics_report: dict, page: str) -> None:
    """The outputs the Kubeflow Pipelines UI renders: each text is a file at its artifact's
    URI, the scalars are custom properties."""
    ui_outputs["report"].write(page)
    ui_outputs["summary"].write(report.render_summary(metrics_report))
    for name, value in report.scalar_metrics(metrics_report).items():
        ui_outputs["scalars"].set_float_custom_property(name, value)


class GapEvaluatorSpec(types.ComponentSpec):
    """The fixed keys; one `predictions_<i>` key per L1 model is added per pipeline."""
    PARAMETERS = {"num_folds": ExecutionParameter(type=int), "num_classes": ExecutionParameter(type=int),
                  "min_gap_ratio": ExecutionParameter(type=float),
                  # The run's settings (the profile), shown in report.html.
                  "settings": ExecutionParameter(type=str)}
    INPUTS = {"split_examples": ChannelParameter(type=Examples),
              "stack_predictions": ChannelParameter(type=y8m_types.Predictions),
              "student_predictions": ChannelParameter(type=y8m_types.Predictions),
              "student_model": ChannelParameter(type=Model)}
    OUTPUTS = {"metrics": ChannelParameter(type=y8m_types.StageMetrics),
               "blessing": ChannelParameter(type=ModelBlessing),
               "report": ChannelParameter(type=y8m_types.HtmlReport),
               "summary": ChannelParameter(type=y8m_types.MarkdownSummary),
               "scalars": ChannelParameter(type=y8m_types.ScalarMetrics)}


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        evaluate_run(single(input_dict["split_examples"]), model_inputs.model_artifacts(input_dict),
                     single(input_dict["stack_predictions"]), single(input_dict["student_predictions"]),
                     single(input_dict["student_model"]), single(output_dict["metrics"]),
                     single(output_dict["blessing"]), {key: single(output_dict[key]) for key in DISPLAY_NAMES},
                     exec_properties["num_folds"],
                     exec_properties["num_classes"], exec_properties["min_gap_ratio"],
                     json.loads(exec_properties["settings"]))


class GapEvaluator(base_component.BaseComponent):
    SPEC_CLASS = GapEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, split_examples, l1_predictions: list, stack_predictions, student_predictions,
                 student_model, num_folds: int = 5, num_classes: int = NUM_CLASSES, min_gap_ratio: float = 0.9,
                 settings: str = "{}"):
        """`l1_predictions`: one channel per L1 model, second-round models included."""
        spec_class = model_inputs.spec_with_model_inputs(GapEvaluatorSpec, len(l1_predictions))
        super().__init__(spec=spec_class(
            split_examples=split_examples, stack_predictions=stack_predictions,
            student_predictions=student_predictions, student_model=student_model, num_folds=num_folds,
            num_classes=num_classes, min_gap_ratio=min_gap_ratio, settings=settings,
            metrics=types.Channel(type=y8m_types.StageMetrics), blessing=types.Channel(type=ModelBlessing),
            **{key: ui_output_channel(spec_class, key) for key in DISPLAY_NAMES},
            **model_inputs.model_input_channels(l1_predictions)))


def ui_output_channel(spec_class, key: str) -> types.Channel:
    """An output the KFP UI renders, with its display name: the compiler writes it into
    the output's metadata, which KFP's driver gives the artifact (`provisionOutputs`)."""
    return types.Channel(type=spec_class.OUTPUTS[key].type,
                         additional_custom_properties={"display_name": DISPLAY_NAMES[key]})
