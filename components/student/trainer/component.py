"""StudentTrainer: one of the student's networks, trained on the soft ⊕ hard targets of
the training videos through StudentTransform's graph; a pipeline has one per network,
and the Distiller averages them (components/student/distill.py)."""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import TransformGraph

import y8m_types
from components.student.trainer import executor
from schemas.video_level import NUM_CLASSES


class StudentTrainerSpec(types.ComponentSpec):
    PARAMETERS = {"student_config": ExecutionParameter(type=str), "network_index": ExecutionParameter(type=int),
                  "num_folds": ExecutionParameter(type=int), "num_classes": ExecutionParameter(type=int)}
    INPUTS = {"soft_labels": ChannelParameter(type=y8m_types.SoftLabels),
              "transform_graph": ChannelParameter(type=TransformGraph)}
    OUTPUTS = {"network": ChannelParameter(type=y8m_types.StudentNetwork)}


class StudentTrainer(base_component.BaseComponent):
    SPEC_CLASS = StudentTrainerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, soft_labels, transform_graph, student_config: str, network_index: int, num_folds: int,
                 num_classes: int = NUM_CLASSES):
        """`network_index`: which of the student's networks (`StudentConfig.networks()`, copies expanded)."""
        super().__init__(spec=StudentTrainerSpec(
            soft_labels=soft_labels, transform_graph=transform_graph, student_config=student_config,
            network_index=network_index, num_folds=num_folds, num_classes=num_classes,
            network=types.Channel(type=y8m_types.StudentNetwork)))
