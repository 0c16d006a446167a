"""Pusher: its spec, and its executor pushing the tiny run's blessed student."""
import os

from tfx import types
from tfx.types.standard_artifacts import Model, ModelBlessing, PushedModel

from components.conftest import new_artifact, run_executor
from components.pusher import executor
from components.pusher.component import Pusher


def test_the_component_is_wired_as_its_spec_says():
    component = Pusher(model=types.Channel(type=Model), model_blessing=types.Channel(type=ModelBlessing),
                       serving_model_dir="/serving")
    assert component.id == "Pusher"
    assert component.exec_properties["serving_model_dir"] == "/serving"
    assert {key: channel.type for key, channel in component.inputs.items()} == {
        "model": Model, "model_blessing": ModelBlessing}
    assert {key: channel.type for key, channel in component.outputs.items()} == {"pushed_model": PushedModel}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_pushes_a_blessed_model_into_the_directory_given(work_dir, student_outputs, evaluator_outputs):
    serving = work_dir / "serving"
    pushed = new_artifact(PushedModel, work_dir / "pushed")
    run_executor(executor.Executor, {"model": student_outputs["model"], "model_blessing": evaluator_outputs["blessing"]},
                 {"pushed_model": [pushed]}, {"serving_model_dir": str(serving)})
    assert pushed.get_int_custom_property("pushed") == 1
    [version] = os.listdir(serving)
    assert os.path.exists(serving / version / "saved_model.pb")
