"""K-fold LightGBM over candidate rows (docs/method.md, Stage I; probabilities, not classes).

Memory is bounded by settings, not by the number of videos (its paragraph in
docs/method.md, Stage I). The fold videos are read as chunks of `chunk_videos` videos
three times, the held-out and test videos once: (1) the fold videos' ids, folds and
labels: the training sample (the `max_train_videos` fold videos with the smallest
`splits.sample_key`) and each class's count per fold (the `class_prior` feature); (2) the
sample's rows, the only rows held at once; K boosters train on them, LightGBM building
its Datasets a batch at a time (`FoldRows`); (3) every video of every split scored chunk
by chunk and written as it is scored. Per fold video only its top-20 (score, hit) pairs
are kept, for its fold's GAP.
"""
import functools
import json
import logging
import os
from typing import Callable, Iterable, Iterator, NamedTuple

import lightgbm
import numpy as np

from common.errors import UserError
from components import artifact_properties, l2_features
from components.l2_features import CandidateTable
from components.lgbm_stacker.settings import StackerSettings
from models import metrics
from schemas import predictions as rows
from schemas import splits

log = logging.getLogger("y8m.lgbm_stacker")

SAMPLE_PURPOSE = "stacker_training"
# A split's chunks, read afresh on every call: Callable[[chunk_videos], Iterable[CandidateTable]].
ChunkSource = Callable[[int], Iterable[CandidateTable]]


def per_video(table: CandidateTable, probabilities: np.ndarray):
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


def sample_keys(video_ids: list[str], seed: int) -> np.ndarray:
    return np.fromiter((splits.sample_key(video_id, SAMPLE_PURPOSE, seed) for video_id in video_ids),
                       np.uint64, len(video_ids))


def survey(chunks: Iterable[CandidateTable], max_videos: int, seed: int, num_folds: int, num_classes: int):
    """One pass over the fold videos → (the largest sample key taken, label counts
    [folds, classes], videos per fold). Holds at most `max_videos` + a chunk of keys."""
    smallest = np.zeros(0, np.uint64)
    label_counts = np.zeros((num_folds, num_classes), np.int64)
    fold_videos = np.zeros(num_folds, np.int64)
    for chunk in chunks:
        for fold in range(num_folds):
            members = np.flatnonzero(chunk.folds == fold)
            fold_videos[fold] += members.size
            if members.size:
                # Classes outside 0..num_classes-1 are never candidates, so their counts never matter.
                label_counts[fold] += np.bincount(np.concatenate([chunk.labels[i] for i in members]),
                                                  minlength=num_classes)[:num_classes]
        smallest = np.concatenate([smallest, sample_keys(chunk.video_ids, seed)])
        if smallest.size > max_videos:
            smallest = np.partition(smallest, max_videos - 1)[:max_videos]
    return smallest.max(initial=0), label_counts, fold_videos


class TrainingRows(NamedTuple):
    """The rows of the sampled fold videos, in file order."""
    videos: int
    folds: np.ndarray  # int64 [rows]: the fold of the row's video
    candidates: np.ndarray  # int64 [rows]
    features: np.ndarray  # float32 [rows, merged features]
    targets: np.ndarray  # int8 [rows]


def training_sample(chunks: Iterable[CandidateTable], threshold: int, seed: int) -> TrainingRows:
    """The rows of the videos whose sample key is at most `threshold`: `survey`'s
    `max_videos` of them whatever the file order (more only if two ids share a 64-bit key)."""
    videos, parts = 0, []
    for chunk in chunks:
        taken = sample_keys(chunk.video_ids, seed) <= threshold
        row_taken = taken[chunk.row_video]
        videos += int(taken.sum())
        parts.append((chunk.folds[chunk.row_video[row_taken]], chunk.candidates[row_taken],
                      chunk.features[row_taken], chunk.targets[row_taken]))
    if not videos:
        raise UserError("the stacker has no fold videos to train on")
    return TrainingRows(videos, *(np.concatenate(column) for column in zip(*parts)))


class FoldRows(lightgbm.Sequence):
    """Some rows of the training sample with one fold's features, built a batch at a time
    as LightGBM reads them: no feature matrix of the whole sample exists."""

    def __init__(self, sample: TrainingRows, row_indices: np.ndarray, feature_set: str,
                 merged_names: list[str], prior: np.ndarray, batch_size: int):
        self.sample, self.row_indices = sample, row_indices
        self.feature_set, self.merged_names, self.prior = feature_set, merged_names, prior
        self.batch_size = batch_size
        self._batch_start, self._batch = -1, None

    def __len__(self) -> int:
        return self.row_indices.size

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self._row(int(index))
        picked = self.row_indices[index]
        return l2_features.feature_matrix(self.sample.features[picked], self.sample.candidates[picked],
                                          self.feature_set, self.merged_names, self.prior)

    def _row(self, position: int) -> np.ndarray:
        """LightGBM draws its bin-boundary sample a row at a time, in increasing order (up
        to 200,000 rows a fold): each comes from a cached batch, as float64 as it wants."""
        start = position - position % self.batch_size
        if start != self._batch_start:
            self._batch_start, self._batch = start, self[start:start + self.batch_size]
        return self._batch[position - start].astype(np.float64)


def lightgbm_params(settings: StackerSettings) -> dict:
    """LGBMClassifier's training parameters for these settings, for `lightgbm.train`."""
    return {"objective": "binary", "metric": "binary_logloss", "learning_rate": settings.learning_rate,
            "num_leaves": settings.num_leaves, "min_child_samples": settings.min_child_samples,
            "num_threads": settings.n_jobs, "random_state": settings.seed, "verbose": -1,
            # A Dataset built from a Sequence sees only Dataset parameters: the seed must reach
            # its bin-boundary sample (rows beyond bin_construct_sample_cnt) by name, and
            # without min_child_samples its pre-filter could drop a feature a leaf may split on.
            "data_random_seed": settings.seed, "feature_pre_filter": False}


def fit_fold(settings: StackerSettings, train: FoldRows, train_targets: np.ndarray,
             valid: FoldRows, valid_targets: np.ndarray) -> lightgbm.Booster:
    params = lightgbm_params(settings)
    train_set = lightgbm.Dataset(train, label=train_targets, params=params)
    valid_set = lightgbm.Dataset(valid, label=valid_targets, reference=train_set)
    return lightgbm.train(params, train_set, num_boost_round=settings.n_estimators, valid_sets=[valid_set],
                          callbacks=[lightgbm.early_stopping(settings.early_stopping_rounds, verbose=False)])


def fold_priors(label_counts: np.ndarray, fold_videos: np.ndarray) -> list[np.ndarray]:
    """Each fold's `class_prior` over the other folds' videos."""
    return [(label_counts.sum(axis=0) - label_counts[fold]) / max(fold_videos.sum() - fold_videos[fold], 1)
            for fold in range(len(fold_videos))]


def train_boosters(sample: TrainingRows, priors: list[np.ndarray], merged_names: list[str],
                   settings: StackerSettings, model_dir: str) -> list[lightgbm.Booster]:
    """One booster per fold on the sample's other folds, early-stopped on its own."""
    boosters = []
    for fold, prior in enumerate(priors):
        train_rows, valid_rows = np.flatnonzero(sample.folds != fold), np.flatnonzero(sample.folds == fold)
        if not train_rows.size or not valid_rows.size:
            raise UserError(f"stacker.max_train_videos = {settings.max_train_videos} leaves fold {fold} "
                            f"{'without' if not valid_rows.size else 'as the only fold with'} sampled videos; "
                            "raise it")

        def rows_of(indices):
            return FoldRows(sample, indices, settings.feature_set, merged_names, prior,
                            settings.chunk_videos * rows.CANDIDATES_PER_MODEL)

        booster = fit_fold(settings, rows_of(train_rows), sample.targets[train_rows],
                           rows_of(valid_rows), sample.targets[valid_rows])
        booster.save_model(os.path.join(model_dir, f"fold_{fold}.txt"))
        log.info("stack fold %d (of %d): %d trees", fold, len(priors), trees_of(booster, settings))
        boosters.append(booster)
    return boosters


def trees_of(booster: lightgbm.Booster, settings: StackerSettings) -> int:
    return int(booster.best_iteration or settings.n_estimators)


def oof_probabilities(chunk: CandidateTable, boosters, priors, feature_set, merged_names) -> np.ndarray:
    """Each row scored by the booster that did not train on its fold."""
    row_fold = chunk.folds[chunk.row_video]
    probabilities = np.zeros(len(chunk.candidates), np.float64)
    for fold, (booster, prior) in enumerate(zip(boosters, priors)):
        fold_rows = row_fold == fold
        if fold_rows.any():
            probabilities[fold_rows] = booster.predict(l2_features.feature_matrix(
                chunk.features[fold_rows], chunk.candidates[fold_rows], feature_set, merged_names, prior))
    return probabilities


def mean_probabilities(chunk: CandidateTable, boosters, priors, feature_set, merged_names) -> np.ndarray:
    """The mean of every fold's booster (summed in fold order)."""
    total = np.zeros(len(chunk.candidates), np.float64)
    for booster, prior in zip(boosters, priors):
        total += booster.predict(l2_features.build_features(chunk, feature_set, merged_names, prior))
    return total / len(boosters)


def scored_oof(chunks, boosters, priors, feature_set, merged_names, fold_gaps: list[metrics.PooledGap]):
    """(chunk, probabilities) of every fold video; adds each to its fold's GAP."""
    for chunk in chunks:
        probabilities = oof_probabilities(chunk, boosters, priors, feature_set, merged_names)
        class_ids, scores = top_k_arrays(chunk, probabilities)
        for fold, gap in enumerate(fold_gaps):
            members = np.flatnonzero(chunk.folds == fold)
            gap.add(class_ids[members], scores[members], [chunk.labels[i] for i in members])
        yield chunk, probabilities


def write_sparse(artifact, split: str, scored: Iterator[tuple[CandidateTable, np.ndarray]]) -> None:
    """Writes each chunk's rows as it is scored."""
    splits.write_split_records(artifact, split, (
        rows.encode_prediction(video_id, probs, class_ids=candidates)
        for table, probabilities in scored
        for video_id, candidates, probs in per_video(table, probabilities)))


def split_sources(merged) -> dict[str, ChunkSource]:
    """The chunk sources of a MergedPredictions artifact's splits."""
    return {split: functools.partial(l2_features.read_chunks, splits.split_files_pattern(merged, split))
            for split in splits.PREDICTION_SPLITS}


def stack(sources: dict[str, ChunkSource], merged_names: list[str], settings: StackerSettings, num_folds: int,
          num_classes: int, predictions_artifact, model_dir: str):
    """Fits one LightGBM per fold; writes OOF and fold-averaged holdout/test probabilities."""
    oof, chunk_videos, feature_set = sources[splits.OOF], settings.chunk_videos, settings.feature_set
    threshold, label_counts, fold_videos = survey(oof(chunk_videos), settings.max_train_videos, settings.seed,
                                                  num_folds, num_classes)
    sample = training_sample(oof(chunk_videos), threshold, settings.seed)
    log.info("stacker: training on %d of %d fold videos (%d rows)", sample.videos, fold_videos.sum(),
             len(sample.candidates))
    priors = fold_priors(label_counts, fold_videos)
    boosters = train_boosters(sample, priors, merged_names, settings, model_dir)
    del sample
    fold_gaps = [metrics.PooledGap() for _ in range(num_folds)]
    write_sparse(predictions_artifact, splits.OOF,
                 scored_oof(oof(chunk_videos), boosters, priors, feature_set, merged_names, fold_gaps))
    for split in (splits.HOLDOUT, splits.TEST):
        write_sparse(predictions_artifact, split, (
            (chunk, mean_probabilities(chunk, boosters, priors, feature_set, merged_names))
            for chunk in sources[split](chunk_videos)))
    fold_summaries = []
    for fold, (booster, gap) in enumerate(zip(boosters, fold_gaps)):
        fold_summaries.append({"fold": fold, "gap": gap.gap(), "trees": trees_of(booster, settings)})
        log.info("stack fold %d (of %d): GAP %.4f with %d trees", fold, num_folds, fold_summaries[-1]["gap"],
                 fold_summaries[-1]["trees"])
    return {"folds": fold_summaries, "feature_names": l2_features.feature_names(feature_set, merged_names)}


def stack_merged(merged, predictions, model, settings: StackerSettings, num_folds: int, num_classes: int) -> None:
    """LGBMStacker's work: the boosters into `model`, the stack's predictions into `predictions`."""
    merged_names = json.loads(merged.get_string_custom_property(artifact_properties.FEATURE_NAMES))
    summary = stack(split_sources(merged), merged_names, settings, num_folds, num_classes, predictions, model.uri)
    artifact_properties.set_split_names(predictions, list(splits.PREDICTION_SPLITS))
    predictions.set_string_custom_property(artifact_properties.MODEL_NAME, "stack")
    predictions.set_string_custom_property(artifact_properties.KIND, "stack")
    predictions.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, json.dumps(summary))
    model.set_string_custom_property(artifact_properties.FEATURE_NAMES, json.dumps(summary["feature_names"]))
