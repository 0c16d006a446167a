"""The out-of-fold protocol of one L1 model (method.md, Stage D)."""
import logging
import os
import time

import numpy as np
import tf_keras

from components import splits
from components.fold_splitter.folds import fold_split_name
from models import data, training, zoo

PREDICTION_SPLITS = ("oof", "holdout", "test")
PREDICT_BATCH = 1024

log = logging.getLogger("y8m.l1_trainer")


def load_split(examples, split: str, with_soft_labels: bool = False) -> data.VideoSet:
    return data.load_videos([splits.split_files_pattern(examples, split)], with_soft_labels=with_soft_labels)


def train_one_fold(config: dict, fold_sets: list[data.VideoSet], fold: int, num_classes: int,
                   log_dir: str | None) -> tuple:
    """Trains on every fold but `fold`, validates on `fold`'s hard labels; returns (model,
    fit summary). With `soft_label_weight` w the targets are w·soft + (1 − w)·hard."""
    recipe = training.TrainingRecipe.from_dict(config.get("training", {}))
    train_set = data.concatenate([s for k, s in enumerate(fold_sets) if k != fold])
    if "soft_label_weight" in config:
        target_ids, target_weights = data.padded(*data.mixed_targets(train_set, config["soft_label_weight"]))
    else:
        target_ids, target_weights = data.padded(train_set.labels)
    train_dataset = data.target_dataset(train_set.features, target_ids, target_weights,
                                        num_classes, recipe.batch_size, seed=recipe.seed + fold)
    tf_keras.utils.set_random_seed(recipe.seed + fold)  # the same initial weights on every run
    model = zoo.build_model(config["family"], num_classes, **config.get("kwargs", {}))
    summary = training.fit(model, train_dataset, fold_sets[fold].features, fold_sets[fold].labels,
                           recipe, log_dir=log_dir, progress_prefix=f"{config['name']} fold {fold}: ")
    return model, summary


def train_out_of_fold(examples, predictions_artifact, config: dict, num_folds: int, num_classes: int,
                      soft_labels=None) -> dict:
    """`soft_labels`: SoftLabelIndexer's output, whose fold splits then replace the examples'."""
    fold_source = soft_labels if soft_labels is not None else examples
    fold_sets = [load_split(fold_source, fold_split_name(k), soft_labels is not None) for k in range(num_folds)]
    holdout, test = load_split(examples, "holdout"), load_split(examples, "test")
    oof_ids, oof_scores = [], []
    holdout_sum = np.zeros((len(holdout.ids), num_classes), np.float64)
    test_sum = np.zeros((len(test.ids), num_classes), np.float64)
    fold_summaries = []
    for fold in range(num_folds):
        started = time.time()
        log_dir = os.path.join(predictions_artifact.uri, "logs", fold_split_name(fold))
        model, summary = train_one_fold(config, fold_sets, fold, num_classes, log_dir)
        oof_ids.extend(fold_sets[fold].ids)
        oof_scores.append(training.predict_probabilities(model, fold_sets[fold].features, PREDICT_BATCH))
        holdout_sum += training.predict_probabilities(model, holdout.features, PREDICT_BATCH)
        test_sum += training.predict_probabilities(model, test.features, PREDICT_BATCH)
        fold_summaries.append({"fold": fold, "best_val_gap": summary["best_val_gap"],
                               "best_epoch": summary["best_epoch"], "seconds": round(time.time() - started, 1)})
        log.info("%s fold %d (of %d): validation GAP %.4f (%.0f s)", config["name"], fold, num_folds,
                 summary["best_val_gap"], time.time() - started)
        tf_keras.backend.clear_session()
    splits.write_dense_predictions(predictions_artifact, "oof", oof_ids, np.concatenate(oof_scores))
    splits.write_dense_predictions(predictions_artifact, "holdout", holdout.ids, holdout_sum / num_folds)
    splits.write_dense_predictions(predictions_artifact, "test", test.ids, test_sum / num_folds)
    return {"folds": fold_summaries}
