"""FrameFeatures as a TFX component under LocalDagRunner: frame files read in place by
their patterns, routed by FoldSplitter's splits, read by a frame-level L1Trainer.
(The pipeline's own wiring lives in pipeline/pipeline.py; this checks the components.)"""
import json
import os

import pytest
import tensorflow as tf
from tfx.orchestration import metadata
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from components.example_gen.component import VideoExampleGen
from components.fold_splitter.component import FoldSplitter
from components.frame_features.component import FrameFeatures
from components.l1_trainer.component import L1Trainer
from pipeline.beam_options import beam_args
from schemas import splits
from y8m import synthetic
from common.input_files import expand_patterns, fingerprint

pytestmark = pytest.mark.slow  # a LocalDagRunner run: about a minute on 2 cores

CLASSES = 8
FOLDS = 2
CONFIG = {"name": "frames_attention", "family": "attention_pooling",
          "kwargs": {"max_frames": 6, "hidden_size": 8, "heads": 2}, "training": {"max_epochs": 1, "batch_size": 16}}


def test_frame_features_feed_a_frame_level_trainer(tmp_path):
    data = str(tmp_path / "data")
    synthetic.generate(data, videos=80, classes=CLASSES, seed=2, shards=2, frames=True, max_frames=8)
    frame_patterns = [f"{data}/frames/*.tfrecord"]
    example_gen = VideoExampleGen(
        labelled_patterns=json.dumps([f"{data}/train*.tfrecord", f"{data}/validate*.tfrecord"]),
        test_patterns=json.dumps([f"{data}/test*.tfrecord"]), input_fingerprint="x", num_classes=CLASSES)
    fold_splitter = FoldSplitter(examples=example_gen.outputs["examples"], num_folds=FOLDS, holdout_fraction=0.2)
    frame_features = FrameFeatures(frame_patterns=json.dumps(frame_patterns),
                                   input_fingerprint=fingerprint(expand_patterns(frame_patterns, "frame-level")),
                                   split_examples=fold_splitter.outputs["split_examples"],
                                   num_folds=FOLDS, num_classes=CLASSES, max_frames=6, max_bad_fraction=0.0)
    trainer = L1Trainer(examples=fold_splitter.outputs["split_examples"],
                        frame_features=frame_features.outputs["frame_features"],
                        model_config=json.dumps(CONFIG), fold=0, num_folds=FOLDS, num_classes=CLASSES)
    LocalDagRunner().run(tfx_pipeline.Pipeline(
        pipeline_name="frames", pipeline_root=str(tmp_path / "root"),
        components=[example_gen, fold_splitter, frame_features, trainer],
        metadata_connection_config=metadata.sqlite_metadata_connection_config(str(tmp_path / "mlmd.sqlite")),
        beam_pipeline_args=beam_args("local")))

    (output,) = tf.io.gfile.glob(str(tmp_path / "root" / "FrameFeatures" / "frame_features" / "*"))
    with open(os.path.join(output, "report.json")) as source:
        report = json.load(source)
    assert report["videos"] == report["good_records"] == 80 and report["bad_records"] == 0
    counts = {split: sum(1 for path in tf.io.gfile.glob(splits.frame_split_files_pattern(
        type("A", (), {"uri": output}), split)) for _ in tf.data.TFRecordDataset(path))
        for split in splits.pipeline_split_names(FOLDS)}
    assert sum(counts.values()) == 80 and counts[splits.TEST] == 16
    (predictions,) = tf.io.gfile.glob(str(tmp_path / "root" / "L1Trainer" / "fold_predictions" / "*"))
    oof = list(splits.read_split_records(type("A", (), {"uri": predictions}), splits.OOF))
    assert len(oof) == counts[splits.fold_split_name(0)]  # fold 0's own videos
