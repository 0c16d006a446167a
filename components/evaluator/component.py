"""GapEvaluator: scores every stage on hard labels and blesses (or not) the student.

L1 models and the stack are scored out-of-fold and on the held-out split; the student
only on the held-out split (its soft targets saw every fold: design.md, "Honest
evaluation"); every stage also on test when the test files carry labels. Writes
`metrics.json` and a ModelBlessing that the standard Pusher reads. No Resolver node:
the baseline is the best L1 model of the same run.
"""
import json
import os

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Examples, ModelBlessing

import y8m_types
from components.evaluator import evaluate
from schemas.video_level import NUM_CLASSES

METRICS_FILE = "metrics.json"


@component
def GapEvaluator(
    split_examples: InputArtifact[Examples],
    l1_predictions: InputArtifact[list[y8m_types.Predictions]],
    stack_predictions: InputArtifact[y8m_types.Predictions],
    student_predictions: InputArtifact[y8m_types.Predictions],
    metrics: OutputArtifact[y8m_types.StageMetrics],
    blessing: OutputArtifact[ModelBlessing],
    num_folds: Parameter[int] = 5,
    num_classes: Parameter[int] = NUM_CLASSES,
    min_gap_ratio: Parameter[float] = 0.9,
):
    labels = evaluate.evaluation_labels(split_examples, num_folds)
    stages = []
    for artifact in sorted(l1_predictions, key=lambda a: a.get_string_custom_property("model_name")):
        stages += evaluate.stage_metrics(artifact.get_string_custom_property("model_name"), "l1",
                                         artifact, labels, num_classes)
    stages += evaluate.stage_metrics("stack", "stack", stack_predictions, labels, num_classes)
    student_labels = {split: value for split, value in labels.items() if split != "oof"}
    stages += evaluate.stage_metrics("student", "student", student_predictions, student_labels, num_classes)
    blessed, reason = evaluate.blessing_decision(stages, min_gap_ratio)
    report = {"stages": stages, "blessing": {"blessed": blessed, "reason": reason,
                                             "min_gap_ratio": min_gap_ratio}}
    with open(os.path.join(metrics.uri, METRICS_FILE), "w") as out:
        json.dump(report, out, indent=2)
    with open(os.path.join(blessing.uri, "BLESSED" if blessed else "NOT_BLESSED"), "w") as out:
        out.write(reason + "\n")
    blessing.set_int_custom_property("blessed", int(blessed))
    blessing.set_string_custom_property("reason", reason)
