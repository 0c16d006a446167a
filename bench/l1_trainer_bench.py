"""Benchmark: training throughput of a ResNetLike config through L1Trainer's training code
(sparse targets densified per batch, shuffling, per-epoch validation GAP, plateau and
early-stopping callbacks) against a bare tf_keras `fit` of the same model on the same
in-memory data with dense targets, in the same run. Target: ratio >= 0.9.

    uv run --frozen python bench/l1_trainer_bench.py [--videos 8000] [--epochs 8]
"""
import argparse
import os
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tf_keras  # noqa: E402

from components.l1_trainer.trainer import train_one_fold  # noqa: E402
from models import data, registry  # noqa: E402
from models.model_config import L1ModelConfig  # noqa: E402
from schemas.video_level import FEATURE_SIZE, NUM_CLASSES  # noqa: E402

FOLDS = 5


def synthetic_folds(videos: int, seed: int = 0) -> list[data.VideoSet]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(videos, FEATURE_SIZE)).astype(np.float32)
    labels = [rng.choice(NUM_CLASSES, 3, replace=False) for _ in range(videos)]
    return [data.VideoSet([str(i) for i in range(k, videos, FOLDS)], features[k::FOLDS], labels[k::FOLDS])
            for k in range(FOLDS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    config = L1ModelConfig.from_dict({"name": "resnet_like", "family": "resnet_like",
              "kwargs": {"inner_size": 512, "av_id_block_num": 1, "concat_id_block_num": 1},
              "training": {"batch_size": 128, "max_epochs": args.epochs, "early_stopping_patience": 100,
                           "lr_plateau_patience": 100}})
    folds = synthetic_folds(args.videos)
    train = data.concatenate(folds[1:])
    examples = len(train.ids) * args.epochs

    started = time.perf_counter()
    train_one_fold(config, folds, 0, NUM_CLASSES, log_dir=None)
    component_rate = examples / (time.perf_counter() - started)
    tf_keras.backend.clear_session()

    dense = np.zeros((len(train.ids), NUM_CLASSES), np.float32)
    for row, labels in enumerate(train.labels):
        dense[row, labels] = 1.0
    tf_keras.utils.set_random_seed(0)
    model = registry.build_model("resnet_like", NUM_CLASSES, **config.kwargs)
    model.compile(optimizer=tf_keras.optimizers.Adam(1e-3, global_clipnorm=10.0),
                  loss=tf_keras.losses.BinaryCrossentropy(from_logits=True))
    started = time.perf_counter()
    model.fit(train.features, dense, batch_size=128, epochs=args.epochs, shuffle=True, verbose=0)
    bare_rate = examples / (time.perf_counter() - started)

    print(f"L1Trainer training code: {component_rate:8.0f} examples/s")
    print(f"bare tf_keras fit:       {bare_rate:8.0f} examples/s")
    print(f"ratio: {component_rate / bare_rate:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
