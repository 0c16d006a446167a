"""Features and the K-fold stack on a small random candidate table."""
import os
import types

import numpy as np
import pytest
import tensorflow as tf

from components import l2_features
from components.lgbm_stacker import stacker
from components.lgbm_stacker.settings import StackerSettings
from components.prediction_merger.merge import candidates_of
from models import metrics
from schemas import predictions as rows
from common.errors import UserError
from schemas import splits

CLASSES, MODELS, FOLDS = 60, 2, 3


MERGED_NAMES = l2_features.l2_feature_names(["a", "b"])


def random_table(videos: int, seed: int, folds=FOLDS) -> l2_features.CandidateTable:
    """Candidate rows built by the merger's own code from scores that carry signal."""
    rng = np.random.default_rng(seed)
    row_video, candidates, feature_rows, targets, labels = [], [], [], [], []
    for video in range(videos):
        true = rng.choice(CLASSES, 3, replace=False)
        labels.append(np.sort(true))
        is_true = np.isin(np.arange(CLASSES), true[:2])
        scores = np.clip(rng.normal(0.2 + 0.5 * is_true, 0.2, (MODELS, CLASSES)), 0, 1).astype(np.float32)
        row = candidates_of(f"v{video}", video % folds, labels[-1], scores)
        row_video.append(np.full(row.candidates.size, video))
        candidates.append(row.candidates)
        feature_rows.append(row.features)
        targets.append(np.isin(row.candidates, true).astype(np.int8))
    return l2_features.CandidateTable(
        [f"v{seed}_{v}" for v in range(videos)], np.arange(videos) % folds, labels,
        np.concatenate(row_video), np.concatenate(candidates), np.concatenate(feature_rows),
        np.concatenate(targets))


def test_feature_sets():
    table = random_table(5, 0)
    prior = l2_features.class_prior(table.labels, CLASSES)
    original = l2_features.build_features(table, "original", MERGED_NAMES, prior)
    extended = l2_features.build_features(table, "extended", MERGED_NAMES, prior)
    assert l2_features.feature_names("original", MERGED_NAMES) == ["class_id", "score:a", "score:b"]
    assert original.shape == (len(table.candidates), 1 + MODELS)
    assert extended.shape[1] == len(l2_features.feature_names("extended", MERGED_NAMES))
    np.testing.assert_array_equal(original[:, 0], table.candidates)
    np.testing.assert_allclose(extended[:, -1], prior[table.candidates])
    assert prior.sum() == pytest.approx(3.0)  # three labels per video


def candidate_rows(table: l2_features.CandidateTable) -> list[rows.CandidateRow]:
    bounds = np.searchsorted(table.row_video, np.arange(len(table.video_ids) + 1))
    return [rows.CandidateRow(video_id, int(table.folds[i]), table.labels[i],
                              table.candidates[bounds[i]:bounds[i + 1]], table.features[bounds[i]:bounds[i + 1]])
            for i, video_id in enumerate(table.video_ids)]


def write_merged(directory, tables: dict) -> types.SimpleNamespace:
    """The tables as PredictionMerger writes them (gzipped TFRecords of candidate rows)."""
    merged = types.SimpleNamespace(uri=str(directory))
    for split, table in tables.items():
        splits.write_split_records(merged, split, (rows.encode_candidates(row) for row in candidate_rows(table)))
    return merged


def read_predictions(artifact, split: str) -> list[rows.PredictionRow]:
    return [rows.decode_prediction(record) for record in tf.data.TFRecordDataset(
        tf.io.gfile.glob(splits.split_files_pattern(artifact, split)), compression_type="GZIP").as_numpy_iterator()]


def run_stack(directory, sources, **settings):
    os.makedirs(directory)
    settings = StackerSettings.from_dict({"n_estimators": 100, "learning_rate": 0.1, **settings})
    predictions = types.SimpleNamespace(uri=str(directory))
    summary = stacker.stack(sources, MERGED_NAMES, settings, FOLDS, CLASSES, predictions, str(directory))
    return summary, {split: read_predictions(predictions, split) for split in splits.PREDICTION_SPLITS}


def test_stack_beats_a_single_score_and_writes_probabilities(tmp_path):
    tables = {splits.OOF: random_table(300, 1), splits.HOLDOUT: random_table(40, 2), splits.TEST: random_table(40, 3)}
    summary, written = run_stack(tmp_path / "stack", {split: lambda chunk_videos, table=table: [table]
                                                      for split, table in tables.items()})
    oof = tables[splits.OOF]
    assert [row.video_id for row in written[splits.OOF]] == oof.video_ids
    assert all(np.array_equal(row.class_ids, candidates)
               for row, (_, candidates, _) in zip(written[splits.OOF], stacker.per_video(oof, oof.features[:, 0])))
    probabilities = np.concatenate([row.scores for row in written[splits.OOF]]).astype(np.float64)
    assert ((probabilities >= 0) & (probabilities <= 1)).all() and len(np.unique(probabilities)) > 10
    single_model_gap = metrics.gap(*stacker.top_k_arrays(oof, oof.features[:, 1].astype(np.float64)), oof.labels)
    assert metrics.gap(*stacker.top_k_arrays(oof, probabilities), oof.labels) > single_model_gap
    assert len(summary["folds"]) == FOLDS
    assert sorted(p.name for p in (tmp_path / "stack").glob("fold_*.txt")) == ["fold_0.txt", "fold_1.txt", "fold_2.txt"]


def test_chunked_stack_equals_the_whole_table_in_one_chunk(tmp_path):
    merged = write_merged(tmp_path / "merged", {splits.OOF: random_table(150, 4), splits.HOLDOUT: random_table(20, 5),
                                               splits.TEST: random_table(20, 6)})
    whole_summary, whole = run_stack(tmp_path / "whole", stacker.split_sources(merged), chunk_videos=1000)
    chunked_summary, chunked = run_stack(tmp_path / "chunked", stacker.split_sources(merged), chunk_videos=7)
    assert chunked_summary == whole_summary
    for split in splits.PREDICTION_SPLITS:
        assert len(chunked[split]) == len(whole[split]) > 0
        for a, b in zip(chunked[split], whole[split]):
            assert a.video_id == b.video_id
            np.testing.assert_array_equal(a.class_ids, b.class_ids)
            np.testing.assert_array_equal(a.scores, b.scores)
    for fold in range(FOLDS):
        assert ((tmp_path / "chunked" / f"fold_{fold}.txt").read_text()
                == (tmp_path / "whole" / f"fold_{fold}.txt").read_text())


def sampled_ids(table, max_videos: int, chunk_videos: int, seed=0) -> set[str]:
    chunks = [l2_features.table_of(candidate_rows(table)[start:start + chunk_videos])
              for start in range(0, len(table.video_ids), chunk_videos)]
    threshold, _, _ = stacker.survey(chunks, max_videos, seed, FOLDS, CLASSES)
    sample = stacker.training_sample(chunks, threshold, seed)
    ids = {video for video, key in zip(table.video_ids, stacker.sample_keys(table.video_ids, seed)) if key <= threshold}
    taken = np.isin(np.array(table.video_ids)[table.row_video], list(ids))
    assert sample.videos == len(ids)
    np.testing.assert_array_equal(sample.candidates, table.candidates[taken])
    np.testing.assert_array_equal(sample.folds, table.folds[table.row_video][taken])
    return ids


def shuffled(table: l2_features.CandidateTable, seed: int) -> l2_features.CandidateTable:
    order = np.random.default_rng(seed).permutation(len(table.video_ids))
    return l2_features.table_of([candidate_rows(table)[i] for i in order])


def test_training_videos_are_a_sample_by_id_of_the_given_size():
    table = random_table(200, 7)
    sample = sampled_ids(table, 50, chunk_videos=200)
    assert len(sample) == 50
    assert sampled_ids(shuffled(table, 0), 50, chunk_videos=9) == sample
    assert sampled_ids(shuffled(table, 1), 50, chunk_videos=1) == sample
    assert sampled_ids(table, 50, chunk_videos=200, seed=1) != sample
    assert len(sampled_ids(table, 1000, chunk_videos=30)) == 200
    # Drawn independently of the folds (fold_of hashes the same ids).
    folds = [int(table.folds[table.video_ids.index(video)]) for video in sample]
    assert np.bincount(folds, minlength=FOLDS).min() >= 8


def test_stack_on_a_sample_scores_every_video(tmp_path):
    tables = {splits.OOF: random_table(300, 1), splits.HOLDOUT: random_table(40, 2), splits.TEST: random_table(40, 3)}
    sources = {split: lambda chunk_videos, table=table: [table] for split, table in tables.items()}
    summary, written = run_stack(tmp_path / "sample", sources, max_train_videos=90)
    assert [row.video_id for row in written[splits.OOF]] == tables[splits.OOF].video_ids
    assert all(fold["gap"] > 0.5 for fold in summary["folds"])
    with pytest.raises(UserError, match="max_train_videos = 1 leaves fold"):
        run_stack(tmp_path / "tiny", sources, max_train_videos=1)


@pytest.mark.parametrize("raw, message", [
    ({"trees": 5}, r"stacker: unknown keys \['trees'\]"),
    ({"feature_set": "fancy"}, "feature_set must be one of original, extended"),
    ({"n_estimators": 0}, "'n_estimators' must be at least 1"),
    ({"learning_rate": "fast"}, "'learning_rate' must be float"),
    ({"num_leaves": 1}, "'num_leaves' must be at least 2"),
    ({"max_train_videos": 0}, "'max_train_videos' must be at least 1"),
    ({"chunk_videos": 0}, "'chunk_videos' must be at least 1"),
])
def test_bad_settings_are_user_errors(raw, message):
    with pytest.raises(UserError, match=message):
        StackerSettings.from_dict(raw)


def test_settings_survive_their_json():
    settings = StackerSettings.from_dict({"n_estimators": 100, "feature_set": "original"})
    assert StackerSettings.from_json(settings.to_json()) == settings
    assert StackerSettings.from_json("") == StackerSettings()
