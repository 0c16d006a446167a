"""Slow tests on the 40 real YouTube-8M 2018 shards (../shared/data/youtube8m_samples)."""
import csv
import json
import os

import numpy as np
import pytest

from models import metrics
from pipeline.local_runner import default_parallel_components, run_local
from pipeline.profile import load_profile
from y8m import scoring

pytestmark = pytest.mark.slow


def test_class_prior_gap_matches_the_reference_value(real_shards):
    """docs/method.md §4.3: the class-prior predictor on validate0000-0009 scores GAP 0.048341.

    Its scores carry 1e-3 relative noise against ties, so the value depends on the draw:
    0.0473 to 0.0483 over the seeds we tried; 0.048341 was the reference's draw.
    """
    vocabulary = os.path.join(os.path.dirname(os.path.dirname(real_shards[0])), "vocabulary_2018.csv")
    with open(vocabulary) as source:
        counts = np.array([float(row["TrainVideoCount"]) for row in csv.DictReader(source)])
    labels = list(scoring.read_labels(real_shards[:10], 3862).values())
    rng = np.random.default_rng(0)
    prior = counts / counts.sum()
    scores = prior[None, :] * (1 + 1e-3 * rng.random((len(labels), prior.size)))
    assert len(labels) == 2950
    assert metrics.gap(*metrics.top_k(scores, 20), labels) == pytest.approx(0.048341, abs=1.5e-3)


def test_quick_profile_on_32_train_and_8_test_shards(real_shards, tmp_path):
    # As `y8m run` runs it: independent components side by side.
    outputs = run_local(real_shards[:32], real_shards[32:], str(tmp_path / "out"), load_profile("quick"),
                        parallel_components=default_parallel_components())
    with open(outputs.metrics_path) as source:
        report = json.load(source)
    gap = {(s["name"], s["split"]): s["gap"] for s in report["stages"]}
    # Orientation on these shards: the class prior scores 0.05, a tuned MLP about 0.65.
    for name in ("mlp", "resnet_like", "stack"):
        assert 0.5 < gap[(name, "oof")] < 0.75
    assert 0.4 < gap[("student", "holdout")] < 0.75
    # The quick profile's ensemble student came within 0.01 of the stack on test (0.0082).
    assert gap[("student", "test")] > gap[("stack", "test")] - 0.02
    scored = scoring.score_submission(outputs.submission_path, real_shards[32:])
    assert scored["gap"] == pytest.approx(gap[("student", "test")], abs=1e-5)
