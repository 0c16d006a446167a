"""Joining the K fold models of an L1 model into its predictions (docs/method.md, Stage D).

Out-of-fold: each fold model's scores on its own fold, the folds one after another.
Held-out and test: the mean of the K fold models' scores, summed in fold order. Each
fold model scored the same split files in the same order, so the K streams are joined
record by record, each record's video id checked against the others': memory stays at
one row per fold whatever the number of videos.
"""
import json

import numpy as np

from common.errors import InvalidInputError
from components import artifact_properties
from models.model_config import L1ModelConfig
from schemas import predictions as rows
from schemas import splits


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


def out_of_fold_records(fold_artifacts: list):
    """Each fold model's records of its own fold, fold after fold, as they were written."""
    for artifact in fold_artifacts:
        yield from splits.read_split_records(artifact, splits.OOF)


def mean_rows(fold_artifacts: list, split: str, model_name: str):
    """Encoded rows of the fold models' mean score per video of `split`."""
    streams = [splits.read_split_records(artifact, split) for artifact in fold_artifacts]
    position = 0
    while True:
        records = [next(stream, None) for stream in streams]
        if all(record is None for record in records):
            return
        if any(record is None for record in records):
            raise InvalidInputError(f"L1 model '{model_name}': the fold models scored different numbers "
                                    f"of '{split}' videos")
        decoded = [rows.decode_prediction(record) for record in records]
        video_id = decoded[0].video_id
        if any(row.video_id != video_id for row in decoded):
            raise InvalidInputError(f"L1 model '{model_name}': '{split}' record {position} is video "
                                    f"'{video_id}' in fold 0 but {[row.video_id for row in decoded]} across the folds")
        total = np.zeros(decoded[0].scores.shape, np.float64)
        for row in decoded:
            total += row.scores
        yield rows.encode_prediction(video_id, total / len(decoded))
        position += 1


def assemble(fold_artifacts: list, predictions, num_folds: int, model_name: str) -> list[dict]:
    """Writes the model's `oof`, `holdout` and `test` predictions; returns the fold summaries."""
    in_order = folds_in_order(fold_artifacts, num_folds, model_name)
    splits.write_split_records(predictions, splits.OOF, out_of_fold_records(in_order), dense_scores=True)
    for split in (splits.HOLDOUT, splits.TEST):
        splits.write_split_records(predictions, split, mean_rows(in_order, split, model_name), dense_scores=True)
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
