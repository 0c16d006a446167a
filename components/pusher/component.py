"""Pusher: TFX's own, with its destination given as a directory.

TFX's Pusher takes a `PushDestination` proto, which a Kubeflow package can only carry as
JSON; here the directory is a plain string parameter (`serving_model_dir`), so the KFP
run form shows it as such and a run can push elsewhere. Everything else (the blessing
check, the versioned copy, the `PushedModel` output) is TFX's executor unchanged.
"""
from tfx import types
from tfx.components.pusher import component as tfx_pusher
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import pusher_pb2
from tfx.types import component_spec, standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

SERVING_MODEL_DIR = "serving_model_dir"


class PusherSpec(standard_component_specs.PusherSpec):
    PARAMETERS = {**standard_component_specs.PusherSpec.PARAMETERS,
                  SERVING_MODEL_DIR: component_spec.ExecutionParameter(type=str)}


class Executor(tfx_pusher_executor.Executor):
    def Do(self, input_dict, output_dict, exec_properties):
        destination = pusher_pb2.PushDestination(filesystem=pusher_pb2.PushDestination.Filesystem(
            base_directory=exec_properties[SERVING_MODEL_DIR]))
        super().Do(input_dict, output_dict, {
            **exec_properties, standard_component_specs.PUSH_DESTINATION_KEY: proto_utils.proto_to_json(destination)})


class Pusher(tfx_pusher.Pusher):
    """Pushes the blessed `model` into `serving_model_dir/<version>/`."""
    SPEC_CLASS = PusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel, serving_model_dir):
        base_component.BaseComponent.__init__(self, spec=PusherSpec(
            model=model, model_blessing=model_blessing, serving_model_dir=serving_model_dir,
            pushed_model=types.Channel(type=standard_artifacts.PushedModel)))
