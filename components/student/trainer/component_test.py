"""StudentTrainer: its spec, and its executor on the soft-labelled fold videos."""
import json

import tensorflow as tf
from tfx import types
from tfx.types.standard_artifacts import TransformGraph

import y8m_types
from components import artifact_properties
from components.student import distill
from components.student.trainer import executor
from components.student.trainer.component import StudentTrainer


def test_the_component_is_wired_as_its_spec_says():
    component = StudentTrainer(soft_labels=types.Channel(type=y8m_types.SoftLabels),
                               transform_graph=types.Channel(type=TransformGraph), student_config="{}",
                               network_index=2, num_folds=3, num_classes=7)
    assert component.id == "StudentTrainer"
    assert component.exec_properties == {"student_config": "{}", "network_index": 2, "num_folds": 3,
                                         "num_classes": 7}
    assert {key: channel.type for key, channel in component.inputs.items()} == {
        "soft_labels": y8m_types.SoftLabels, "transform_graph": TransformGraph}
    assert {key: channel.type for key, channel in component.outputs.items()} == {"network": y8m_types.StudentNetwork}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_saves_each_network_with_its_index(student_networks):
    for index, network in enumerate(student_networks):
        assert tf.train.latest_checkpoint(network.uri).endswith(distill.WEIGHTS_PREFIX)
        assert network.get_int_custom_property(artifact_properties.NETWORK_INDEX) == index
        summary = json.loads(network.get_string_custom_property(artifact_properties.TRAINING_SUMMARY))
        assert len(summary["epoch_train_seconds"]) == len(summary["epoch_seconds"]) == summary["epochs_run"]
        assert all(0 <= steps <= whole for steps, whole in zip(summary["epoch_train_seconds"], summary["epoch_seconds"]))
