"""The compute precision of training: float32, or bfloat16 products on float32 weights.

`precision` in a training recipe is `float32`, `mixed_bfloat16` or `auto`. With
`mixed_bfloat16` the layers compute in bfloat16 (Keras' mixed-precision policy) while
their variables, the optimizer's update, the loss and everything exported stay float32:
the model's output is cast to float32 before the loss, and the numerically sensitive
layers (the input's L2 normalisation, the mixture-of-experts probabilities) compute in
float32. `auto` takes bfloat16 where the CPU has bfloat16 matrix units: its
/proc/cpuinfo flags name AMX (`amx_bf16`) or AVX-512 BF16 (`avx512_bf16`), which
TensorFlow's oneDNN kernels use for bfloat16 products (about 4× float32's rate on one
core of such a machine, bench/train_step.py); elsewhere bfloat16 would be emulated and
slower, so `auto` keeps float32.

Frame-level families always train in float32: their masked pooling mixes a float32
mask with the activations.
"""
import contextlib
import functools
import logging

import tensorflow as tf
import tf_keras as keras

from models.training_recipe import FLOAT32, MIXED_BFLOAT16, PRECISIONS

CPU_FLAGS_FILE = "/proc/cpuinfo"
BFLOAT16_UNIT_FLAGS = ("amx_bf16", "avx512_bf16")

log = logging.getLogger("y8m.precision")


def cpu_bfloat16_flags(cpuinfo_path: str = CPU_FLAGS_FILE) -> list[str]:
    """The bfloat16 matrix-unit flags the CPU reports (none where the file is missing)."""
    try:
        with open(cpuinfo_path, encoding="utf-8") as cpuinfo:
            flags = set()
            for line in cpuinfo:
                if line.startswith("flags"):
                    flags.update(line.partition(":")[2].split())
    except OSError:
        return []
    return [flag for flag in BFLOAT16_UNIT_FLAGS if flag in flags]


@functools.cache
def _auto() -> str:
    """`auto` on this machine, decided (and logged) once per process."""
    flags = cpu_bfloat16_flags()
    choice = MIXED_BFLOAT16 if flags else FLOAT32
    log.info("precision auto: %s (%s)", choice,
             f"the CPU reports {', '.join(flags)} in {CPU_FLAGS_FILE}" if flags else
             f"no {' or '.join(BFLOAT16_UNIT_FLAGS)} in {CPU_FLAGS_FILE}")
    return choice


def resolve(precision: str, reads_frames: bool = False) -> str:
    """`float32` or `mixed_bfloat16`: what a recipe's `precision` means for a family."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if reads_frames:
        return FLOAT32
    return _auto() if precision == "auto" else precision


@contextlib.contextmanager
def policy(precision: str):
    """Layers built inside compute in `precision` (resolved); the global policy is restored after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def float32_outputs(model: keras.Model) -> keras.Model:
    """`model` itself when its output is float32; else the same model with its output cast
    to float32, so that the sigmoid cross-entropy over every class and the scores are
    computed in float32."""
    if model.outputs[0].dtype == tf.float32:
        return model
    output = keras.layers.Activation("linear", dtype=FLOAT32, name="float32_logits")(model.outputs[0])
    return keras.Model(model.inputs, output, name=model.name)
