"""SoftLabelIndexer: its spec, and its executor on the stack's predictions."""
import tensorflow as tf
from tfx import types
from tfx.types.standard_artifacts import Examples

import y8m_types
from components import artifact_properties
from components.conftest import FOLDS
from components.soft_label_indexer import executor
from components.soft_label_indexer.component import SoftLabelIndexer
from schemas import soft_labels as soft_label_records
from schemas import splits, video_level


def test_the_component_is_wired_as_its_spec_says():
    component = SoftLabelIndexer(split_examples=types.Channel(type=Examples),
                                 stack_predictions=types.Channel(type=y8m_types.Predictions), num_folds=3)
    assert component.id == "SoftLabelIndexer"
    assert component.exec_properties == {"num_folds": 3}
    assert {key: channel.type for key, channel in component.inputs.items()} == {
        "split_examples": Examples, "stack_predictions": y8m_types.Predictions}
    assert {key: channel.type for key, channel in component.outputs.items()} == {"soft_labels": y8m_types.SoftLabels}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_gives_each_fold_video_its_soft_labels(split_examples, soft_labels):
    assert artifact_properties.split_names(soft_labels) == splits.fold_split_names(FOLDS)
    for split in splits.fold_split_names(FOLDS):
        records = list(splits.read_split_records(soft_labels, split))
        assert sorted(map(video_level.video_id_of, records)) == sorted(
            map(video_level.video_id_of, splits.read_split_records(split_examples, split)))
        for record in records:
            feature = tf.train.Example.FromString(record).features.feature
            assert len(feature[soft_label_records.SOFT_IDS_KEY].int64_list.value) == len(
                feature[soft_label_records.SOFT_VALUES_KEY].float_list.value) > 0
