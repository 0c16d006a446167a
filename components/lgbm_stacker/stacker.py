"""K-fold LightGBM over candidate rows (docs/method.md, Stages I; probabilities, not classes)."""
import logging
import os

import lightgbm
import numpy as np

from components import splits
from components.lgbm_stacker import l2_features
from components.lgbm_stacker.settings import StackerSettings
from models import metrics
from schemas import predictions as rows

log = logging.getLogger("y8m.lgbm_stacker")


def per_video(table: l2_features.CandidateTable, probabilities: np.ndarray):
    """Yields (video id, candidate class ids, probabilities) for every video of the table."""
    bounds = np.searchsorted(table.row_video, np.arange(len(table.video_ids) + 1))
    for index, video_id in enumerate(table.video_ids):
        start, stop = bounds[index], bounds[index + 1]
        yield video_id, table.candidates[start:stop], probabilities[start:stop]


def top_k_arrays(table, probabilities, k=rows.CANDIDATES_PER_MODEL):
    """[videos, k] class ids and scores from per-video candidate probabilities."""
    class_ids, scores = [], []
    for video_id, candidates, probs in per_video(table, probabilities):
        best = rows.top_k_of(rows.PredictionRow(video_id, candidates, probs), k)
        class_ids.append(best[0])
        scores.append(best[1])
    return np.asarray(class_ids), np.asarray(scores)


def fold_gap(table, probabilities, video_mask) -> float:
    class_ids, scores = top_k_arrays(table, probabilities)
    labels = [table.labels[i] for i in np.flatnonzero(video_mask)]
    return metrics.gap(class_ids[video_mask], scores[video_mask], labels)


def fit_fold(settings: StackerSettings, x_train, y_train, x_valid, y_valid) -> lightgbm.LGBMClassifier:
    model = lightgbm.LGBMClassifier(
        objective="binary", n_estimators=settings.n_estimators, learning_rate=settings.learning_rate,
        num_leaves=settings.num_leaves, min_child_samples=settings.min_child_samples,
        n_jobs=settings.n_jobs, random_state=settings.seed, verbose=-1)
    model.fit(x_train, y_train, eval_X=x_valid, eval_y=y_valid,
              callbacks=[lightgbm.early_stopping(settings.early_stopping_rounds, verbose=False)])
    return model


def write_sparse(artifact, split: str, table, probabilities) -> None:
    splits.write_split_records(artifact, split, (
        rows.encode_prediction(video_id, probs, class_ids=candidates)
        for video_id, candidates, probs in per_video(table, probabilities)))


def stack(tables: dict, merged_names: list[str], settings: StackerSettings, num_folds: int, num_classes: int,
          predictions_artifact, model_dir: str):
    """Fits one LightGBM per fold; writes OOF and fold-averaged holdout/test probabilities."""
    oof, holdout, test = tables[splits.OOF], tables[splits.HOLDOUT], tables[splits.TEST]
    row_fold = oof.folds[oof.row_video]
    oof_probabilities = np.zeros(len(oof.candidates), np.float64)
    holdout_sum = np.zeros(len(holdout.candidates), np.float64)
    test_sum = np.zeros(len(test.candidates), np.float64)
    feature_set = settings.feature_set
    fold_summaries = []
    for fold in range(num_folds):
        training_videos = [oof.labels[i] for i in np.flatnonzero(oof.folds != fold)]
        prior = l2_features.class_prior(training_videos, num_classes)
        x_oof = l2_features.build_features(oof, feature_set, merged_names, prior)
        train_rows, valid_rows = row_fold != fold, row_fold == fold
        model = fit_fold(settings, x_oof[train_rows], oof.targets[train_rows],
                         x_oof[valid_rows], oof.targets[valid_rows])
        oof_probabilities[valid_rows] = model.predict_proba(x_oof[valid_rows])[:, 1]
        holdout_sum += model.predict_proba(l2_features.build_features(holdout, feature_set, merged_names, prior))[:, 1]
        test_sum += model.predict_proba(l2_features.build_features(test, feature_set, merged_names, prior))[:, 1]
        model.booster_.save_model(os.path.join(model_dir, f"fold_{fold}.txt"))
        gap = fold_gap(oof, oof_probabilities, oof.folds == fold)
        fold_summaries.append({"fold": fold, "gap": gap, "trees": int(model.best_iteration_ or settings.n_estimators)})
        log.info("stack fold %d (of %d): GAP %.4f with %d trees", fold, num_folds, gap, fold_summaries[-1]["trees"])
    write_sparse(predictions_artifact, splits.OOF, oof, oof_probabilities)
    write_sparse(predictions_artifact, splits.HOLDOUT, holdout, holdout_sum / num_folds)
    write_sparse(predictions_artifact, splits.TEST, test, test_sum / num_folds)
    return {"folds": fold_summaries, "feature_names": l2_features.feature_names(feature_set, merged_names)}
