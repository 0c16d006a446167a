"""L1Trainer's protocol on FrameFeatures-style splits: frame-level families load padded
frames and write predictions in the same format, for every video of every split."""
import types

import numpy as np
import pytest
import tensorflow as tf

import y8m_types
from components import artifact_properties
from components.frame_features import transforms
from components.l1_assembler import assemble
from components.l1_trainer import trainer
from models import data
from schemas import frame_level, predictions, splits
from schemas.video_level import AUDIO_SIZE, RGB_SIZE
from common.errors import UserError
from models.model_config import L1ModelConfig

CLASSES = 6
FOLDS = 2
FIRST_FOLD, SECOND_FOLD = splits.fold_split_names(FOLDS)
MAX_FRAMES = 4
CONFIG = {"name": "attention", "family": "attention_pooling",
          "kwargs": {"max_frames": MAX_FRAMES, "hidden_size": 8, "heads": 2},
          "training": {"batch_size": 8, "max_epochs": 1}}
MODEL = L1ModelConfig.from_dict(CONFIG)


def frame_feature_record(video_id, labels, frames, rng) -> bytes:
    rgb = rng.integers(0, 256, (frames, RGB_SIZE), dtype=np.uint8)
    audio = rng.integers(0, 256, (frames, AUDIO_SIZE), dtype=np.uint8)
    sequence = frame_level.make_sequence_example(video_id, labels, rgb, audio)
    return transforms.frame_feature_record(sequence.SerializeToString(), CLASSES, 5)[1]


@pytest.fixture(scope="module")
def frame_features(tmp_path_factory):
    rng = np.random.default_rng(0)
    artifact = types.SimpleNamespace(uri=str(tmp_path_factory.mktemp("frame_features")))
    ids = {}
    for index, split in enumerate(splits.pipeline_split_names(FOLDS)):
        ids[split] = [f"{split[0]}{index}{i:02d}" for i in range(8)]
        tf.io.gfile.makedirs(splits.split_dir(artifact, split))
        path = f"{splits.split_prefix(artifact, split)}-00000-of-00001{splits.FRAME_TFRECORD_SUFFIX}"
        with tf.io.TFRecordWriter(path) as writer:
            for i, video_id in enumerate(ids[split]):
                writer.write(frame_feature_record(video_id, [i % CLASSES], 1 + i % 6, rng))
    return artifact, ids


def test_frames_load_truncated_and_padded(frame_features):
    artifact, ids = frame_features
    batch, = list(data.read_batches([splits.frame_split_files_pattern(artifact, FIRST_FOLD)], max_frames=MAX_FRAMES))
    assert data.ids_of(batch) == ids[FIRST_FOLD]
    frames, counts = batch[data.FEATURES]["frames"].numpy(), batch[data.FEATURES]["num_frames"].numpy()
    assert frames.shape == (8, MAX_FRAMES, RGB_SIZE + AUDIO_SIZE)
    # 1 + i % 6 source frames, of which at most 5 were kept by FrameFeatures, 4 by the model.
    assert counts.tolist() == [min(1 + i % 6, 5, MAX_FRAMES) for i in range(8)]
    assert not frames[0, 1:].any()  # zero padding after the one frame
    assert [labels.tolist() for labels in data.label_rows(batch[data.LABELS])] == [[i % CLASSES] for i in range(8)]


def test_frame_model_predicts_every_video_of_every_split(frame_features, tmp_path):
    """Each fold task scores its fold, the held-out split and test; the assembled model
    scores every video of every split once."""
    artifact, ids = frame_features
    fold_outputs = []
    for fold in range(FOLDS):
        output = y8m_types.FoldPredictions()
        output.uri = str(tmp_path / f"fold-{fold}")
        summary = trainer.train_fold(None, output, MODEL, fold=fold, num_folds=FOLDS, num_classes=CLASSES,
                                     frame_features=artifact)
        assert summary["fold"] == fold
        # One epoch: its validation GAP (the best) and seconds, for the run report's curves.
        assert summary["val_gaps"] == [round(summary["best_val_gap"], 5)] and len(summary["epoch_seconds"]) == 1
        output.set_string_custom_property(artifact_properties.MODEL_NAME, MODEL.name)
        output.set_int_custom_property(artifact_properties.FOLD, fold)
        fold_outputs.append(output)
    assembled = types.SimpleNamespace(uri=str(tmp_path / "predictions"))
    assemble.assemble(fold_outputs, assembled, FOLDS, MODEL.name)
    expected = {splits.OOF: ids[FIRST_FOLD] + ids[SECOND_FOLD], splits.HOLDOUT: ids[splits.HOLDOUT],
                splits.TEST: ids[splits.TEST]}
    for split, split_ids in expected.items():
        rows = [predictions.decode_prediction(record) for record in splits.read_split_records(assembled, split)]
        assert sorted(row.video_id for row in rows) == sorted(split_ids)
        assert all(row.scores.shape == (CLASSES,) and np.isfinite(row.scores).all() for row in rows)


@pytest.mark.parametrize("config, with_frames, message", [
    (CONFIG, False, "reads frames and needs the frame_features input"),
    ({**CONFIG, "family": "mlp", "kwargs": {}}, True, "frame_features is only for frame-level families"),
])
def test_frame_inputs_are_checked(config, with_frames, message):
    with pytest.raises(UserError, match=message):
        trainer.check_inputs(L1ModelConfig.from_dict(config), None, object() if with_frames else None)
