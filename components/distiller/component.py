"""Distiller: one student network on soft ⊕ hard labels, exported for serving.

Writes the SavedModel to `<model>/Format-Serving` (where the standard Pusher looks) and
the student's predictions on the held-out split and test, made by that exported graph
from serialized Examples: what is judged is exactly what is pushed.
"""
import json
import os

from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Examples, Model

import y8m_types
from components import splits
from components.distiller import distill
from schemas.video_level import NUM_CLASSES
from y8m.errors import UserError


@component
def Distiller(
    soft_labels: InputArtifact[y8m_types.SoftLabels],
    split_examples: InputArtifact[Examples],
    model: OutputArtifact[Model],
    predictions: OutputArtifact[y8m_types.Predictions],
    student_config: Parameter[str],
    num_folds: Parameter[int] = 5,
    num_classes: Parameter[int] = NUM_CLASSES,
    max_model_bytes: Parameter[int] = 10**9,
):
    """`student_config`: JSON with family, kwargs, training, soft_label_weight (0..1)."""
    config = json.loads(student_config)
    weight = config.get("soft_label_weight", 1.0)
    if not 0.0 <= weight <= 1.0:
        raise UserError(f"soft_label_weight must lie in [0, 1], got {weight}")
    student, summary = distill.train_student(soft_labels, config, num_folds, num_classes,
                                             log_dir=os.path.join(model.uri, "logs"))
    exported = distill.export_and_predict(student, model, split_examples, predictions)
    if exported["saved_model_bytes"] > max_model_bytes:
        raise UserError(f"the student's SavedModel is {exported['saved_model_bytes']:,} bytes, "
                        f"over the budget of {max_model_bytes:,} bytes")
    splits.set_split_names(predictions, ["holdout", "test"])
    predictions.set_string_custom_property("model_name", "student")
    predictions.set_string_custom_property("kind", "student")
    model.set_int_custom_property("saved_model_bytes", exported["saved_model_bytes"])
    model.set_int_custom_property("parameters", int(student.count_params()))
    model.set_string_custom_property("training_summary", json.dumps(
        {key: value for key, value in summary.items() if key != "history"}))
