"""Joining the K fold models of an L1 model into its predictions (docs/method.md, Stage D).

Out-of-fold: each fold model's scores on its own fold, the folds one after another: the
fold models' files copied as they are (each holds at most `splits.RECORDS_PER_FILE` rows,
as the trainer wrote it).
Held-out and test: the mean of the K fold models' scores, summed in fold order. Each
fold model scored the same split files in the same order, so the K streams are joined
position by position, a batch of rows at a time (read at their offsets, summed as
arrays), each row's video id checked against the others': memory stays at one batch per
fold whatever the number of videos.
"""
import itertools
import json

import numpy as np

from common.errors import InvalidInputError
from components import artifact_properties
from models.model_config import L1ModelConfig
from schemas import predictions as rows
from schemas import splits

# Rows of each fold read at a time: the K batches (2 MB each) are still in the cache when
# they are decoded and summed, where batches of 1,024 rows cost 1.6 times the CPU time.
MEAN_BATCH = 128
# Rows summed at a time: their float64 total stays in the cache, where a batch's (32 MB)
# would cost fresh memory and three times the time.
SUM_ROWS = 64


def folds_in_order(fold_artifacts: list, num_folds: int, model_name: str) -> list:
    """The fold artifacts sorted by fold; each fold 0..K-1 exactly once, all of one model."""
    by_fold = {}
    for artifact in fold_artifacts:
        name = artifact_properties.model_name(artifact)
        fold = artifact.get_int_custom_property(artifact_properties.FOLD)
        if name != model_name:
            raise InvalidInputError(f"L1 model '{model_name}': a fold input comes from model '{name}'")
        if fold in by_fold:
            raise InvalidInputError(f"L1 model '{model_name}': fold {fold} is given twice")
        by_fold[fold] = artifact
    if sorted(by_fold) != list(range(num_folds)):
        raise InvalidInputError(f"L1 model '{model_name}': needs the folds 0..{num_folds - 1}, "
                                f"got {sorted(by_fold)}")
    return [by_fold[fold] for fold in range(num_folds)]


def fold_mean(fold_scores: list[np.ndarray]) -> np.ndarray:
    """The mean of the fold models' scores [b, C], float32: their float64 sum from zero in
    fold order, divided by their number, rounded to float32 (as a row is encoded)."""
    mean = np.empty(fold_scores[0].shape, np.float32)
    total = np.empty((SUM_ROWS, mean.shape[1]), np.float64)
    for start in range(0, len(mean), SUM_ROWS):
        rows_total = total[:len(mean[start:start + SUM_ROWS])]
        rows_total.fill(0.0)
        for scores in fold_scores:
            np.add(rows_total, scores[start:start + SUM_ROWS], out=rows_total)
        np.divide(rows_total, len(fold_scores), out=rows_total)
        mean[start:start + SUM_ROWS] = rows_total
    return mean


def mean_rows(fold_artifacts: list, split: str, model_name: str):
    """Encoded rows of the fold models' mean score per video of `split`, a batch of rows
    of every fold at a time (the folds wrote the same videos in the same files, so their
    batches line up)."""
    position = 0
    for batches in itertools.zip_longest(*(splits.read_split_batches(artifact, split, MEAN_BATCH)
                                                 for artifact in fold_artifacts)):
        if any(batch is None or len(batch) != len(batches[0]) for batch in batches):
            raise InvalidInputError(f"L1 model '{model_name}': the fold models scored different numbers "
                                    f"of '{split}' videos")
        decoded = [rows.decode_dense_predictions(batch, f"L1 model '{model_name}': fold {fold} '{split}'")
                   for fold, batch in enumerate(batches)]
        video_ids = decoded[0][0]
        for fold_ids, _ in decoded[1:]:
            if fold_ids != video_ids:
                offset = next(i for i, (ours, theirs) in enumerate(zip(video_ids, fold_ids)) if ours != theirs)
                raise InvalidInputError(
                    f"L1 model '{model_name}': '{split}' record {position + offset} is video "
                    f"'{video_ids[offset]}' in fold 0 but {[ids[offset] for ids, _ in decoded]} across the folds")
        yield from rows.encode_dense_predictions(video_ids, fold_mean([scores for _, scores in decoded]))
        position += len(video_ids)


def write_predictions(folds: list, predictions, model_name: str) -> None:
    """The model's `oof`, `holdout` and `test` predictions from its fold outputs, in fold order."""
    splits.concatenate_split_files(folds, splits.OOF, predictions)
    for split in (splits.HOLDOUT, splits.TEST):
        splits.write_split_records(predictions, split, mean_rows(folds, split, model_name), dense_scores=True)


def assemble(fold_artifacts: list, predictions, num_folds: int, model_name: str) -> list[dict]:
    """Writes the model's `oof`, `holdout` and `test` predictions; returns the fold summaries."""
    in_order = folds_in_order(fold_artifacts, num_folds, model_name)
    write_predictions(in_order, predictions, model_name)
    return [artifact_properties.training_summary(artifact) for artifact in in_order]


def assemble_model(fold_artifacts: list, predictions, num_folds: int, config: L1ModelConfig) -> None:
    """L1Assembler's work: the model's predictions joined from its fold outputs, and described."""
    fold_summaries = assemble(fold_artifacts, predictions, num_folds, config.name)
    artifact_properties.set_split_names(predictions, list(splits.PREDICTION_SPLITS))
    predictions.set_string_custom_property(artifact_properties.MODEL_NAME, config.name)
    predictions.set_string_custom_property(artifact_properties.KIND, "l1")
    if config.second_round:
        # Its out-of-fold targets came from teachers trained on those folds: judged on held-out only.
        predictions.set_float_custom_property(artifact_properties.SOFT_LABEL_WEIGHT, config.soft_label_weight)
    predictions.set_string_custom_property(artifact_properties.TRAINING_SUMMARY,
                                           json.dumps({"folds": fold_summaries}))
