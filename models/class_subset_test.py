"""Class subsets: a model trained on the K most frequent classes still predicts in the
original class ids, and is judged on every true label."""
import numpy as np
import pytest

from models import data, layers, registry
from common.errors import UserError


def test_subset_model_predicts_over_the_whole_vocabulary():
    model = registry.build_subset_model("mlp", [2, 5, 7], 10, hidden_size=8)
    assert model.layers[-2].output_shape[-1] == 3  # the trained output layer is K wide
    logits = model(np.random.default_rng(0).normal(size=(4, 1152)).astype(np.float32)).numpy()
    assert logits.shape == (4, 10)
    outside = [c for c in range(10) if c not in (2, 5, 7)]
    assert np.all(logits[:, outside] == layers.ABSENT_LOGIT)
    assert np.all(logits[:, [2, 5, 7]] != layers.ABSENT_LOGIT)


def test_subset_outside_the_vocabulary_is_refused():
    with pytest.raises(UserError, match="0..9"):
        registry.build_subset_model("mlp", [0, 12], 10)


def test_trainer_learns_the_top_classes_and_predicts_in_original_ids(tmp_path):
    from components.l1_trainer import trainer
    from models import training
    from models.data_test import video_record, write_split
    from models.model_config import L1ModelConfig
    rng = np.random.default_rng(0)
    patterns, labels = [], []
    for fold in range(3):
        fold_labels = [rng.choice(10, size=2, replace=False, p=np.linspace(10, 1, 10) / 55) for _ in range(60)]
        features = rng.normal(size=(60, 1152)).astype(np.float32)
        patterns.append(write_split(tmp_path, f"fold_{fold}", [
            video_record(f"f{fold}v{i}", fold_labels[i], features[i]) for i in range(60)]))
        labels.append(fold_labels)
    config = L1ModelConfig.from_dict({"name": "mlp_top3", "family": "mlp", "kwargs": {"hidden_size": 8},
                                      "top_classes": 3, "training": {"batch_size": 32, "max_epochs": 1}})
    files = trainer.SplitFiles(patterns, "", "", None, False)
    model, summary = trainer.train_one_fold(config, files, 0, 10, log_dir=None)
    counts = np.bincount(np.concatenate(labels[1] + labels[2]), minlength=10)
    subset = data.most_frequent_classes(counts, 3)
    probabilities = np.concatenate([scores for _, scores in training.predict_batches(
        model, data.read_batches([patterns[0]]))])
    assert probabilities.shape == (60, 10)
    outside = [c for c in range(10) if c not in subset]
    assert probabilities[:, outside].max() < 1e-9 and probabilities[:, subset].min() > 1e-6
    assert 0.0 < summary["best_val_gap"] < 1.0  # judged against every true label
