"""Roofline of a training step: examples/s through the real training path against the
machine's dense-matmul limit at the same shapes and thread count, measured in one run,
in float32 and in the precision `auto` picks here (models/precision.py).

For each model, the training examples/s of `models.data.training_batches` + `models.training.fit`
(the L1Trainer's path, streamed from a TFRecord file as the trainer reads a split;
validation left out, the step is what is measured), the FLOPs of
one step's matrix products from the layer shapes (forward, and backward: the weight
gradient and, but for the first layer, the input gradient), and the time the same
products take alone (`tf.matmul` at those shapes, in a loop, in the dtype the step's
products run in: float32, or bfloat16 under mixed precision). achieved/peak is the
step's matmul FLOP/s over the matmul-only FLOP/s: 1.0 would mean the step costs nothing
but its matrix products. Each (model, threads, precision) runs in a fresh process
(TensorFlow fixes its thread pools at start-up); after each model's rows, the speed-up of
the second precision over float32 (examples/s) and of its matmul limit over float32's.

    uv run --frozen python bench/train_step.py [--threads 1 2] [--models resnet_like mlp attention_pooling] \
        [--precisions float32 auto]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# name → (family, kwargs, batch size, learning rate): resnet_like at the size of the
# PyTorch comparison (inner 1024, one identity block per branch, 15.6M parameters).
MODELS = {
    "resnet_like": ("resnet_like", {"inner_size": 1024, "av_id_block_num": 1, "concat_id_block_num": 1}, 256, 1e-3),
    "mlp": ("mlp", {"hidden_size": 2048}, 256, 1e-3),
    "attention_pooling": ("attention_pooling", {"max_frames": 60, "hidden_size": 512, "heads": 4}, 64, 1e-3),
}
CLASSES = 3862


def write_inputs(family: str, kwargs: dict, videos: int, directory: str) -> str:
    """Synthetic videos with 3 labels each as one split file of the kind the family reads
    (gzipped video-level Examples, or frame-level SequenceExamples); returns its path."""
    import numpy as np
    import tensorflow as tf

    from models import registry
    from schemas import frame_level, video_level
    rng = np.random.default_rng(0)
    frames = registry.reads(family) == "frames"
    path = os.path.join(directory, "videos.tfrecord" + ("" if frames else ".gz"))
    with tf.io.TFRecordWriter(path, options="" if frames else "GZIP") as writer:
        for index in range(videos):
            labels = rng.choice(CLASSES, 3, replace=False)
            if frames:
                quantized = rng.integers(0, 256, (kwargs["max_frames"], video_level.FEATURE_SIZE), dtype=np.uint8)
                record = frame_level.make_sequence_example(str(index), labels, quantized[:, :video_level.RGB_SIZE],
                                                           quantized[:, video_level.RGB_SIZE:])
            else:
                rgb, audio = np.split(rng.normal(size=video_level.FEATURE_SIZE), [video_level.RGB_SIZE])
                record = video_level.make_example(str(index), labels, rgb, audio)
            writer.write(record.SerializeToString())
    return path


def matmul_shapes(model, batch: int) -> list[tuple[int, int, int]]:
    """(rows, inner, columns) of every matrix product of one training step of `model`."""
    import numpy as np
    import tf_keras as keras
    shapes = []
    dense = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.Dense)]
    for index, layer in enumerate(dense):
        in_shape = layer.input_shape
        rows = batch * int(np.prod([d for d in in_shape[1:-1]] or [1]))
        inner, columns = int(in_shape[-1]), int(layer.units)
        shapes.append((rows, inner, columns))  # forward
        shapes.append((inner, rows, columns))  # weight gradient: xᵀ · dy
        if index:  # the first layer's input needs no gradient
            shapes.append((rows, columns, inner))  # input gradient: dy · Wᵀ
    return shapes


def _all_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)
        else:
            yield layer


def matmul_seconds(shapes, dtype: str = "float32", repeats: int = 20) -> float:
    """Seconds for one pass over `shapes` as plain matmuls in `dtype`: the fastest of
    `repeats` (the limit; a slow pass on a shared machine says nothing about it)."""
    import numpy as np
    import tensorflow as tf
    operands = [(tf.cast(tf.random.normal([m, k]), dtype), tf.cast(tf.random.normal([k, n]), dtype))
                for m, k, n in shapes]

    @tf.function
    def products():
        return [tf.reduce_sum(tf.matmul(a, b)[:1, :1]) for a, b in operands]

    products()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        products()
        times.append(time.perf_counter() - started)
    return float(np.min(times))


# Where a step's time goes (`--breakdown`): each op the step's thread ran, by the first
# part of its node name or its op type that matches, else "other".
BREAKDOWN = (("optimizer (Adam, clipping)", ("Adam", "global_norm", "cond/", "clip")),
             ("loss (cross-entropy, fwd and bwd)", ("binary_crossentropy",)),
             ("matmul", (":_MklMatMul", ":_MklNativeFusedMatMul", ":MatMul", ":BatchMatMul")),
             ("casts", (":Cast",)))


def step_breakdown(model, dataset, steps: int) -> dict:
    """Milliseconds per step by BREAKDOWN group of the ops TensorFlow's profiler saw on
    the step's threads, over `steps` training steps of the compiled `model`; the time of
    the input pipeline's own threads; and the rest of the step's wall time (Python,
    Keras' loop, waits)."""
    import collections
    import glob

    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    with tempfile.TemporaryDirectory(prefix="train-step-trace-") as trace_dir:
        tf.profiler.experimental.start(trace_dir)
        started = time.perf_counter()
        model.fit(dataset.take(steps), verbose=0)
        wall = time.perf_counter() - started
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace.FromString(open(glob.glob(f"{trace_dir}/**/*.xplane.pb", recursive=True)[0],
                                                  "rb").read())
    groups = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if line.name.startswith("tf_data") and name == "ParallelMapProduce":
                    groups["input pipeline: parse, targets (own threads)"] += event.duration_ps
                elif line.name.startswith("tf_Compute") and ":" in name and "::" not in name:  # "node:op type"
                    groups[next((group for group, marks in BREAKDOWN if any(mark in name for mark in marks)),
                                "other ops (activations, dropout, norms)")] += event.duration_ps
    per_step = {group: picoseconds / 1e9 / steps for group, picoseconds in groups.items()}
    ops = sum(value for group, value in per_step.items() if not group.startswith("input"))
    per_step["not in ops (Python, Keras loop, waits)"] = max(0.0, wall * 1e3 / steps - ops)
    return {group: round(value, 1) for group, value in sorted(per_step.items(), key=lambda item: -item[1])}


def measure(name: str, threads: int, precision: str, videos: int, epochs: int, breakdown: bool = False) -> dict:
    import numpy as np
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import tf_keras as keras

    from models import data, precision as compute_precision, registry, training
    family, kwargs, batch, learning_rate = MODELS[name]
    recipe = training.TrainingRecipe(batch_size=batch, max_epochs=epochs, learning_rate=learning_rate,
                                     precision=precision)
    resolved = compute_precision.resolve(precision, registry.reads(family) == "frames")
    max_frames = kwargs.get("max_frames") if registry.reads(family) == "frames" else None
    with tempfile.TemporaryDirectory(prefix="train-step-") as directory:
        path = write_inputs(family, kwargs, videos, directory)
        keras.utils.set_random_seed(0)
        dataset = data.training_batches([path], data.Targets(CLASSES), batch, recipe.shuffle_buffer, seed=0,
                                        max_frames=max_frames)
        model = registry.build_model(family, CLASSES, precision=precision, **kwargs)
        epoch_seconds = training.fit(model, dataset, None, recipe)["history"]["seconds"]
        step_ms = step_breakdown(model, dataset, 8) if breakdown else None
    steady = min(epoch_seconds[1:])  # the first epoch traces the step function
    examples_per_second = videos / steady
    shapes = matmul_shapes(model, batch)
    step_flops = sum(2.0 * m * k * n for m, k, n in shapes)
    steps = int(np.ceil(videos / batch))
    step_seconds = steady / steps
    peak_seconds = matmul_seconds(shapes, "float32" if resolved == compute_precision.FLOAT32 else "bfloat16")
    return {"model": name, "threads": threads, "precision": resolved,
            "parameters": int(model.count_params()), "batch": batch,
            "examples_per_s": round(examples_per_second, 1),
            "step_gflop": round(step_flops / 1e9, 2),
            "achieved_gflops": round(step_flops / step_seconds / 1e9, 1),
            "matmul_peak_gflops": round(step_flops / peak_seconds / 1e9, 1),
            "achieved_over_peak": round(peak_seconds / step_seconds, 3),
            "matmul_limit_ms_per_step": round(peak_seconds * 1e3, 1), "step_ms": step_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count()])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--videos", type=int, default=4096)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--precisions", nargs="+", default=["float32", "auto"],
                        choices=["float32", "mixed_bfloat16", "auto"])
    parser.add_argument("--breakdown", action="store_true",
                        help="also profile 8 steps and print milliseconds per step by kind of op")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "THREADS", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.one[2], args.videos, args.epochs,
                                 args.breakdown)))
        return
    print(f"{'model':18s} {'threads':>7s} {'precision':>14s} {'params':>11s} {'ex/s':>8s} {'GFLOP/step':>10s} "
          f"{'GFLOP/s':>8s} {'matmul peak':>11s} {'achieved/peak':>13s}")
    for name in args.models:
        for threads in args.threads:
            videos = args.videos if MODELS[name][0] != "attention_pooling" else args.videos // 4
            rows = [_run_one(name, threads, precision, videos, args.epochs, args.breakdown)
                    for precision in args.precisions]
            if len(rows) > 1 and rows[0]["precision"] == "float32":
                for row in rows[1:]:
                    print(f"{'':18s} {threads:>7d} {row['precision']} / float32: examples/s "
                          f"{row['examples_per_s'] / rows[0]['examples_per_s']:.2f}x, matmul peak "
                          f"{row['matmul_peak_gflops'] / rows[0]['matmul_peak_gflops']:.2f}x", flush=True)


def _run_one(name: str, threads: int, precision: str, videos: int, epochs: int, breakdown: bool) -> dict:
    """One measurement in a fresh process; prints its row (and breakdown) and returns it."""
    result = subprocess.run(
        [sys.executable, __file__, "--one", name, str(threads), precision, "--videos", str(videos),
         "--epochs", str(epochs)] + (["--breakdown"] if breakdown else []), capture_output=True, text=True,
        check=True)
    row = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{row['model']:18s} {row['threads']:>7d} {row['precision']:>14s} {row['parameters']:>11,} "
          f"{row['examples_per_s']:>8.1f} {row['step_gflop']:>10.2f} {row['achieved_gflops']:>8.1f} "
          f"{row['matmul_peak_gflops']:>11.1f} {row['achieved_over_peak']:>13.3f}", flush=True)
    if row["step_ms"]:
        print(f"{'':18s} ms per step: matmul limit {row['matmul_limit_ms_per_step']}; "
              + ", ".join(f"{group} {ms}" for group, ms in row["step_ms"].items()), flush=True)
    return row


if __name__ == "__main__":
    main()
