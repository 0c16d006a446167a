"""The out-of-fold protocol's randomness depends on (seed, model, fold) only."""
import numpy as np
import tensorflow as tf
import tf_keras

from components.l1_trainer import trainer
from models import data, training
from models.model_config import L1ModelConfig

CLASSES = 10
CONFIG = L1ModelConfig.from_dict({"name": "mlp", "family": "mlp", "kwargs": {"hidden_size": 16, "dropout": 0.3},
                                  "training": {"batch_size": 16, "max_epochs": 2, "seed": 5}})


def fold_sets():
    rng = np.random.default_rng(0)
    sets = []
    for fold in range(3):
        labels = [rng.choice(CLASSES, size=2, replace=False) for _ in range(48)]
        sets.append(data.VideoSet([f"f{fold}v{i}" for i in range(48)],
                                  rng.normal(size=(48, 1152)).astype(np.float32), labels))
    return sets


def fold_predictions(sets, fold):
    model, _ = trainer.train_one_fold(CONFIG, sets, fold, CLASSES, log_dir=None)
    scores = training.predict_probabilities(model, sets[fold].features, 64)
    tf_keras.backend.clear_session()
    return scores


def test_a_fold_learns_the_same_whatever_ran_before_it():
    sets = fold_sets()
    alone = fold_predictions(sets, 1)
    # Other work first, as in a run that trained other folds or models in this process.
    tf_keras.utils.set_random_seed(1234)
    tf.random.uniform([3])
    fold_predictions(sets, 0)
    after_other_work = fold_predictions(sets, 1)
    np.testing.assert_array_equal(alone, after_other_work)
