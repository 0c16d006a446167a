"""Distiller: the student's trained networks (StudentTrainer, one task each) averaged
behind StudentTransform's preprocessing graph into one SavedModel, exported for serving.

The SavedModel in `<model>/Format-Serving` (where the standard Pusher looks) takes
serialized Examples. The student's predictions on the held-out split and test are made
by that exported graph: what is judged is exactly what is pushed.
"""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples, Model, TransformGraph

import y8m_types
from components import model_inputs
from components.student.distiller import executor
from schemas.video_level import NUM_CLASSES


class DistillerSpec(types.ComponentSpec):
    """The fixed keys; one `student_network_<i>` key per network is added per pipeline."""
    PARAMETERS = {"student_config": ExecutionParameter(type=str), "num_classes": ExecutionParameter(type=int),
                  "max_model_bytes": ExecutionParameter(type=int)}
    INPUTS = {"transform_graph": ChannelParameter(type=TransformGraph),
              "split_examples": ChannelParameter(type=Examples)}
    OUTPUTS = {"model": ChannelParameter(type=Model), "predictions": ChannelParameter(type=y8m_types.Predictions)}


class Distiller(base_component.BaseComponent):
    SPEC_CLASS = DistillerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, student_networks: list, transform_graph, split_examples, student_config: str,
                 num_classes: int = NUM_CLASSES, max_model_bytes: int = 10**9):
        """`student_networks`: one channel per network (each StudentTrainer's `network`)."""
        spec_class = model_inputs.spec_with_model_inputs(DistillerSpec, len(student_networks),
                                                         model_inputs.NETWORK_KEY_PREFIX, y8m_types.StudentNetwork)
        super().__init__(spec=spec_class(
            transform_graph=transform_graph, split_examples=split_examples, student_config=student_config,
            num_classes=num_classes, max_model_bytes=max_model_bytes,
            model=types.Channel(type=Model), predictions=types.Channel(type=y8m_types.Predictions),
            **model_inputs.model_input_channels(student_networks, model_inputs.NETWORK_KEY_PREFIX)))
