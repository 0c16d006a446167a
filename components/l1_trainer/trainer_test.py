"""The out-of-fold protocol's randomness depends on (seed, model, fold) only."""
import numpy as np
import tensorflow as tf
import tf_keras

from components.l1_trainer import trainer
from models import data, training
from models.data_test import video_record, write_split
from models.model_config import L1ModelConfig

CLASSES = 10
CONFIG = L1ModelConfig.from_dict({"name": "mlp", "family": "mlp", "kwargs": {"hidden_size": 16, "dropout": 0.3},
                                  "training": {"batch_size": 16, "max_epochs": 2, "seed": 5}})


def fold_files(directory) -> trainer.SplitFiles:
    rng = np.random.default_rng(0)
    patterns = []
    for fold in range(3):
        features = rng.normal(size=(48, 1152)).astype(np.float32)
        patterns.append(write_split(directory, f"fold_{fold}", [
            video_record(f"f{fold}v{i}", rng.choice(CLASSES, size=2, replace=False), features[i])
            for i in range(48)]))
    return trainer.SplitFiles(patterns, "", "", None, False)


def fold_predictions(files, fold):
    model, _ = trainer.train_one_fold(CONFIG, files, fold, CLASSES, log_dir=None)
    scores = np.concatenate([scores for _, scores in training.predict_batches(
        model, data.read_batches([files.folds[fold]]))])
    tf_keras.backend.clear_session()
    return scores


def test_a_fold_learns_the_same_whatever_ran_before_it(tmp_path):
    files = fold_files(tmp_path)
    alone = fold_predictions(files, 1)
    # Other work first, as in a run that trained other folds or models in this process.
    tf_keras.utils.set_random_seed(1234)
    tf.random.uniform([3])
    fold_predictions(files, 0)
    after_other_work = fold_predictions(files, 1)
    np.testing.assert_array_equal(alone, after_other_work)
