"""The L1 training recipe (docs/method.md §2 Stage D, §3.4, §3.5).

Adam with gradient-norm clipping, binary cross-entropy on logits, held-out GAP@20
after every epoch driving the learning-rate plateau schedule, early stopping and the
choice of the weights that are kept (the best epoch's). Optional per-sample mixup.

An epoch is one pass over `train_dataset`; the caller batches and shuffles it
(`TrainingRecipe.batch_size`, `shuffle_buffer`, `seed`) and bounds its length.
"""
import logging
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras
from scipy.special import expit

from models import data
from models.metrics import PooledGap, top_k
from models.training_recipe import TrainingRecipe
from common.errors import UserError

logger = logging.getLogger("y8m.training")

GAP_TOP_K = 20


def mixup(dataset: tf.data.Dataset, alpha: float, seed: int) -> tf.data.Dataset:
    """Mixes every sample of each batched (features, targets) with a partner in its batch.

    Per sample λ ~ Beta(α, α) (from two Gamma(α) draws); inputs become λ·a + (1 − λ)·b
    and targets likewise. The original mixes each batch with the previous one; a random
    permutation of the same batch is equivalent in expectation and needs no state.
    """
    if not alpha > 0:
        raise UserError(f"mixup alpha must be positive, got {alpha!r}")
    # A generator's state advances per batch, so every epoch draws fresh λ and partners.
    generator = tf.random.Generator.from_seed(seed)

    def mix(features, targets):
        batch_size = tf.shape(features)[0]
        seeds = generator.make_seeds(3)
        x = tf.random.stateless_gamma([batch_size, 1], seeds[:, 0], alpha=alpha)
        y = tf.random.stateless_gamma([batch_size, 1], seeds[:, 1], alpha=alpha)
        weight = x / (x + y)
        partner = tf.argsort(tf.random.stateless_uniform([batch_size], seeds[:, 2]))
        mixed_features = weight * features + (1.0 - weight) * tf.gather(features, partner)
        mixed_targets = weight * targets + (1.0 - weight) * tf.gather(targets, partner)
        return mixed_features, mixed_targets

    return dataset.map(mix)


def fit(model: keras.Model, train_dataset: tf.data.Dataset, validation: tf.data.Dataset | None,
        recipe: TrainingRecipe, log_dir: str | None = None, progress_prefix: str = "") -> dict:
    """Trains `model` (logits out) and leaves it holding its best-validation-GAP weights.

    `train_dataset` yields batched (features [b, 1152] float32, targets [b, C] float32,
    multi-hot or soft); `validation` the validation videos as parsed batches
    (`models.data.read_batches`), streamed through the model after every epoch. Without
    validation data (None, e.g. a student whose every fold is leaky) it trains
    `max_epochs` epochs, keeps the last weights and reports best_val_gap None. Returns best_val_gap, best_epoch (1-based), epochs_run and the
    per-epoch history (loss; seconds, the whole epoch; train_seconds, its training steps
    with their input pipeline, before validation; and with validation val_gap and lr).
    """
    keras.utils.set_random_seed(recipe.seed)
    if recipe.mixup_alpha > 0:
        train_dataset = mixup(train_dataset, recipe.mixup_alpha, recipe.seed)
    model.compile(optimizer=adam(recipe), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    callbacks = _callbacks(recipe, validation, log_dir, progress_prefix)
    train_dataset, steps_per_epoch = _epochs_of_one_iterator(train_dataset)
    history = model.fit(train_dataset, epochs=recipe.max_epochs, steps_per_epoch=steps_per_epoch,
                        callbacks=callbacks, verbose=0).history
    history = {name: [float(value) for value in values] for name, values in history.items()}
    epochs_run = len(history["loss"])
    if validation is None:
        return {"best_val_gap": None, "best_epoch": epochs_run, "epochs_run": epochs_run,
                "history": history}
    val_gaps = history["val_gap"]
    best = int(np.argmax(val_gaps))  # the first maximum: the epoch EarlyStopping restored
    return {"best_val_gap": val_gaps[best], "best_epoch": best + 1, "epochs_run": epochs_run,
            "history": history}


def adam(recipe: TrainingRecipe):
    """Adam with the recipe's rate and global-norm clipping, as one fused kernel per weight.

    The same update as `keras.optimizers.Adam` (m, v, bias-corrected step, epsilon 1e-7);
    that one runs it as about ten separate ops per weight, which took 37% of an mlp
    training step (docs/results.md, "a training step against the matmul limit")."""
    return keras.optimizers.legacy.Adam(learning_rate=recipe.learning_rate,
                                        gradient_transformers=[_clipped_to_global_norm(recipe.clipnorm)])


def _clipped_to_global_norm(clipnorm: float):
    """`tf.clip_by_global_norm` as a gradient transformer that leaves the gradients alone
    while their norm is within `clipnorm` (the usual case): the library's version scales
    every gradient by `clipnorm · min(1/norm, 1/clipnorm)` in every step, a pass over all
    weights that took 4% of an mlp training step."""
    def clip(grads_and_vars):
        gradients, variables = zip(*grads_and_vars)
        norm = tf.linalg.global_norm(gradients)
        gradients = tf.cond(norm > clipnorm, lambda: [g * (clipnorm / norm) for g in gradients],
                            lambda: list(gradients))
        return list(zip(gradients, variables))
    return clip


def _epochs_of_one_iterator(dataset: tf.data.Dataset) -> tuple:
    """(dataset, steps_per_epoch) for `fit`: a finite dataset repeated, so that Keras keeps
    one iterator instead of building a new one each epoch (tearing the old one down
    stalled some epochs by 1.5–2.5 s). Each repetition is still one pass over the
    data, reshuffled by the dataset's own shuffle."""
    steps = int(dataset.cardinality())
    if steps < 1:  # unknown or infinite: epochs end where the dataset does
        return dataset, None
    return dataset.repeat(), steps


def _callbacks(recipe: TrainingRecipe, validation: tf.data.Dataset | None, log_dir: str | None,
               progress_prefix: str) -> list:
    progress = _EpochProgress(progress_prefix, recipe.max_epochs)
    # First: its epoch ends where the training steps do, before any other callback's work.
    step_seconds = _TrainingStepSeconds()
    if validation is None:
        callbacks = [step_seconds, progress]
    else:
        # Order matters: the later callbacks read the `val_gap` the first one logs.
        callbacks = [
            step_seconds,
            _ValidationGap(validation),
            progress,
            keras.callbacks.ReduceLROnPlateau(monitor="val_gap", mode="max",
                                              factor=recipe.lr_plateau_factor,
                                              patience=recipe.lr_plateau_patience),
            keras.callbacks.EarlyStopping(monitor="val_gap", mode="max",
                                          patience=recipe.early_stopping_patience,
                                          restore_best_weights=True),
        ]
    if log_dir:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=log_dir))
    return callbacks


def probabilities(model: keras.Model, features) -> np.ndarray:
    """Sigmoid scores [b, C] float32 of a logits model on one batch of features."""
    return expit(model.predict_on_batch(features)).astype(np.float32)


def predict_batches(model: keras.Model, batches: tf.data.Dataset):
    """(video ids, scores [b, C] float32) per parsed batch (`models.data.read_batches`)."""
    for batch in batches:
        yield data.ids_of(batch), probabilities(model, batch[data.FEATURES])


def validation_gap(model: keras.Model, batches: tf.data.Dataset) -> float:
    """GAP@20 of the model's scores against the true class ids of each video, streamed:
    what is held per video is its top 20 scores and hits (`PooledGap`)."""
    pooled = PooledGap()
    for batch in batches:
        scores = probabilities(model, batch[data.FEATURES])
        pooled.add(*top_k(scores, GAP_TOP_K), data.label_rows(batch[data.LABELS]))
    return pooled.gap()


class _TrainingStepSeconds(keras.callbacks.Callback):
    """Puts the seconds of each epoch's training steps (with the input pipeline that feeds
    them), from the epoch's start to its last step, into its logs as `train_seconds`."""

    def __init__(self):
        super().__init__()
        self._started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs["train_seconds"] = time.monotonic() - self._started


class _ValidationGap(keras.callbacks.Callback):
    """Puts the held-out GAP@20 into each epoch's logs as `val_gap`."""

    def __init__(self, batches: tf.data.Dataset):
        super().__init__()
        self._batches = batches

    def on_epoch_end(self, epoch, logs=None):
        logs["val_gap"] = validation_gap(self.model, self._batches)


class _EpochProgress(keras.callbacks.Callback):
    """One log line per epoch: loss, val_gap, the learning rate it ran with, seconds."""

    def __init__(self, prefix: str, max_epochs: int):
        super().__init__()
        self._prefix = prefix.strip() + " " if prefix.strip() else ""
        self._max_epochs = max_epochs
        self._started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        learning_rate = float(keras.backend.get_value(self.model.optimizer.learning_rate))
        logs["seconds"] = time.monotonic() - self._started  # into the history, too
        val_gap = f" val_gap {logs['val_gap']:.5f}" if "val_gap" in logs else ""
        logger.info("%sepoch %d/%d loss %.5f%s lr %.3g %.1fs", self._prefix, epoch + 1,
                    self._max_epochs, logs["loss"], val_gap, learning_rate, logs["seconds"])
