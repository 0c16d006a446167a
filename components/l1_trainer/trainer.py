"""One fold of the out-of-fold protocol of an L1 model (docs/method.md, Stage D).

Each fold is its own task (on a cluster the K folds of M models train in parallel);
L1Assembler joins a model's K fold outputs into its predictions.

A frame-level family (`registry.reads(family) == "frames"`) reads FrameFeatures' splits,
which hold the same videos in the same splits as FoldSplitter's: the protocol and the
predictions it writes are the same.
"""
import json
import logging
import os
import time
from typing import NamedTuple

import tf_keras

from components import artifact_properties
from models import data, precision, registry, serving, training
from models.model_config import L1ModelConfig
from common.errors import UserError
from schemas import splits

PREDICT_BATCH = 1024
# A frame-level batch holds ~100 times the values of a video-level one.
FRAME_PREDICT_BATCH = 64

log = logging.getLogger("y8m.l1_trainer")


def check_inputs(config: L1ModelConfig, soft_labels, frame_features) -> None:
    """A frame-level family needs FrameFeatures' output, a second-round model the soft labels."""
    if config.second_round != (soft_labels is not None):
        raise UserError(f"L1 model '{config.name}': soft_label_weight and the soft_labels input go together")
    if config.reads_frames and frame_features is None:
        raise UserError(f"L1 model '{config.name}': family '{config.family}' reads frames and needs "
                        "the frame_features input (FrameFeatures' output)")
    if not config.reads_frames and frame_features is not None:
        raise UserError(f"L1 model '{config.name}': family '{config.family}' reads video-level "
                        "features; frame_features is only for frame-level families")


class SplitFiles(NamedTuple):
    """Where a model's videos are: the file patterns of each split it reads."""
    folds: list[str]  # one pattern per fold split, fold 0 first
    holdout: str
    test: str
    max_frames: int | None  # FrameFeatures' records (frame-level families), that many frames kept
    with_soft_labels: bool  # the fold files carry soft labels (SoftLabelIndexer's output)


def split_files(examples, config: L1ModelConfig, num_folds: int, soft_labels=None, frame_features=None) -> SplitFiles:
    """The model's input splits: frames for frame-level families; with `soft_labels`
    (SoftLabelIndexer's output) its fold splits replace the examples'."""
    check_inputs(config, soft_labels, frame_features)
    fold_names = splits.fold_split_names(num_folds)
    if frame_features is not None:
        def pattern(split):
            return splits.frame_split_files_pattern(frame_features, split)
        return SplitFiles([pattern(name) for name in fold_names], pattern(splits.HOLDOUT), pattern(splits.TEST),
                          config.frame_length, False)
    fold_source = soft_labels if soft_labels is not None else examples
    return SplitFiles([splits.split_files_pattern(fold_source, name) for name in fold_names],
                      splits.split_files_pattern(examples, splits.HOLDOUT),
                      splits.split_files_pattern(examples, splits.TEST), None, soft_labels is not None)


def split_batches(config: L1ModelConfig, files: SplitFiles, pattern: str):
    """The videos of one split's files as parsed batches, in file order."""
    return data.read_batches([pattern], _predict_batch(config), files.max_frames)


def train_one_fold(config: L1ModelConfig, files: SplitFiles, fold: int, num_classes: int,
                   log_dir: str | None) -> tuple:
    """Trains on every fold but `fold`, validates on `fold`'s hard labels; returns (model,
    fit summary). With `soft_label_weight` w the targets are w·soft + (1 − w)·hard."""
    recipe = config.training
    training_files = [pattern for k, pattern in enumerate(files.folds) if k != fold]
    class_subset = None
    if config.top_classes:
        # Chosen on the training folds only; the model still predicts (and is validated)
        # over every class, with the classes outside the subset never ranked.
        counts = data.label_counts(training_files, num_classes, files.max_frames)
        class_subset = data.most_frequent_classes(counts, config.top_classes)
    targets = data.Targets(num_classes, config.soft_label_weight if config.second_round else None,
                           None if class_subset is None else tuple(int(c) for c in class_subset))
    # Shuffling and initial weights depend on (seed, fold) only, not on what ran before
    # in this process: a fold trained alone (a resumed run, one task on Kubeflow) learns the same.
    tf_keras.utils.set_random_seed(recipe.seed + fold)
    train_dataset = data.training_batches(training_files, targets, recipe.batch_size, recipe.shuffle_buffer,
                                          seed=recipe.seed + fold, max_frames=files.max_frames)
    if class_subset is None:
        model = registry.build_model(config.family, num_classes, precision=recipe.precision, **config.kwargs)
    else:
        model = registry.build_subset_model(config.family, list(class_subset), num_classes,
                                            precision=recipe.precision, **config.kwargs)
    summary = training.fit(model, train_dataset, split_batches(config, files, files.folds[fold]), recipe,
                           log_dir=log_dir, progress_prefix=f"{config.name} fold {fold}: ")
    return model, summary


def _predict_batch(config: L1ModelConfig) -> int:
    return FRAME_PREDICT_BATCH if config.reads_frames else PREDICT_BATCH


def train_fold(examples, fold_predictions, config: L1ModelConfig, fold: int, num_folds: int, num_classes: int,
               soft_labels=None, frame_features=None) -> dict:
    """Trains the model of one fold and writes its scores on that fold (`oof`), on the
    held-out split and on test into `fold_predictions`, batch by batch as they are made;
    returns the fold's summary (with its validation GAP, and per epoch its seconds and
    those of its training steps). `soft_labels`: SoftLabelIndexer's output, whose fold
    splits then replace the examples'; `frame_features`: FrameFeatures' output, read
    instead of the examples by frame-level families."""
    if not 0 <= fold < num_folds:
        raise UserError(f"L1 model '{config.name}': fold {fold} is outside 0..{num_folds - 1}")
    started = time.time()
    files = split_files(examples, config, num_folds, soft_labels, frame_features)
    log_dir = os.path.join(fold_predictions.uri, "logs")
    model, summary = train_one_fold(config, files, fold, num_classes, log_dir)
    if precision.resolve(config.training.precision, config.reads_frames) != precision.FLOAT32:
        # The scores the stacker ranks come from float32 products, not bfloat16's 3 digits.
        model = serving.serving_copy(model, precision.FLOAT32)
    for split, pattern in ((splits.OOF, files.folds[fold]), (splits.HOLDOUT, files.holdout), (splits.TEST, files.test)):
        splits.write_dense_predictions(fold_predictions, split, training.predict_batches(
            model, split_batches(config, files, pattern)))
    log.info("%s fold %d (of %d): validation GAP %.4f (%.0f s)", config.name, fold, num_folds,
             summary["best_val_gap"], time.time() - started)
    tf_keras.backend.clear_session()  # the local runner trains every fold in one process
    history = summary["history"]
    # Per epoch, for the run report's training curves (components/evaluator/report.py).
    return {"fold": fold, "best_val_gap": summary["best_val_gap"], "best_epoch": summary["best_epoch"],
            "val_gaps": [round(gap, 5) for gap in history["val_gap"]],
            "epoch_seconds": [round(seconds, 2) for seconds in history["seconds"]],
            "epoch_train_seconds": [round(seconds, 2) for seconds in history["train_seconds"]],
            "seconds": round(time.time() - started, 1)}


def train_and_record_fold(examples, fold_predictions, config: L1ModelConfig, fold: int, num_folds: int,
                          num_classes: int, soft_labels=None, frame_features=None) -> None:
    """L1Trainer's work: the fold model trained, its predictions written and described."""
    summary = train_fold(examples, fold_predictions, config, fold=fold, num_folds=num_folds,
                         num_classes=num_classes, soft_labels=soft_labels, frame_features=frame_features)
    artifact_properties.set_split_names(fold_predictions, list(splits.PREDICTION_SPLITS))
    fold_predictions.set_string_custom_property(artifact_properties.MODEL_NAME, config.name)
    fold_predictions.set_int_custom_property(artifact_properties.FOLD, fold)
    fold_predictions.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, json.dumps(summary))
