"""FoldSplitter: its spec, and its executor on a few synthetic videos."""
import glob
from tfx import types
from tfx.types.standard_artifacts import Examples

import y8m_types
from components import artifact_properties
from components.conftest import FOLDS
from components.fold_splitter import executor
from components.fold_splitter.component import FoldSplitter
from schemas import splits, video_level


def test_the_component_is_wired_as_its_spec_says():
    component = FoldSplitter(examples=types.Channel(type=Examples), num_folds=3, holdout_fraction=0.2, seed=7)
    assert component.id == "FoldSplitter"
    assert component.exec_properties == {"num_folds": 3, "holdout_fraction": 0.2, "seed": 7}
    assert {key: channel.type for key, channel in component.inputs.items()} == {"examples": Examples}
    assert {key: channel.type for key, channel in component.outputs.items()} == {
        "split_examples": Examples, "fold_table": y8m_types.FoldTable}
    assert component.executor_spec.executor_class is executor.Executor


def test_the_executor_puts_every_labelled_video_in_the_split_of_its_fold(examples, fold_splitter_outputs):
    split_examples, fold_table = fold_splitter_outputs["split_examples"][0], fold_splitter_outputs["fold_table"][0]
    assert artifact_properties.split_names(split_examples) == splits.pipeline_split_names(FOLDS)
    placed = {}
    for split in splits.pipeline_split_names(FOLDS)[:-1]:
        for record in splits.read_split_records(split_examples, split):
            placed[video_level.video_id_of(record)] = split
    labelled = [video_level.video_id_of(record) for record in splits.read_split_records(examples, splits.LABELLED)]
    assert placed == {video: splits.split_of(splits.fold_of(video, FOLDS, 0.2)) for video in labelled}
    assert len(list(splits.read_split_records(split_examples, splits.TEST))) == len(
        list(splits.read_split_records(examples, splits.TEST)))
    (table,) = glob.glob(f"{fold_table.uri}/folds*.csv")
    with open(table) as rows:
        assert dict(line.strip().split(",") for line in rows.readlines()[1:]) == placed
    assert fold_table.get_int_custom_property(artifact_properties.NUM_FOLDS) == FOLDS
