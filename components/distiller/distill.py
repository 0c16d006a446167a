"""Training and exporting the student (docs/method.md, Stage K).

The student learns `w·soft + (1 − w)·hard` targets of every labelled, non-held-out video
for a fixed number of epochs: its soft targets come from teachers trained on every fold,
so no fold is an honest validation set for it. It is judged on the held-out split only.
The student is one network or several (models/model_config.py, `StudentConfig`) trained independently on the same
targets and averaged in the exported graph.

Three kinds of task: StudentTransform analyses the input preprocessing, a
tensorflow-transform graph, over the training videos (models/preprocessing.py); one
StudentTrainer per network trains it on that graph's output (on a cluster, all at the
same time); the Distiller averages the trained networks behind the same graph in the
one exported SavedModel, so training batches and the serving signature run the same
preprocessing. The serving SavedModel may store its weights as float16 to fit a larger
student into the size budget; then a float32 export is scored beside it on the
held-out split, so that the price of the smaller weights is on record.
"""
import logging
import os
import tempfile

import numpy as np
import tensorflow as tf
import tf_keras

from components import splits
from common.errors import UserError
from models import data, metrics, preprocessing, registry, serving, training
from models.model_config import StudentConfig

log = logging.getLogger("y8m.distiller")

SERVING_DIR = "Format-Serving"
WEIGHTS_PREFIX = "weights"  # a network's checkpoint in its StudentNetwork artifact
PREDICT_BATCH = 1024
GAP_TOP_K = 20
BYTES_PER_WEIGHT = {"float32": 4, "float16": 2}


def analyze_training_features(pipeline, soft_labels, num_folds: int, transform_dir: str,
                              standardize: bool, temp_dir: str) -> None:
    """Adds the full-pass feature analysis over the student's training videos to `pipeline`."""
    preprocessing.analyze(pipeline, splits.fold_files_patterns(soft_labels, num_folds), transform_dir,
                          standardize, temp_dir)


def build_network(config: StudentConfig, index: int, num_classes: int):
    """The student's network `index` (of `config.networks()`), initialised from its own seed."""
    network = config.networks()[index]
    tf_keras.utils.set_random_seed(network.recipe.seed)
    return registry.build_model(network.family, num_classes, **network.kwargs)


def build_networks(config: StudentConfig, num_classes: int) -> list:
    """Every network of the student, each initialised from its own seed."""
    return [build_network(config, index, num_classes) for index in range(len(config.networks()))]


def check_weights_fit(model, weights_dtype: str, max_model_bytes: int) -> None:
    """Fails before training when the weights alone exceed the size budget (the exported
    SavedModel is larger still; its measured size is checked after the export)."""
    weight_bytes = model.count_params() * BYTES_PER_WEIGHT[weights_dtype]
    if weight_bytes > max_model_bytes:
        raise UserError(f"the student's {model.count_params():,} parameters take {weight_bytes:,} bytes "
                        f"as {weights_dtype}, over the budget of {max_model_bytes:,} bytes")


def train_network(soft_labels, config: StudentConfig, index: int, num_folds: int, num_classes: int,
                  transform_dir: str, log_dir: str | None):
    """Trains the student's network `index` with its own recipe and seed on the transformed
    features of the training videos; returns (network, summary without the epoch history)."""
    network = build_network(config, index, num_classes)
    member = config.networks()[index]
    recipe = member.recipe
    videos = data.load_videos(splits.fold_files_patterns(soft_labels, num_folds), with_soft_labels=True)
    target_ids, target_weights = data.padded(*data.mixed_targets(videos, config.soft_label_weight))
    transform = preprocessing.transform_layer(preprocessing.load(transform_dir))
    tf_keras.utils.set_random_seed(recipe.seed)  # its shuffling depends on its own seed only
    dataset = data.target_dataset(videos.features, target_ids, target_weights, num_classes,
                                  recipe.batch_size, seed=recipe.seed)
    count = len(config.networks())
    name = f"student network {index + 1}/{count} ({member.family})" if count > 1 else "student"
    log.info("%s: %d videos, %d parameters", name, len(videos.ids), network.count_params())
    summary = training.fit(network, transformed(dataset, transform), None, None, recipe,
                           log_dir=log_dir, progress_prefix=f"{name}: ")
    return network, {"family": member.family, **{key: value for key, value in summary.items() if key != "history"}}


def save_network(network, directory: str) -> None:
    """The trained weights as a TensorFlow checkpoint (`load_network` reads them back)."""
    network.save_weights(os.path.join(directory, WEIGHTS_PREFIX))


def load_network(network, directory: str) -> None:
    """Reads the weights `save_network` wrote into a freshly built network of the same
    configuration; the optimizer state in the checkpoint is not needed for serving."""
    network.load_weights(os.path.join(directory, WEIGHTS_PREFIX)).expect_partial()


def transformed(dataset: tf.data.Dataset, transform_layer) -> tf.data.Dataset:
    """Batches of (raw features, targets) → (transformed features, targets): the serving
    graph's transform, applied per batch so that no second copy of the features is held."""
    def apply(features, targets):
        return transform_layer(preprocessing.split_raw(features))[preprocessing.FEATURES_KEY], targets
    return dataset.map(apply, num_parallel_calls=tf.data.AUTOTUNE)


def predict_split(serving_fn, examples, split: str) -> tuple[list[str], np.ndarray]:
    """Runs the exported signature over a split's serialized Examples: video ids and scores."""
    files = tf.io.gfile.glob(splits.split_files_pattern(examples, split))
    ids, scores = [], []
    if files:
        batches = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(PREDICT_BATCH)
        for batch in batches.as_numpy_iterator():
            outputs = serving.predict_serialized(serving_fn, list(batch))
            ids.extend(video_id.decode() for video_id in outputs["video_id"])
            scores.append(outputs["probabilities"])
    return ids, np.concatenate(scores) if scores else np.zeros((0, 0), np.float32)


def holdout_gap(ids: list[str], scores: np.ndarray, labels_by_id: dict) -> float | None:
    """GAP@20 of held-out scores on hard labels; None without labelled held-out videos."""
    if not ids or not any(len(labels_by_id[video_id]) for video_id in ids):
        return None
    return float(metrics.gap(*metrics.top_k(scores, GAP_TOP_K), [labels_by_id[video_id] for video_id in ids]))


def score_export(export_dir: str, examples, labels_by_id: dict) -> dict:
    """Size and held-out GAP of one exported SavedModel (predicted from serialized Examples)."""
    ids, scores = predict_split(serving.load(export_dir), examples, splits.HOLDOUT)
    return {"saved_model_bytes": serving.saved_model_bytes(export_dir),
            "holdout_gap": holdout_gap(ids, scores, labels_by_id)}


def export_and_predict(model, model_artifact, examples, predictions_artifact, transform_dir: str,
                       weights_dtype: str = "float32") -> dict:
    """Exports the serving model and writes its held-out and test predictions. Returns the
    exported size, video counts and `precisions`: size and held-out GAP per weights dtype
    (the exported one, and float32 beside a narrower export)."""
    export_dir = os.path.join(model_artifact.uri, SERVING_DIR)
    serving.export(model, export_dir, transform_dir, weights_dtype)
    serving_fn = serving.load(export_dir)
    labels_by_id = splits.labels_by_id(examples, [splits.HOLDOUT])
    counts, holdout = {}, None
    for split in splits.STUDENT_PREDICTION_SPLITS:
        ids, scores = predict_split(serving_fn, examples, split)
        splits.write_dense_predictions(predictions_artifact, split, ids, scores)
        counts[split] = len(ids)
        if split == splits.HOLDOUT:
            holdout = holdout_gap(ids, scores, labels_by_id)
    size = serving.saved_model_bytes(export_dir)
    precisions = {weights_dtype: {"saved_model_bytes": size, "holdout_gap": holdout}}
    if weights_dtype != "float32":
        with tempfile.TemporaryDirectory(prefix="float32-reference-") as reference_dir:
            serving.export(model, reference_dir, transform_dir, "float32")
            precisions["float32"] = score_export(reference_dir, examples, labels_by_id)
    for dtype, scored in precisions.items():
        log.info("student export with %s weights: %s bytes, held-out GAP %s", dtype,
                 f"{scored['saved_model_bytes']:,}", scored["holdout_gap"])
    return {"saved_model_bytes": size, "videos": counts, "precisions": precisions}

