"""The training of the `full` profile on the whole of YouTube-8M, derived from what this
machine measures: each network's FLOPs per training example (from its layer shapes) over
the dense-matmul FLOP/s of one core, measured in this run, at the fraction of that limit
a training step reaches (bench/train_step.py; docs/results.md). Prints, per L1 model
fold and per student network, the core-hours and the hours on a task of `--cores` cores,
the memory its weights and optimizer state take, and the disk its predictions take.

    uv run --frozen python bench/full_run_model.py [--cores 16]

Assumptions, all printed with the table:
- videos: YouTube-8M 2018, 5,001,275 labelled (train + validate), 1,133,323 test;
  the profile's folds and held-out fraction decide what one fold trains on and scores.
- epochs: the profile's `max_epochs` (an upper bound: early stopping ends most sooner).
- FLOPs: the products of the Dense layers, forward and backward (bench/train_step.py
  `matmul_shapes`); a model with other weighted layers (a GRU) is undercounted, and its
  Dense share of the parameters is printed.
- speed: ACHIEVED_FRACTION of the measured matmul limit, scaled linearly to `--cores`
  cores (measured only up to 2 cores here: beyond that it is an extrapolation).
"""
import argparse
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from train_step import matmul_seconds, matmul_shapes  # noqa: E402

LABELLED_VIDEOS = 5_001_275
TEST_VIDEOS = 1_133_323
CLASSES = 3862
# A training step's matmul FLOP/s over the matmul-only limit, measured by bench/train_step.py
# (docs/results.md: 0.59–0.67 for resnet_like and mlp at 1 and 2 threads).
ACHIEVED_FRACTION = 0.6
# The shapes at which the per-core limit is measured: a batch of 512 through layers of
# the zoo's widths.
LIMIT_SHAPES = [(512, 1152, 2048), (512, 2048, 2048), (512, 2048, 3862), (512, 4096, 4096)]
DENSE_ROW_BYTES = 4 * CLASSES + 64  # a dense prediction row: float32 scores and an id
# Weights, gradients and Adam's two moments, float32.
TRAINING_BYTES_PER_PARAMETER = 16
GB = 1e9


def per_core_flops() -> float:
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    flops = sum(2.0 * m * k * n for m, k, n in LIMIT_SHAPES)
    return flops / matmul_seconds(LIMIT_SHAPES, repeats=5)


def network_cost(family: str, kwargs: dict) -> dict:
    """FLOPs of one example's training step and of its scoring, parameters, Dense share."""
    import tf_keras as keras

    from models import registry
    model = registry.build_model(family, CLASSES, **kwargs)
    shapes = matmul_shapes(model, batch=1)
    dense = [layer for layer in _layers(model) if isinstance(layer, keras.layers.Dense)]
    dense_parameters = sum(layer.count_params() for layer in dense)
    cost = {"parameters": model.count_params(), "dense_share": dense_parameters / model.count_params(),
            "train_flops": sum(2.0 * m * k * n for m, k, n in shapes),
            # forward only: the first product of each layer
            "score_flops": sum(2.0 * layer.input_shape[-1] * layer.units for layer in dense)}
    keras.backend.clear_session()
    return cost


def _layers(model):
    for layer in model.layers:
        yield from (_layers(layer) if hasattr(layer, "layers") else [layer])


def fold_videos(profile) -> dict:
    """Videos one L1 fold task trains on and scores."""
    kept = LABELLED_VIDEOS * (1 - profile.holdout_fraction)
    fold = kept / profile.folds
    return {"train": kept - fold, "score": fold + LABELLED_VIDEOS * profile.holdout_fraction + TEST_VIDEOS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cores", type=int, default=16, help="cores of one training task")
    args = parser.parse_args()
    from pipeline.profile import load_profile
    profile = load_profile("full")
    limit = per_core_flops()
    rate = limit * ACHIEVED_FRACTION
    videos = fold_videos(profile)
    print(f"per-core dense matmul limit, measured: {limit / 1e9:.1f} GFLOP/s; training at {ACHIEVED_FRACTION} of it: "
          f"{rate / 1e9:.1f} GFLOP/s a core; a task of {args.cores} cores")
    print(f"one L1 fold trains on {videos['train']:,.0f} videos and scores {videos['score']:,.0f} "
          f"(its fold, the held-out split, test); epochs: max_epochs (an upper bound)\n")
    print(f"{'network':34s} {'params':>8s} {'dense':>6s} {'GFLOP/ex':>9s} {'epochs':>6s} {'core-h':>8s}"
          f" {'hours':>7s} {'train GB':>8s} {'pred GB':>8s}")
    total_core_hours = total_disk = 0.0
    rows = [(model.name, model.family, model.kwargs, model.training.max_epochs, videos["train"], videos["score"],
             profile.folds) for model in profile.l1_models]
    student = profile.student
    for index, member in enumerate(student.networks()):
        rows.append((f"student network {index + 1} ({member.family})", member.family, member.kwargs,
                     member.recipe.max_epochs, LABELLED_VIDEOS * (1 - profile.holdout_fraction),
                     LABELLED_VIDEOS * profile.holdout_fraction + TEST_VIDEOS, 1))
    for name, family, kwargs, epochs, train, score, tasks in rows:
        cost = network_cost(family, dict(kwargs))
        core_seconds = (train * epochs * cost["train_flops"] + score * cost["score_flops"]) / rate
        core_hours = core_seconds / 3600
        disk = score * DENSE_ROW_BYTES / GB
        total_core_hours += core_hours * tasks
        total_disk += disk * tasks
        print(f"{name:34s} {cost['parameters'] / 1e6:7.1f}M {cost['dense_share']:6.2f} "
              f"{cost['train_flops'] / 1e9:9.3f} {epochs:6d} {core_hours:8.0f} {core_hours / args.cores:7.1f}"
              f" {cost['parameters'] * TRAINING_BYTES_PER_PARAMETER / GB:8.2f} {disk:8.1f}")
    print("\nper task: core-h and hours of one fold (L1) or of the network (student); GFLOP/ex: one training "
          "example's step; train GB: weights, gradients and Adam's moments; pred GB: the dense rows it writes")
    print(f"all tasks (L1: {profile.folds} folds each): {total_core_hours:,.0f} core-hours, "
          f"{total_disk:,.0f} GB of prediction rows written by the training tasks")


if __name__ == "__main__":
    main()
