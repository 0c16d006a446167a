import logging

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from models import data, registry, training
from models.metrics import gap, top_k
from schemas.video_level import FEATURE_SIZE
from common.errors import UserError


def learnable_problem(num_videos=2000, num_classes=20, latent_size=16, seed=0):
    """Features and labels that both derive from a low-dimensional latent: learnable fast."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(num_videos, latent_size))
    features = latent @ rng.normal(size=(latent_size, FEATURE_SIZE))
    features += 0.5 * rng.normal(size=features.shape)
    class_scores = latent @ rng.normal(size=(latent_size, num_classes))
    targets = class_scores > np.quantile(class_scores, 0.85, axis=0)  # about 3 labels a video
    return features.astype(np.float32), targets.astype(np.float32)


def parsed_batches(features, labels, batch_size=128):
    """In-memory videos as the batches `models.data.read_batches` yields."""
    return tf.data.Dataset.from_tensor_slices({
        data.IDS: [f"v{i}" for i in range(len(labels))], data.FEATURES: features,
        data.LABELS: tf.ragged.constant([row.tolist() for row in labels], dtype=tf.int64)}).batch(batch_size)


def test_fit_learns_stops_early_and_keeps_the_best_weights(caplog):
    features, targets = learnable_problem()
    labels = [np.flatnonzero(row) for row in targets]
    train, validation = slice(0, 1600), slice(1600, 2000)
    prior_scores = np.tile(targets[train].mean(axis=0), (400, 1))
    prior_gap = gap(*top_k(prior_scores), labels[validation])

    recipe = training.TrainingRecipe.from_dict({
        "batch_size": 64, "max_epochs": 30, "learning_rate": 1e-2,
        "early_stopping_patience": 2, "mixup_alpha": 0.3})
    train_dataset = (tf.data.Dataset.from_tensor_slices((features[train], targets[train]))
                     .shuffle(1600, seed=recipe.seed).batch(recipe.batch_size))
    keras.utils.set_random_seed(recipe.seed)
    model = registry.build_model("mlp", 20, hidden_size=64, dropout=0.0)
    with caplog.at_level(logging.INFO, logger="y8m.training"):
        result = training.fit(model, train_dataset, parsed_batches(features[validation], labels[validation]),
                              recipe, progress_prefix="[mlp fold 0] ")

    assert result["best_val_gap"] > prior_gap + 0.3
    assert 1 <= result["best_epoch"] < result["epochs_run"] < recipe.max_epochs
    assert len(result["history"]["val_gap"]) == result["epochs_run"]
    assert min(result["history"]["lr"]) < recipe.learning_rate  # the plateau schedule acted
    # The training steps are part of each epoch; its validation is not among them.
    assert all(0 < steps < whole for steps, whole in zip(result["history"]["train_seconds"],
                                                         result["history"]["seconds"], strict=True))
    progress = [record.getMessage() for record in caplog.records if record.name == "y8m.training"]
    assert len(progress) == result["epochs_run"]
    assert progress[0].startswith("[mlp fold 0] epoch 1/30 loss ")

    scores = training.probabilities(model, features[validation])
    assert scores.dtype == np.float32 and scores.min() >= 0 and scores.max() <= 1
    restored_gap = gap(*top_k(scores), labels[validation])
    assert restored_gap == pytest.approx(result["best_val_gap"], abs=1e-6)


def test_fit_without_validation_runs_every_epoch(caplog):
    features, targets = learnable_problem(num_videos=256)
    dataset = tf.data.Dataset.from_tensor_slices((features, targets)).batch(64)
    recipe = training.TrainingRecipe(max_epochs=2)
    model = registry.build_model("gated_mlp", 20, hidden_size=8)
    with caplog.at_level(logging.INFO, logger="y8m.training"):
        result = training.fit(model, dataset, None, recipe, progress_prefix="student")

    assert result["best_val_gap"] is None
    assert result["best_epoch"] == result["epochs_run"] == 2
    assert all(0 < steps <= whole for steps, whole in zip(result["history"]["train_seconds"],
                                                          result["history"]["seconds"], strict=True))
    progress = [record.getMessage() for record in caplog.records if record.name == "y8m.training"]
    assert progress[1].startswith("student epoch 2/2 loss ") and "val_gap" not in progress[1]


def test_mixup_mixes_each_sample_with_one_partner_of_its_batch():
    # One-hot features and targets: a mixed row shows its weights and partner directly.
    one_hot = np.eye(8, dtype=np.float32)
    features = np.pad(one_hot, [(0, 0), (0, 4)])
    dataset = training.mixup(tf.data.Dataset.from_tensors((features, one_hot)), alpha=0.4, seed=0)

    mixed_features, mixed_targets = next(iter(dataset))
    mixed_features, mixed_targets = mixed_features.numpy(), mixed_targets.numpy()
    assert mixed_features.shape == features.shape and mixed_targets.shape == one_hot.shape
    np.testing.assert_allclose(mixed_features[:, :8], mixed_targets)  # same λ and partner
    assert (mixed_targets >= 0).all() and (mixed_targets <= 1).all()
    np.testing.assert_allclose(mixed_targets.sum(axis=1), 1.0, rtol=1e-5)
    assert ((mixed_targets > 0).sum(axis=1) <= 2).all()
    assert not np.allclose(mixed_targets, one_hot)
    next_epoch_targets = next(iter(dataset))[1].numpy()
    assert not np.allclose(next_epoch_targets, mixed_targets)


def test_recipe_from_dict_rejects_unknown_keys_and_non_numbers():
    assert training.TrainingRecipe.from_dict({}) == training.TrainingRecipe()
    with pytest.raises(UserError, match="unknown keys.*learnig_rate"):
        training.TrainingRecipe.from_dict({"learnig_rate": 0.1})
    with pytest.raises(UserError, match="'batch_size' must be int"):
        training.TrainingRecipe.from_dict({"batch_size": 51.2})


@pytest.mark.parametrize("values, message", [
    ({"max_epochs": -3}, "'max_epochs' must be at least 1, got -3"),
    ({"batch_size": 0}, "'batch_size' must be at least 1"),
    ({"learning_rate": 0}, "'learning_rate' must be positive"),
    ({"early_stopping_patience": -1}, "'early_stopping_patience' must not be negative"),
    ({"lr_plateau_factor": 1.5}, "'lr_plateau_factor' must lie in"),
])
def test_recipe_from_dict_rejects_values_out_of_range(values, message):
    with pytest.raises(UserError, match=message):
        training.TrainingRecipe.from_dict(values, "l1_models[0]: training")


def test_adam_takes_the_reference_steps_with_global_norm_clipping():
    recipe = training.TrainingRecipe(learning_rate=0.1, clipnorm=1.0)
    weights = tf.Variable([1.0, -2.0, 0.5])
    gradients = [np.array([3.0, 4.0, 0.0]), np.array([0.1, -0.2, 0.05])]  # the first is clipped
    optimizer = training.adam(recipe)
    m, v, expected = np.zeros(3), np.zeros(3), weights.numpy().astype(np.float64)
    for step, gradient in enumerate(gradients, start=1):
        optimizer.apply_gradients([(tf.constant(gradient, tf.float32), weights)])
        clipped = gradient * min(1.0, recipe.clipnorm / np.linalg.norm(gradient))
        m = 0.9 * m + 0.1 * clipped
        v = 0.999 * v + 0.001 * clipped ** 2
        rate = recipe.learning_rate * np.sqrt(1 - 0.999 ** step) / (1 - 0.9 ** step)
        expected -= rate * m / (np.sqrt(v) + 1e-7)
        np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-5)


def test_fit_runs_each_epoch_over_every_batch_once(monkeypatch):
    features, targets = learnable_problem(num_videos=300)
    dataset = (tf.data.Dataset.from_tensor_slices((features, targets))
               .shuffle(300, seed=0, reshuffle_each_iteration=True).batch(64))  # 5 batches, the last of 44
    batches_per_epoch = []

    class CountBatches(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            batches_per_epoch.append(0)

        def on_train_batch_end(self, batch, logs=None):
            batches_per_epoch[-1] += 1

    model = registry.build_model("mlp", 20, hidden_size=8)
    recipe = training.TrainingRecipe(max_epochs=3)
    with_counter = training._callbacks
    monkeypatch.setattr(training, "_callbacks", lambda *args: with_counter(*args) + [CountBatches()])
    result = training.fit(model, dataset, None, recipe)
    assert batches_per_epoch == [5, 5, 5] and result["epochs_run"] == 3
