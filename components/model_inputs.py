"""A variable number of upstream artifacts as inputs of one component: one input key each.

Kubeflow V2 compiles one channel per input key and refuses union channels, so a
component that reads M models' predictions gets a spec class with M keys
(`predictions_0` … `predictions_{M-1}`), made when the pipeline is built; likewise the
K fold models of an L1 model (`fold_predictions_*`) and the student's networks.
"""
from tfx import types
from tfx.types.component_spec import ChannelParameter

import y8m_types

KEY_PREFIX = "predictions_"
FOLD_KEY_PREFIX = "fold_predictions_"  # L1Assembler: its model's L1Trainer outputs
NETWORK_KEY_PREFIX = "student_network_"  # the Distiller: the StudentTrainer outputs


def spec_with_model_inputs(base_spec: type, count: int, prefix: str = KEY_PREFIX,
                           artifact_type: type = y8m_types.Predictions) -> type:
    """A subclass of `base_spec` with `count` extra inputs of `artifact_type`."""
    inputs = dict(base_spec.INPUTS)
    inputs.update({model_input_key(index, prefix): ChannelParameter(type=artifact_type)
                   for index in range(count)})
    return type(base_spec.__name__, (base_spec,), {"INPUTS": inputs})


def model_input_key(index: int, prefix: str = KEY_PREFIX) -> str:
    return f"{prefix}{index}"


def model_input_channels(channels: list, prefix: str = KEY_PREFIX) -> dict:
    return {model_input_key(index, prefix): channel for index, channel in enumerate(channels)}


def model_artifacts(input_dict: dict, prefix: str = KEY_PREFIX) -> list[types.Artifact]:
    """The artifacts of every numbered `prefix` key of an executor's input_dict, in key order."""
    keys = sorted((key for key in input_dict if key.startswith(prefix) and key[len(prefix):].isdigit()),
                  key=lambda key: int(key[len(prefix):]))
    return [artifact for key in keys for artifact in input_dict[key]]
