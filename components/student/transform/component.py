"""StudentTransform: the student's input preprocessing, a tensorflow-transform graph
analysed (a Beam job) over the student's training videos; the first of the student's
tasks, it also checks that the student's weights fit the size budget before any
network trains (components/student/distill.py). The analysis streams the folds: its
memory is a batch of records and the per-feature accumulators (models/preprocessing.py)."""
from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import TransformGraph

import y8m_types
from components.student.transform import executor
from schemas.video_level import NUM_CLASSES


class StudentTransformSpec(types.ComponentSpec):
    PARAMETERS = {"student_config": ExecutionParameter(type=str), "num_folds": ExecutionParameter(type=int),
                  "num_classes": ExecutionParameter(type=int), "max_model_bytes": ExecutionParameter(type=int)}
    INPUTS = {"soft_labels": ChannelParameter(type=y8m_types.SoftLabels)}
    OUTPUTS = {"transform_graph": ChannelParameter(type=TransformGraph)}


class StudentTransform(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = StudentTransformSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, soft_labels, student_config: str, num_folds: int, num_classes: int = NUM_CLASSES,
                 max_model_bytes: int = 10**9):
        """`student_config`: the profile's student (components/student/config.py, `StudentConfig`) as JSON."""
        super().__init__(spec=StudentTransformSpec(
            soft_labels=soft_labels, student_config=student_config, num_folds=num_folds, num_classes=num_classes,
            max_model_bytes=max_model_bytes, transform_graph=types.Channel(type=TransformGraph)))
