"""Training and exporting the student (docs/method.md, Stage K).

The student learns `w·soft + (1 − w)·hard` targets of every labelled, non-held-out video
for a fixed number of epochs: its soft targets come from teachers trained on every fold,
so no fold is an honest validation set for it. It is judged on the held-out split only.
The student is one network or several (components/student/config.py, `StudentConfig`) trained independently on the same
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
import json
import logging
import os
import tempfile

import tensorflow as tf
import tf_keras

from components import artifact_properties
from components.student.config import StudentConfig
from common.errors import InvalidInputError, UserError
from models import data, layers, metrics, preprocessing, registry, serving, training
from schemas import splits

log = logging.getLogger("y8m.distiller")

SERVING_DIR = "Format-Serving"
WEIGHTS_PREFIX = "weights"  # a network's checkpoint in its StudentNetwork artifact
PREDICT_BATCH = 1024
GAP_TOP_K = 20
BYTES_PER_WEIGHT = {"float32": 4, "float16": 2}


def analyze_training_features(pipeline, soft_labels, num_folds: int, transform_dir: str,
                              standardize: bool, temp_dir: str) -> None:
    """Adds the full-pass feature analysis over the student's training videos to `pipeline`."""
    if artifact_properties.split_names(soft_labels) != splits.fold_split_names(num_folds):
        raise InvalidInputError(f"the soft labels have the splits {artifact_properties.split_names(soft_labels)}; "
                                f"expected the {num_folds} fold splits only")
    preprocessing.analyze(pipeline, splits.all_folds_files_pattern(soft_labels), transform_dir,
                          standardize, temp_dir)


def build_network(config: StudentConfig, index: int, num_classes: int):
    """The student's network `index` (of `config.networks()`), initialised from its own seed."""
    network = config.networks()[index]
    tf_keras.utils.set_random_seed(network.recipe.seed)
    return registry.build_model(network.family, num_classes, precision=network.recipe.precision, **network.kwargs)


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
    features of the training videos; returns (network, summary: the fit's, with the seconds
    of each epoch and of its training steps instead of the whole epoch history)."""
    network = build_network(config, index, num_classes)
    member = config.networks()[index]
    recipe = member.recipe
    patterns = splits.fold_files_patterns(soft_labels, num_folds)
    transform = preprocessing.transform_layer(preprocessing.load(transform_dir))
    tf_keras.utils.set_random_seed(recipe.seed)  # its shuffling depends on its own seed only
    dataset = data.training_batches(patterns, data.Targets(num_classes, config.soft_label_weight), recipe.batch_size,
                                    recipe.shuffle_buffer, seed=recipe.seed)
    count = len(config.networks())
    name = f"student network {index + 1}/{count} ({member.family})" if count > 1 else "student"
    log.info("%s: %d batches of %d videos per epoch, %d parameters", name, int(dataset.cardinality()),
             recipe.batch_size, network.count_params())
    summary = training.fit(network, transformed(dataset, transform), None, recipe,
                           log_dir=log_dir, progress_prefix=f"{name}: ")
    history = summary["history"]
    return network, {"family": member.family, **{key: value for key, value in summary.items() if key != "history"},
                     "epoch_seconds": [round(seconds, 2) for seconds in history["seconds"]],
                     "epoch_train_seconds": [round(seconds, 2) for seconds in history["train_seconds"]]}


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


def predict_split(serving_fn, examples, split: str, predictions_artifact=None) -> tuple[int, float | None]:
    """Runs the exported signature over a split's serialized Examples batch by batch and,
    when `predictions_artifact` is given, writes the scores as they come. Returns the
    number of videos and the GAP@20 on hard labels (None when no video has labels)."""
    files = data.files_of([splits.split_files_pattern(examples, split)])
    pooled, counts = metrics.PooledGap(), {"videos": 0, "labels": 0}

    def scored_batches():
        for batch in tf.data.TFRecordDataset(files, compression_type="GZIP").batch(PREDICT_BATCH):
            outputs = serving.predict_serialized(serving_fn, batch)
            labels = data.label_rows(data.parse_labels(batch))
            pooled.add(*metrics.top_k(outputs["probabilities"], GAP_TOP_K), labels)
            counts["videos"] += len(labels)
            counts["labels"] += sum(len(video_labels) for video_labels in labels)
            yield [video_id.decode() for video_id in outputs["video_id"]], outputs["probabilities"]

    if predictions_artifact is None:
        for _ in scored_batches():
            pass
    else:
        splits.write_dense_predictions(predictions_artifact, split, scored_batches())
    return counts["videos"], pooled.gap() if counts["labels"] else None


def score_export(export_dir: str, examples) -> dict:
    """Size and held-out GAP of one exported SavedModel (predicted from serialized Examples)."""
    _, holdout = predict_split(serving.load(export_dir), examples, splits.HOLDOUT)
    return {"saved_model_bytes": serving.saved_model_bytes(export_dir), "holdout_gap": holdout}


def export_and_predict(model, model_artifact, examples, predictions_artifact, transform_dir: str,
                       weights_dtype: str = "float32") -> dict:
    """Exports the serving model and writes its held-out and test predictions. Returns the
    exported size, video counts and `precisions`: size and held-out GAP per weights dtype
    (the exported one, and float32 beside a narrower export)."""
    export_dir = os.path.join(model_artifact.uri, SERVING_DIR)
    serving.export(model, export_dir, transform_dir, weights_dtype)
    serving_fn = serving.load(export_dir)
    counts, gaps = {}, {}
    for split in splits.STUDENT_PREDICTION_SPLITS:
        counts[split], gaps[split] = predict_split(serving_fn, examples, split, predictions_artifact)
    holdout = gaps[splits.HOLDOUT]
    size = serving.saved_model_bytes(export_dir)
    precisions = {weights_dtype: {"saved_model_bytes": size, "holdout_gap": holdout}}
    if weights_dtype != "float32":
        with tempfile.TemporaryDirectory(prefix="float32-reference-") as reference_dir:
            serving.export(model, reference_dir, transform_dir, "float32")
            precisions["float32"] = score_export(reference_dir, examples)
    for dtype, scored in precisions.items():
        log.info("student export with %s weights: %s bytes, held-out GAP %s", dtype,
                 f"{scored['saved_model_bytes']:,}", scored["holdout_gap"])
    return {"saved_model_bytes": size, "videos": counts, "precisions": precisions}


def analyze_student_inputs(soft_labels, transform_graph, config: StudentConfig, num_folds: int, num_classes: int,
                           max_model_bytes: int, beam_pipeline) -> None:
    """StudentTransform's work: the size check, then the preprocessing graph analysed."""
    check_weights_fit(layers.averaged(build_networks(config, num_classes)), config.weights_dtype, max_model_bytes)
    analysis_tmp = os.path.join(transform_graph.uri, "analysis-tmp")
    with beam_pipeline as pipeline:
        analyze_training_features(pipeline, soft_labels, num_folds, transform_graph.uri, config.standardize,
                                  analysis_tmp)
    if tf.io.gfile.exists(analysis_tmp):
        tf.io.gfile.rmtree(analysis_tmp)


def train_student_network(soft_labels, transform_graph, network, config: StudentConfig, network_index: int,
                          num_folds: int, num_classes: int) -> None:
    """StudentTrainer's work: network `network_index` of the student (`StudentConfig.networks()`,
    copies expanded), trained and saved."""
    count = len(config.networks())
    if not 0 <= network_index < count:
        raise UserError(f"student network {network_index} is outside 0..{count - 1}")
    trained, summary = train_network(soft_labels, config, network_index, num_folds, num_classes,
                                     transform_graph.uri, log_dir=os.path.join(network.uri, "logs"))
    save_network(trained, network.uri)
    network.set_int_custom_property(artifact_properties.NETWORK_INDEX, network_index)
    network.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, json.dumps(summary))
    tf_keras.backend.clear_session()  # the local runner trains every network in one process


def networks_in_order(network_artifacts: list, count: int) -> list:
    """The StudentNetwork artifacts sorted by index; each of 0..count-1 exactly once."""
    indices = [artifact.get_int_custom_property(artifact_properties.NETWORK_INDEX) for artifact in network_artifacts]
    if sorted(indices) != list(range(count)):
        raise InvalidInputError(f"the student has {count} networks; its trained networks' indices are {sorted(indices)}")
    by_index = dict(zip(indices, network_artifacts))
    return [by_index[index] for index in range(count)]


def distill_student(network_artifacts: list, transform_graph, split_examples, model, predictions,
                    config: StudentConfig, num_classes: int, max_model_bytes: int) -> None:
    """The Distiller's work: the trained networks averaged, exported, scored and described."""
    trained = networks_in_order(network_artifacts, len(config.networks()))
    networks = build_networks(config, num_classes)
    for network, artifact in zip(networks, trained):
        load_network(network, artifact.uri)
    student = layers.averaged(networks)  # what is exported; shares the networks' layers
    exported = export_and_predict(student, model, split_examples, predictions, transform_graph.uri,
                                  config.weights_dtype)
    if exported["saved_model_bytes"] > max_model_bytes:
        raise UserError(f"the student's SavedModel ({config.weights_dtype} weights) is "
                        f"{exported['saved_model_bytes']:,} bytes, over the budget of {max_model_bytes:,} bytes")
    artifact_properties.set_split_names(predictions, list(splits.STUDENT_PREDICTION_SPLITS))
    predictions.set_string_custom_property(artifact_properties.MODEL_NAME, "student")
    predictions.set_string_custom_property(artifact_properties.KIND, "student")
    model.set_int_custom_property(artifact_properties.SAVED_MODEL_BYTES, exported["saved_model_bytes"])
    model.set_int_custom_property(artifact_properties.PARAMETERS, int(student.count_params()))
    model.set_string_custom_property(artifact_properties.WEIGHTS_DTYPE, config.weights_dtype)
    model.set_int_custom_property(artifact_properties.STANDARDIZE, int(config.standardize))
    # Size and held-out GAP per weights dtype: the exported one, and float32 beside float16.
    model.set_string_custom_property(artifact_properties.PRECISIONS, json.dumps(exported["precisions"]))
    model.set_int_custom_property(artifact_properties.MEMBERS, len(networks))
    model.set_string_custom_property(artifact_properties.TRAINING_SUMMARY, json.dumps(
        [artifact_properties.training_summary(artifact) for artifact in trained]))
