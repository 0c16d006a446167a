"""FrameFeatures: its spec, and its executor on a few synthetic videos' frames."""
import json
import os

import tensorflow as tf
from tfx import types
from tfx.types.standard_artifacts import Examples

from components import artifact_properties
from components.conftest import FOLDS, MAX_FRAMES, VIDEOS
from components.frame_features import executor, transforms
from components.frame_features.component import FrameFeatures
from schemas import splits


def test_the_component_is_wired_as_its_spec_says():
    component = FrameFeatures(frame_patterns='["frames/*"]', split_examples=types.Channel(type=Examples),
                              num_folds=3, input_fingerprint="f", num_classes=7, max_frames=9)
    assert component.id == "FrameFeatures"
    assert component.exec_properties == {"frame_patterns": '["frames/*"]', "input_fingerprint": "f", "num_folds": 3,
                                         "num_classes": 7, "max_frames": 9, "max_bad_fraction": 0.01}
    assert {key: channel.type for key, channel in component.inputs.items()} == {"split_examples": Examples}
    assert {key: channel.type for key, channel in component.outputs.items()} == {"frame_features": Examples}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_routes_each_video_to_its_split(split_examples, frame_features):
    with open(os.path.join(frame_features.uri, transforms.REPORT_FILE)) as source:
        report = json.load(source)
    assert report["videos"] == report["good_records"] == VIDEOS and report["bad_records"] == 0
    for split in splits.pipeline_split_names(FOLDS):
        files = tf.io.gfile.glob(splits.frame_split_files_pattern(frame_features, split))
        assert sum(1 for _ in tf.data.TFRecordDataset(files)) == len(list(
            splits.read_split_records(split_examples, split))), split
    assert artifact_properties.split_names(frame_features) == splits.pipeline_split_names(FOLDS)
    assert frame_features.get_int_custom_property(artifact_properties.MAX_FRAMES) == MAX_FRAMES
