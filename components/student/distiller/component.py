"""Distiller: the student's trained networks (StudentTrainer, one task each) averaged
behind StudentTransform's preprocessing graph into one SavedModel, exported for serving.

The SavedModel in `<model>/Format-Serving` (where the standard Pusher looks) takes
serialized Examples. The student's predictions on the held-out split and test are made
by that exported graph: what is judged is exactly what is pushed.
"""
import json

from tfx import types
from tfx.dsl.components.base import base_component, base_executor, executor_spec
from tfx.types import artifact_utils
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples, Model, TransformGraph

import y8m_types
from common.errors import InvalidInputError, UserError
from components import artifact_properties, model_inputs
from components.student import distill
from models import layers
from components.student.config import StudentConfig
from schemas import splits
from schemas.video_level import NUM_CLASSES

NETWORK_KEY_PREFIX = "student_network_"


def networks_in_order(network_artifacts: list, count: int) -> list:
    """The StudentNetwork artifacts sorted by index; each of 0..count-1 exactly once."""
    indices = [artifact.get_int_custom_property(artifact_properties.NETWORK_INDEX) for artifact in network_artifacts]
    if sorted(indices) != list(range(count)):
        raise InvalidInputError(f"the student has {count} networks; its trained networks' indices are {sorted(indices)}")
    by_index = dict(zip(indices, network_artifacts))
    return [by_index[index] for index in range(count)]


def distill_student(network_artifacts: list, transform_graph, split_examples, model, predictions,
                    config: StudentConfig, num_classes: int, max_model_bytes: int) -> None:
    trained = networks_in_order(network_artifacts, len(config.networks()))
    networks = distill.build_networks(config, num_classes)
    for network, artifact in zip(networks, trained):
        distill.load_network(network, artifact.uri)
    student = layers.averaged(networks)  # what is exported; shares the networks' layers
    exported = distill.export_and_predict(student, model, split_examples, predictions, transform_graph.uri,
                                          config.weights_dtype)
    if exported["saved_model_bytes"] > max_model_bytes:
        raise UserError(f"the student's SavedModel ({config.weights_dtype} weights) is "
                        f"{exported['saved_model_bytes']:,} bytes, over the budget of {max_model_bytes:,} bytes")
    artifact_properties.set_split_names(predictions, list(splits.STUDENT_PREDICTION_SPLITS))
    predictions.set_string_custom_property(artifact_properties.MODEL_NAME, "student")
    predictions.set_string_custom_property(artifact_properties.KIND, "student")
    model.set_int_custom_property(artifact_properties.SAVED_MODEL_BYTES, exported["saved_model_bytes"])
    model.set_int_custom_property(artifact_properties.PARAMETERS, int(student.count_params()))
    model.set_string_custom_property(artifact_properties.WEIGHTS_DTYPE, config.weights_dtype)
    model.set_int_custom_property(artifact_properties.STANDARDIZE, int(config.standardize))
    # Size and held-out GAP per weights dtype: the exported one, and float32 beside float16.
    model.set_string_custom_property(artifact_properties.PRECISIONS, json.dumps(exported["precisions"]))
    model.set_int_custom_property(artifact_properties.MEMBERS, len(networks))
    model.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, json.dumps(
        [artifact_properties.training_summary(artifact) for artifact in trained]))


class DistillerSpec(types.ComponentSpec):
    """The fixed keys; one `student_network_<i>` key per network is added per pipeline."""
    PARAMETERS = {"student_config": ExecutionParameter(type=str), "num_classes": ExecutionParameter(type=int),
                  "max_model_bytes": ExecutionParameter(type=int)}
    INPUTS = {"transform_graph": ChannelParameter(type=TransformGraph),
              "split_examples": ChannelParameter(type=Examples)}
    OUTPUTS = {"model": ChannelParameter(type=Model), "predictions": ChannelParameter(type=y8m_types.Predictions)}


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        single = artifact_utils.get_single_instance
        distill_student(model_inputs.model_artifacts(input_dict, NETWORK_KEY_PREFIX),
                        single(input_dict["transform_graph"]), single(input_dict["split_examples"]),
                        single(output_dict["model"]), single(output_dict["predictions"]),
                        StudentConfig.from_json(exec_properties["student_config"]),
                        exec_properties["num_classes"], exec_properties["max_model_bytes"])


class Distiller(base_component.BaseComponent):
    SPEC_CLASS = DistillerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, student_networks: list, transform_graph, split_examples, student_config: str,
                 num_classes: int = NUM_CLASSES, max_model_bytes: int = 10**9):
        """`student_networks`: one channel per network (each StudentTrainer's `network`)."""
        spec_class = model_inputs.spec_with_model_inputs(DistillerSpec, len(student_networks),
                                                         NETWORK_KEY_PREFIX, y8m_types.StudentNetwork)
        super().__init__(spec=spec_class(
            transform_graph=transform_graph, split_examples=split_examples, student_config=student_config,
            num_classes=num_classes, max_model_bytes=max_model_bytes,
            model=types.Channel(type=Model), predictions=types.Channel(type=y8m_types.Predictions),
            **model_inputs.model_input_channels(student_networks, NETWORK_KEY_PREFIX)))
