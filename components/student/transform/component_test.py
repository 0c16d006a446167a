"""StudentTransform: its spec, and its executor on the soft-labelled fold videos."""
import os

from tfx import types
from tfx.types.standard_artifacts import TransformGraph

import y8m_types
from components.student.transform import executor
from components.student.transform.component import StudentTransform


def test_the_component_is_wired_as_its_spec_says():
    component = StudentTransform(soft_labels=types.Channel(type=y8m_types.SoftLabels), student_config="{}",
                                 num_folds=3, num_classes=7, max_model_bytes=100)
    assert component.id == "StudentTransform"
    assert component.exec_properties == {"student_config": "{}", "num_folds": 3, "num_classes": 7,
                                         "max_model_bytes": 100}
    assert {key: channel.type for key, channel in component.inputs.items()} == {"soft_labels": y8m_types.SoftLabels}
    assert {key: channel.type for key, channel in component.outputs.items()} == {"transform_graph": TransformGraph}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_writes_the_preprocessing_graph_and_no_scratch(transform_graph):
    assert {"transform_fn", "transformed_metadata"} <= set(os.listdir(transform_graph.uri))
    assert "analysis-tmp" not in os.listdir(transform_graph.uri)
