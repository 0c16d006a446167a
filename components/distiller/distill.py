"""Training and exporting the student (method.md, Stage K).

The student learns `w·soft + (1 − w)·hard` targets of every labelled, non-held-out video
for a fixed number of epochs: its soft targets come from teachers trained on every fold,
so no fold is an honest validation set for it. It is judged on the held-out split only.
"""
import logging
import os

import numpy as np
import tensorflow as tf
import tf_keras

from components import splits
from components.fold_splitter.folds import fold_split_name
from models import data, serving, training, zoo

log = logging.getLogger("y8m.distiller")

SERVING_DIR = "Format-Serving"
PREDICT_BATCH = 1024


def train_student(soft_labels, config: dict, num_folds: int, num_classes: int, log_dir: str):
    patterns = [splits.split_files_pattern(soft_labels, fold_split_name(k)) for k in range(num_folds)]
    videos = data.load_videos(patterns, with_soft_labels=True)
    recipe = training.TrainingRecipe.from_dict(config.get("training", {}))
    class_ids, weights = data.mixed_targets(videos, config.get("soft_label_weight", 1.0))
    target_ids, target_weights = data.padded(class_ids, weights)
    dataset = data.target_dataset(videos.features, target_ids, target_weights, num_classes,
                                  recipe.batch_size, seed=recipe.seed)
    tf_keras.utils.set_random_seed(recipe.seed)
    model = zoo.build_model(config["family"], num_classes, **config.get("kwargs", {}))
    log.info("student: %d videos, %d parameters", len(videos.ids), model.count_params())
    summary = training.fit(model, dataset, None, None, recipe, log_dir=log_dir, progress_prefix="student: ")
    return model, summary


def predict_split(serving_fn, examples, split: str, predictions_artifact) -> int:
    """Runs the exported signature over a split's serialized Examples; returns the video count."""
    files = tf.io.gfile.glob(splits.split_files_pattern(examples, split))
    ids, scores = [], []
    if files:
        batches = tf.data.TFRecordDataset(files, compression_type="GZIP").batch(PREDICT_BATCH)
        for batch in batches.as_numpy_iterator():
            outputs = serving.predict_serialized(serving_fn, list(batch))
            ids.extend(video_id.decode() for video_id in outputs["video_id"])
            scores.append(outputs["probabilities"])
    splits.write_dense_predictions(predictions_artifact, split, ids,
                      np.concatenate(scores) if scores else np.zeros((0, 0), np.float32))
    return len(ids)


def export_and_predict(model, model_artifact, examples, predictions_artifact) -> dict:
    export_dir = os.path.join(model_artifact.uri, SERVING_DIR)
    serving.export(model, export_dir)
    serving_fn = serving.load(export_dir)
    counts = {split: predict_split(serving_fn, examples, split, predictions_artifact)
              for split in ("holdout", "test")}
    return {"saved_model_bytes": serving.saved_model_bytes(export_dir), "videos": counts}
