"""Every model's predictions as inputs of one component: one input key per model.

Kubeflow V2 compiles one channel per input key and refuses union channels, so a
component that reads M models' predictions gets a spec class with M keys
(`predictions_0` … `predictions_{M-1}`), made when the pipeline is built.
"""
from tfx import types
from tfx.types.component_spec import ChannelParameter

import y8m_types

KEY_PREFIX = "predictions_"


def spec_with_model_inputs(base_spec: type, count: int) -> type:
    """A subclass of `base_spec` with `count` extra Predictions inputs."""
    inputs = dict(base_spec.INPUTS)
    inputs.update({model_input_key(index): ChannelParameter(type=y8m_types.Predictions)
                   for index in range(count)})
    return type(base_spec.__name__, (base_spec,), {"INPUTS": inputs})


def model_input_key(index: int) -> str:
    return f"{KEY_PREFIX}{index}"


def model_input_channels(channels: list) -> dict:
    return {model_input_key(index): channel for index, channel in enumerate(channels)}


def model_artifacts(input_dict: dict) -> list[types.Artifact]:
    """The artifacts of every per-model key of an executor's input_dict, in key order."""
    keys = sorted((key for key in input_dict if key.startswith(KEY_PREFIX)),
                  key=lambda key: int(key[len(KEY_PREFIX):]))
    return [artifact for key in keys for artifact in input_dict[key]]
