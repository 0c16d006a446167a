"""VideoExampleGen: its spec, and its executor on a few synthetic videos."""
from tfx.types.standard_artifacts import Examples

from components import artifact_properties
from components.conftest import VIDEOS
from components.example_gen import executor
from components.example_gen.component import VideoExampleGen
from schemas import splits


def test_the_component_is_wired_as_its_spec_says():
    component = VideoExampleGen(labelled_patterns='["train*"]', test_patterns='["test*"]', input_fingerprint="f",
                                num_classes=7)
    assert component.id == "VideoExampleGen"
    assert component.exec_properties == {"labelled_patterns": '["train*"]', "test_patterns": '["test*"]',
                                         "input_fingerprint": "f", "num_classes": 7,
                                         "max_bad_fraction": 0.01}
    assert not component.inputs
    assert {key: channel.type for key, channel in component.outputs.items()} == {"examples": Examples}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_writes_the_labelled_and_test_splits(examples):
    assert artifact_properties.split_names(examples) == [splits.LABELLED, splits.TEST]
    counts = {split: len(list(splits.read_split_records(examples, split))) for split in (splits.LABELLED, splits.TEST)}
    assert sum(counts.values()) == VIDEOS and counts[splits.TEST] > 0
    assert examples.get_string_custom_property(artifact_properties.FILE_FORMAT) == splits.FILE_FORMAT
