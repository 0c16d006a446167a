"""Pusher: TFX's own, with its destination given as a directory.

TFX's Pusher takes a `PushDestination` proto, which a Kubeflow package can only carry as
JSON; here the directory is a plain string parameter (`serving_model_dir`), so the KFP
run form shows it as such and a run can push elsewhere. Everything else (the blessing
check, the versioned copy, the `PushedModel` output) is TFX's executor unchanged.
"""
from tfx import types
from tfx.components.pusher import component as tfx_pusher
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import component_spec, standard_artifacts, standard_component_specs

from components.pusher import executor
from components.pusher.executor import SERVING_MODEL_DIR


class PusherSpec(standard_component_specs.PusherSpec):
    PARAMETERS = {**standard_component_specs.PusherSpec.PARAMETERS,
                  SERVING_MODEL_DIR: component_spec.ExecutionParameter(type=str)}


class Pusher(tfx_pusher.Pusher):
    """Pushes the blessed `model` into `serving_model_dir/<version>/`."""
    SPEC_CLASS = PusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel, serving_model_dir):
        base_component.BaseComponent.__init__(self, spec=PusherSpec(
            model=model, model_blessing=model_blessing, serving_model_dir=serving_model_dir,
            pushed_model=types.Channel(type=standard_artifacts.PushedModel)))
