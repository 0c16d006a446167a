"""Measurement: do frame-level L1 models learn what video-level averages wash out?

Synthetic data with temporal-signature classes (`y8m generate --frames`: burst classes
and order pairs, see y8m/synthetic.py) goes through the product's own code: the fold
assignment of FoldSplitter (splits.fold_of), the FrameFeatures Beam job, and L1Trainer's
out-of-fold protocol for video-level and frame-level families. It prints, per model,
the out-of-fold average precision of every temporal class and the mean AP of the other
classes, scored against the clean (noise-free) labels, plus GAP@20 against the
record labels.

    uv run --frozen python bench/frame_models_ap.py [--videos 3000] [--classes 50] [--max-frames 40]
"""
import argparse
import json
import os
import tempfile
import time
import types

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import apache_beam as beam  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402

from components.frame_features import transforms  # noqa: E402
from components.l1_trainer import trainer  # noqa: E402
from models import data  # noqa: E402
from models.model_config import L1ModelConfig  # noqa: E402
from models.metrics import gap, top_k  # noqa: E402
from pipeline.beam_options import beam_args  # noqa: E402
from schemas import predictions as prediction_rows  # noqa: E402
from schemas import splits, video_level  # noqa: E402
from y8m import synthetic  # noqa: E402

HOLDOUT_FRACTION = 0.1
TRAINING = {"batch_size": 64, "max_epochs": 12, "learning_rate": 0.003, "early_stopping_patience": 3}


def model_configs(max_frames: int) -> list[L1ModelConfig]:
    def config(name, family, **kwargs):
        return L1ModelConfig.from_dict({"name": name, "family": family, "kwargs": kwargs, "training": TRAINING})
    return [
        config("mlp", "mlp", hidden_size=512, dropout=0.3),
        config("resnet_like", "resnet_like", inner_size=256),
        config("attention_pooling", "attention_pooling", max_frames=max_frames, hidden_size=128, heads=4),
        config("bigru_attention", "bigru_attention", max_frames=max_frames, hidden_size=64),
        config("frame_transformer", "frame_transformer", max_frames=max_frames, model_size=64, heads=4),
        config("soft_bow", "soft_bow", max_frames=max_frames, clusters=128, hidden_size=256),
        config("temporal_combinations", "temporal_combinations", max_frames=max_frames, hidden_size=256),
    ]


def fold_split_examples(data_dir: str, root: str, num_folds: int, classes: int):
    """FoldSplitter's output layout, by its own fold function: labelled videos to folds or
    holdout, test videos to test."""
    artifact = types.SimpleNamespace(uri=os.path.join(root, "split_examples"))
    files = sorted(tf.io.gfile.glob(os.path.join(data_dir, "*.tfrecord")))
    test = [path for path in files if os.path.basename(path).startswith("test")]
    splits.write_fold_splits(artifact, [path for path in files if path not in test], test, num_folds,
                             HOLDOUT_FRACTION, num_classes=classes)
    return artifact


def run_frame_features(data_dir: str, root: str, split_examples, num_folds: int, classes: int, max_frames: int):
    artifact = types.SimpleNamespace(uri=os.path.join(root, "frame_features"))
    names = splits.pipeline_split_names(num_folds)
    video_splits = {name: splits.split_files_pattern(split_examples, name) for name in names}
    prefixes = {name: splits.split_prefix(artifact, name) for name in names}
    frame_files = sorted(tf.io.gfile.glob(os.path.join(data_dir, synthetic.FRAMES_DIR, "*.tfrecord")))
    with beam.Pipeline(argv=beam_args("local")) as pipeline:
        records, _ = pipeline | transforms.AggregateFrames(frame_files, video_splits, classes, max_frames, 0.0)
        _ = records | transforms.WriteSplits(prefixes, splits.FRAME_TFRECORD_SUFFIX)
    return artifact


def read_oof(predictions_artifact) -> dict:
    rows = {}
    for path in tf.io.gfile.glob(splits.split_files_pattern(predictions_artifact, splits.OOF)):
        for _, serialized in video_level.read_records(path):
            row = prediction_rows.decode_prediction(serialized)
            rows[row.video_id] = row.scores
    return rows


def clean_labels(data_dir: str) -> dict:
    with open(os.path.join(data_dir, synthetic.CLEAN_LABELS_FILE)) as source:
        next(source)
        return {video_id: np.array([int(c) for c in labels.split()], np.int64)
                for video_id, labels in (line.strip().split(",") for line in source)}


def scores_by_class(scores: dict, truth: dict, classes: int) -> tuple[np.ndarray, np.ndarray]:
    ids = sorted(scores)
    matrix = np.stack([scores[v] for v in ids])
    targets = np.zeros_like(matrix)
    for row, video_id in enumerate(ids):
        targets[row, truth[video_id]] = 1.0
    return matrix, targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=3000)
    parser.add_argument("--classes", type=int, default=50)
    parser.add_argument("--max-frames", type=int, default=40)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="*", help="names of the configs to run (default: all)")
    parser.add_argument("--output", help="JSON file for the numbers")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="frame_ap_")
    data_dir = os.path.join(root, "data")
    started = time.time()
    summary = synthetic.generate(data_dir, videos=args.videos, classes=args.classes, seed=args.seed,
                                 frames=True, max_frames=args.max_frames)
    temporal = summary["temporal_classes"]
    temporal_ids = temporal["burst"] + [c for pair in temporal["order_pairs"] for c in pair]
    split_examples = fold_split_examples(data_dir, root, args.folds, args.classes)
    frame_features = run_frame_features(data_dir, root, split_examples, args.folds, args.classes, args.max_frames)
    print(f"data and frame features: {time.time() - started:.0f} s; temporal classes {temporal}", flush=True)
    truth = clean_labels(data_dir)
    recorded = data.labels_by_id(splits.fold_files_patterns(split_examples, args.folds))

    results = {}
    for config in model_configs(args.max_frames):
        if args.models and config.name not in args.models:
            continue
        started = time.time()
        scores = {}
        for fold in range(args.folds):  # the pipeline's L1Trainer tasks of this model, one after another
            fold_predictions = types.SimpleNamespace(uri=os.path.join(root, "predictions", config.name, str(fold)))
            trainer.train_fold(split_examples, fold_predictions, config, fold, args.folds, args.classes,
                               frame_features=frame_features if config.reads_frames else None)
            scores.update(read_oof(fold_predictions))
        matrix, targets = scores_by_class(scores, truth, args.classes)
        ids = sorted(scores)
        ap = {c: float(average_precision_score(targets[:, c], matrix[:, c])) for c in range(args.classes)
              if targets[:, c].any()}
        others = [value for c, value in ap.items() if c not in temporal_ids]
        results[config.name] = {
            "reads": "frames" if config.reads_frames else "features",
            "ap": {c: round(ap[c], 4) for c in temporal_ids},
            "other_classes_map": round(float(np.mean(others)), 4),
            "gap": round(gap(*top_k(matrix, 20), [recorded[v] for v in ids]), 4),
            "seconds": round(time.time() - started),
        }
        print(config.name, json.dumps(results[config.name]), flush=True)

    positives = {c: int(sum(c in truth[v] for v in recorded)) for c in temporal_ids}
    print(f"\nout-of-fold AP against the clean labels ({len(recorded)} labelled videos, {args.folds} folds; "
          f"positives {positives})")
    header = "model".ljust(22) + "input".ljust(9) + "".join(f"c{c}".rjust(8) for c in temporal_ids)
    print(header + "  others-mAP     GAP")
    for name, result in results.items():
        print(name.ljust(22) + result["reads"].ljust(9)
              + "".join(f"{result['ap'][c]:8.3f}" for c in temporal_ids)
              + f"{result['other_classes_map']:12.3f}{result['gap']:8.3f}")
    if args.output:
        with open(args.output, "w") as target:
            json.dump({"args": vars(args), "temporal_classes": temporal, "positives": positives,
                       "results": results}, target, indent=1)


if __name__ == "__main__":
    main()
