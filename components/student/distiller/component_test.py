"""The Distiller: its spec, and its executor on the trained student networks."""
import os

from tfx import types
from tfx.types.standard_artifacts import Examples, Model, TransformGraph

import y8m_types
from components import artifact_properties
from components.student import distill
from components.student.distiller import executor
from components.student.distiller.component import Distiller
from schemas import predictions as rows
from schemas import splits, video_level


def test_the_component_is_wired_as_its_spec_says():
    component = Distiller(student_networks=[types.Channel(type=y8m_types.StudentNetwork) for _ in range(2)],
                          transform_graph=types.Channel(type=TransformGraph), split_examples=types.Channel(type=Examples),
                          student_config="{}", num_classes=7, max_model_bytes=100)
    assert component.id == "Distiller"
    assert component.exec_properties == {"student_config": "{}", "num_classes": 7, "max_model_bytes": 100}
    assert {key: channel.type for key, channel in component.inputs.items()} == {
        "transform_graph": TransformGraph, "split_examples": Examples,
        "student_network_0": y8m_types.StudentNetwork, "student_network_1": y8m_types.StudentNetwork}
    assert {key: channel.type for key, channel in component.outputs.items()} == {
        "model": Model, "predictions": y8m_types.Predictions}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_exports_the_averaged_student_and_its_predictions(split_examples, student_outputs):
    model, predictions = student_outputs["model"][0], student_outputs["predictions"][0]
    assert os.path.exists(os.path.join(model.uri, distill.SERVING_DIR, "saved_model.pb"))
    assert model.get_int_custom_property(artifact_properties.MEMBERS) == 2
    assert 0 < model.get_int_custom_property(artifact_properties.SAVED_MODEL_BYTES) < 10**7
    assert artifact_properties.split_names(predictions) == list(splits.STUDENT_PREDICTION_SPLITS)
    for split in splits.STUDENT_PREDICTION_SPLITS:
        assert [rows.decode_prediction(record).video_id for record in splits.read_split_records(predictions, split)] \
            == list(map(video_level.video_id_of, splits.read_split_records(split_examples, split)))
