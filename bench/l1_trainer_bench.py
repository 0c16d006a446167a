"""Benchmark: L1Trainer's streamed training against the in-memory path it replaced, same
run, same data, model, recipe and validation. Target: streamed/in-memory >= 0.9.

Streamed: `train_one_fold` as the component runs it: the training folds' gzipped
TFRecords read, shuffled through the recipe's buffer, parsed and densified per batch, every
epoch (plus one count of the records). In memory: the same videos parsed once into arrays
before the clock starts, a full shuffle of the array rows, the same densify per batch
and the same `training.fit` (so the same per-epoch validation, streamed from fold 0's
file, and the same callbacks). The rate is over the epochs' time (training and
validation); the seconds outside them (model construction, for the streamed path the
count of the records, and the end of `fit`, which now and then stalls for up to 18 s in
either path while TensorFlow tears the input iterator down) are printed beside it. Also
the peak resident memory of each path (its own process).

    uv run --frozen python bench/l1_trainer_bench.py [--videos 8000] [--epochs 4]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import types

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FOLDS = 5


def config(epochs: int):
    from models.model_config import L1ModelConfig
    return L1ModelConfig.from_dict({
        "name": "resnet_like", "family": "resnet_like",
        "kwargs": {"inner_size": 512, "av_id_block_num": 1, "concat_id_block_num": 1},
        "training": {"batch_size": 128, "max_epochs": epochs, "early_stopping_patience": 100,
                     "lr_plateau_patience": 100}})


def write_folds(directory: str, videos: int) -> list[str]:
    """Synthetic videos (3 labels each) as FoldSplitter's gzipped fold splits; their patterns."""
    import numpy as np

    from schemas import splits
    from schemas import video_level
    rng = np.random.default_rng(0)
    artifact = types.SimpleNamespace(uri=directory)
    for fold in range(FOLDS):
        splits.write_split_records(artifact, splits.fold_split_name(fold), (
            video_level.make_example(f"{fold}-{i}", rng.choice(video_level.NUM_CLASSES, 3, replace=False),
                                     *np.split(rng.normal(size=video_level.FEATURE_SIZE).astype(np.float32),
                                               [video_level.RGB_SIZE])).SerializeToString()
            for i in range(videos // FOLDS)))
    return [splits.split_files_pattern(artifact, name) for name in splits.fold_split_names(FOLDS)]


def in_memory_batches(patterns: list[str], num_classes: int, batch_size: int, seed: int):
    """The replaced path: every training video parsed into arrays (features, class ids
    padded with −1), rows fully shuffled, targets densified per batch by a scatter."""
    import numpy as np
    import tensorflow as tf

    from models import data
    features, labels = [], []
    for batch in data.read_batches(patterns):
        features.append(batch[data.FEATURES].numpy())
        labels.extend(data.label_rows(batch[data.LABELS]))
    class_ids = np.full((len(labels), max(len(row) for row in labels)), -1, np.int64)
    for row, row_labels in enumerate(labels):
        class_ids[row, :len(row_labels)] = row_labels

    def densify(x, ids):
        valid = ids >= 0
        rows = tf.broadcast_to(tf.range(tf.shape(ids, out_type=ids.dtype)[0])[:, None], tf.shape(ids))
        indices = tf.stack([tf.boolean_mask(rows, valid), tf.boolean_mask(ids, valid)], axis=1)
        dense = tf.scatter_nd(indices, tf.ones(tf.shape(indices)[:1]),
                              tf.stack([tf.shape(ids, out_type=ids.dtype)[0], num_classes]))
        return x, tf.minimum(dense, 1.0)

    return (tf.data.Dataset.from_tensor_slices((np.concatenate(features), class_ids))
            .shuffle(len(labels), seed=seed)
            .batch(batch_size)
            .map(densify, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(2))


def measure(path: str, patterns: list[str], epochs: int) -> dict:
    import tf_keras

    from components.l1_trainer import trainer
    from models import data, registry, training
    from schemas.video_level import NUM_CLASSES
    model_config = config(epochs)
    files = trainer.SplitFiles(patterns, "", "", None, False)
    training_videos = data.count_records(patterns[1:])
    if path == "streamed":
        started = time.perf_counter()
        _, summary = trainer.train_one_fold(model_config, files, 0, NUM_CLASSES, log_dir=None)
    else:
        recipe = model_config.training
        tf_keras.utils.set_random_seed(recipe.seed)
        dataset = in_memory_batches(patterns[1:], NUM_CLASSES, recipe.batch_size, recipe.seed)
        started = time.perf_counter()
        model = registry.build_model(model_config.family, NUM_CLASSES, **model_config.kwargs)
        summary = training.fit(model, dataset, trainer.split_batches(model_config, files, patterns[0]), recipe)
    seconds = time.perf_counter() - started
    epoch_seconds = sum(summary["history"]["seconds"])
    return {"path": path, "examples_per_s": training_videos * summary["epochs_run"] / epoch_seconds,
            "seconds_outside_epochs": round(seconds - epoch_seconds, 1),
            "val_gap": summary["best_val_gap"], "peak_hwm_mb": _peak_rss_mb(),
            "epoch_seconds": [round(seconds, 2) for seconds in summary["history"]["seconds"]]}


def _peak_rss_mb() -> float:
    """The process's high-water resident memory (VmHWM), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--one", nargs=2, metavar=("PATH", "DIRECTORY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        from schemas import splits
        artifact = types.SimpleNamespace(uri=args.one[1])
        patterns = [splits.split_files_pattern(artifact, name) for name in splits.fold_split_names(FOLDS)]
        print(json.dumps(measure(args.one[0], patterns, args.epochs)))
        return
    with tempfile.TemporaryDirectory(prefix="l1-trainer-bench-") as directory:
        write_folds(directory, args.videos)
        results = {}
        for path in ("in_memory", "streamed"):  # each in a fresh process: its own peak memory
            output = subprocess.run([sys.executable, __file__, "--videos", str(args.videos), "--epochs",
                                     str(args.epochs), "--one", path, directory],
                                    check=True, capture_output=True, text=True).stdout
            results[path] = json.loads(output.strip().splitlines()[-1])
    for path, result in results.items():
        print(f"{path:10s} {result['examples_per_s']:8.0f} examples/s  validation GAP {result['val_gap']:.4f}  "
              f"peak memory {result['peak_hwm_mb']:6.0f} MiB  epochs {result['epoch_seconds']} s, "
              f"{result['seconds_outside_epochs']} s outside them")
    ratio = results["streamed"]["examples_per_s"] / results["in_memory"]["examples_per_s"]
    print(f"streamed / in memory: {ratio:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
