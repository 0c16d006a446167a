"""GapEvaluator: scores every stage on hard labels and blesses (or not) the student.

L1 models and the stack are scored out-of-fold and on the held-out split; the student
only on the held-out split (its soft targets saw every fold: docs/design.md, "Honest
evaluation"); every stage also on test when the test files carry labels. Writes
`metrics.json`, `report.html` and a ModelBlessing that the standard Pusher reads. No Resolver node:
the baseline is the best L1 model of the same run; and a floor, the class-prior baseline
(every held-out video scored by class frequency), which a student that learnt nothing matches. For the Kubeflow Pipelines UI, also the
report as an HTML artifact, a Markdown summary of the stages' GAP@20 and those GAPs as
scalar metrics (KFP's `system.` types, y8m_types.py), each under a display name
(components/evaluator/evaluate.py, report.py).
"""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples, Model, ModelBlessing

import y8m_types
from components import model_inputs
from components.evaluator import executor, report
from schemas.video_level import NUM_CLASSES


class GapEvaluatorSpec(types.ComponentSpec):
    """The fixed keys; one `predictions_<i>` key per L1 model is added per pipeline."""
    PARAMETERS = {"num_folds": ExecutionParameter(type=int), "num_classes": ExecutionParameter(type=int),
                  "min_gap_ratio": ExecutionParameter(type=float),
                  "min_gap_over_prior": ExecutionParameter(type=float),
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


class GapEvaluator(base_component.BaseComponent):
    SPEC_CLASS = GapEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, split_examples, l1_predictions: list, stack_predictions, student_predictions,
                 student_model, num_folds: int, num_classes: int = NUM_CLASSES, min_gap_ratio: float = 0.9,
                 min_gap_over_prior: float = 0.05, settings: str = "{}"):
        """`l1_predictions`: one channel per L1 model, second-round models included."""
        spec_class = model_inputs.spec_with_model_inputs(GapEvaluatorSpec, len(l1_predictions))
        super().__init__(spec=spec_class(
            split_examples=split_examples, stack_predictions=stack_predictions,
            student_predictions=student_predictions, student_model=student_model, num_folds=num_folds,
            num_classes=num_classes, min_gap_ratio=min_gap_ratio, min_gap_over_prior=min_gap_over_prior,
            settings=settings,
            metrics=types.Channel(type=y8m_types.StageMetrics), blessing=types.Channel(type=ModelBlessing),
            **{key: ui_output_channel(spec_class, key) for key in report.DISPLAY_NAMES},
            **model_inputs.model_input_channels(l1_predictions)))


def ui_output_channel(spec_class, key: str) -> types.Channel:
    """An output the KFP UI renders, with its display name: the compiler writes it into
    the output's metadata, which KFP's driver gives the artifact (`provisionOutputs`)."""
    return types.Channel(type=spec_class.OUTPUTS[key].type,
                         additional_custom_properties={"display_name": report.DISPLAY_NAMES[key]})
