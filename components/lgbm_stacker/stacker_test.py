"""Features and the K-fold stack on a small random candidate table."""
import types

import numpy as np
import pytest

from components import splits
from components.lgbm_stacker import l2_features, stacker
from components.lgbm_stacker.settings import StackerSettings
from components.prediction_merger.merge import candidates_of
from schemas import predictions as rows
from common.errors import UserError

CLASSES, MODELS, FOLDS = 60, 2, 3


MERGED_NAMES = rows.l2_feature_names(["a", "b"])


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


def test_stack_beats_a_single_score_and_writes_probabilities(tmp_path, monkeypatch):
    written = {}
    monkeypatch.setattr(stacker, "write_sparse", lambda artifact, split, table, p: written.setdefault(split, p))
    tables = {splits.OOF: random_table(300, 1), splits.HOLDOUT: random_table(40, 2), splits.TEST: random_table(40, 3)}
    settings = StackerSettings.from_dict({"n_estimators": 100, "learning_rate": 0.1})
    summary = stacker.stack(tables, MERGED_NAMES, settings, FOLDS, CLASSES,
                            types.SimpleNamespace(uri=str(tmp_path)), str(tmp_path))
    oof = tables[splits.OOF]
    probabilities = written[splits.OOF]
    assert ((probabilities >= 0) & (probabilities <= 1)).all() and len(np.unique(probabilities)) > 10
    everyone = np.ones(len(oof.video_ids), bool)
    single_model_gap = stacker.fold_gap(oof, oof.features[:, 1].astype(np.float64), everyone)
    assert stacker.fold_gap(oof, probabilities, everyone) > single_model_gap
    assert len(summary["folds"]) == FOLDS
    assert sorted(p.name for p in tmp_path.glob("fold_*.txt")) == ["fold_0.txt", "fold_1.txt", "fold_2.txt"]


@pytest.mark.parametrize("raw, message", [
    ({"trees": 5}, r"stacker: unknown keys \['trees'\]"),
    ({"feature_set": "fancy"}, "feature_set must be one of original, extended"),
    ({"n_estimators": 0}, "'n_estimators' must be at least 1"),
    ({"learning_rate": "fast"}, "'learning_rate' must be float"),
    ({"num_leaves": 1}, "'num_leaves' must be at least 2"),
])
def test_bad_settings_are_user_errors(raw, message):
    with pytest.raises(UserError, match=message):
        StackerSettings.from_dict(raw)


def test_settings_survive_their_json():
    settings = StackerSettings.from_dict({"n_estimators": 100, "feature_set": "original"})
    assert StackerSettings.from_json(settings.to_json()) == settings
    assert StackerSettings.from_json("") == StackerSettings()
