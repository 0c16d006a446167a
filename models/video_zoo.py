"""Video-level model families, registered by name (docs/method.md §3.2, §2 Stage K).

Every family builds a Keras 2 (`tf_keras`) model with one input, "features": float32
[batch, 1152] = raw `[mean_rgb; mean_audio]`, and one output: LOGITS [batch,
num_classes] (sigmoid is applied outside). Preprocessing lives inside the model so
that the exported serving graph carries it: with `normalize=True` (every family's
default) the first layer L2-normalises the 1152-vector as a whole, as the distilled
model does (Stage K); families that treat rgb and audio separately slice that vector.

Sizes are keyword arguments with small defaults that train on a CPU on about 10k
videos; the original sizes are reachable through the same arguments.

Build one with `models.registry.build_model`; frame-level families are in models/frame_zoo.py.
"""
import tensorflow as tf
import tf_keras as keras

from models import layers
from models.registry import register, require

# MoE probabilities are clipped before the logit so that every family speaks finite logits.
_MOE_PROBABILITY_FLOOR = 1e-7


@register("mlp")
def mlp(num_classes: int, *, hidden_size: int = 2048, dropout: float = 0.5,
        batch_norm: bool = False, normalize: bool = True) -> keras.Model:
    """One hidden layer: the simple strong baseline."""
    require(hidden_size >= 1, "hidden_size", "must be at least 1")
    require(0 <= dropout < 1, "dropout", "must be in [0, 1)")

    features, x = layers.features_input(normalize)
    x = keras.layers.Dense(hidden_size)(x)
    if batch_norm:
        x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Dropout(dropout)(x)
    logits = layers.class_logits(x, num_classes)
    return keras.Model(features, logits, name="mlp")


@register("resnet_like")
def resnet_like(num_classes: int, *, inner_size: int = 512, av_id_block_num: int = 1,
                concat_id_block_num: int = 1, dropout: float = 0.5,
                context_gating: bool = False, video_part: int = 1, audio_part: int = 1,
                normalize: bool = True) -> keras.Model:
    """`ResNetLike`, the workhorse: residual FC branches for rgb and audio, then a head.

    The branches are 2·inner·part/(video_part + audio_part) wide (both `inner_size` by
    default). The original is inner_size=2048 with 1/1 to 5/5 identity blocks.
    """
    require(inner_size >= 1, "inner_size", "must be at least 1")
    require(av_id_block_num >= 0, "av_id_block_num", "must be at least 0")
    require(concat_id_block_num >= 0, "concat_id_block_num", "must be at least 0")
    require(0 <= dropout < 1, "dropout", "must be in [0, 1)")
    require(video_part >= 1, "video_part", "must be at least 1")
    require(audio_part >= 1, "audio_part", "must be at least 1")
    require(2 * inner_size % (video_part + audio_part) == 0, "inner_size",
             "times 2 must be divisible by video_part + audio_part")

    features, x = layers.features_input(normalize)
    rgb, audio = layers.split_rgb_audio(x)
    audio_size = audio_part * 2 * inner_size // (video_part + audio_part)
    video_size = 2 * inner_size - audio_size

    audio = _fc_block(audio, audio_size, dropout)
    for _ in range(av_id_block_num):
        audio = _identity_block(audio, audio_size, dropout)
    video = _fc_block(rgb, video_size, dropout)
    for _ in range(av_id_block_num):
        video = _identity_block(video, video_size, dropout)

    x = keras.layers.Concatenate()([audio, video])
    for _ in range(concat_id_block_num):
        x = _identity_block(x, inner_size, dropout)
    x = _fc_block(x, inner_size, dropout)
    logits = layers.class_logits(x, num_classes)
    if context_gating:
        # As in the original, the gate z ⊙ σ(W z + b) multiplies the pre-sigmoid output
        # and the product is trained and read as logits.
        gate = keras.layers.Dense(num_classes, activation="sigmoid", name="context_gate")(logits)
        logits = keras.layers.Multiply(name="gated_logits")([logits, gate])
    return keras.Model(features, logits, name="resnet_like")


@register("gated_mlp")
def gated_mlp(num_classes: int, *, hidden_size: int = 1024,
              normalize: bool = True) -> keras.Model:
    """`AttentiveFCN`: a hidden layer whose units are gated by x ⊙ σ(W x + b)."""
    require(hidden_size >= 1, "hidden_size", "must be at least 1")

    features, x = layers.features_input(normalize)
    x = keras.layers.Dense(hidden_size, activation="relu")(x)
    gate = keras.layers.Dense(hidden_size, activation="sigmoid", name="context_gate")(x)
    x = keras.layers.Multiply()([x, gate])
    logits = layers.class_logits(x, num_classes)
    return keras.Model(features, logits, name="gated_mlp")


@register("bottle_fcn")
def bottle_fcn(num_classes: int, *, width: int = 2048, layers_count: int = 3,
               normalize: bool = True) -> keras.Model:
    """`BottleFCN1`: Dense(width) → ReLU, `layers_count` halvings, as many doublings back."""
    require(width >= 2 ** layers_count, "width", "must be at least 2 ** layers_count")
    require(layers_count >= 1, "layers_count", "must be at least 1")

    features, x = layers.features_input(normalize)
    x = keras.layers.Dense(width, activation="relu")(x)
    widths = [width // 2 ** step for step in range(1, layers_count + 1)]
    for units in widths + widths[-2::-1] + [width]:
        x = keras.layers.Dense(units, activation="relu")(x)
    logits = layers.class_logits(x, num_classes)
    return keras.Model(features, logits, name="bottle_fcn")


@register("cyclic_fcn")
def cyclic_fcn(num_classes: int, *, hidden_size: int = 1024, length: int = 3,
               normalize: bool = True) -> keras.Model:
    """`CyclicFCN`: Dense(H) → LeakyReLU, then ONE shared Dense(H→H) + LeakyReLU applied
    `length` times (a recurrence without a sequence)."""
    require(hidden_size >= 1, "hidden_size", "must be at least 1")
    require(length >= 1, "length", "must be at least 1")

    features, x = layers.features_input(normalize)
    x = keras.layers.LeakyReLU(alpha=0.01)(keras.layers.Dense(hidden_size)(x))
    shared = keras.layers.Dense(hidden_size, name="shared_cycle")
    for _ in range(length):
        x = keras.layers.LeakyReLU(alpha=0.01)(shared(x))
    logits = layers.class_logits(x, num_classes)
    return keras.Model(features, logits, name="cyclic_fcn")


@register("early_concat_fcn")
def early_concat_fcn(num_classes: int, *, hidden_size: int = 2000, num_layers: int = 3,
                     dropout: float = 0.3, normalize: bool = True) -> keras.Model:
    """`EarlyConcatFCN`: an MLP of `num_layers` × (Dense → Dropout → ReLU) on [video; audio]."""
    require(hidden_size >= 1, "hidden_size", "must be at least 1")
    require(num_layers >= 1, "num_layers", "must be at least 1")
    require(0 <= dropout < 1, "dropout", "must be in [0, 1)")

    features, x = layers.features_input(normalize)
    for _ in range(num_layers):
        x = keras.layers.ReLU()(keras.layers.Dropout(dropout)(keras.layers.Dense(hidden_size)(x)))
    logits = layers.class_logits(x, num_classes)
    return keras.Model(features, logits, name="early_concat_fcn")


@register("repeated_gru")
def repeated_gru(num_classes: int, *, hidden_size: int = 512, repeats: int = 10,
                 normalize: bool = True) -> keras.Model:
    """`MondayFCN3/4`: the feature vector repeated `repeats` times into a GRU, whose final
    hidden state is classified: depth by recurrence, a diversity source of the zoo."""
    require(hidden_size >= 1, "hidden_size", "must be at least 1")
    require(repeats >= 1, "repeats", "must be at least 1")

    features, x = layers.features_input(normalize)
    x = keras.layers.RepeatVector(repeats)(x)
    x = keras.layers.GRU(hidden_size)(x)
    logits = layers.class_logits(x, num_classes)
    return keras.Model(features, logits, name="repeated_gru")


@register("moe")
def moe(num_classes: int, *, num_mixtures: int = 2, l2_penalty: float = 1e-8,
        normalize: bool = True) -> keras.Model:
    """The YouTube-8M starter's mixture of logistic experts.

    Per class, a softmax gate over `num_mixtures` sigmoid experts plus one dummy expert
    that always says "absent". The mixture is a probability p; the model returns
    log(p) − log(1 − p) with p clipped to [1e-7, 1 − 1e-7].
    """
    require(num_mixtures >= 1, "num_mixtures", "must be at least 1")
    require(l2_penalty >= 0, "l2_penalty", "must be at least 0")

    features, x = layers.features_input(normalize)
    regularizer = keras.regularizers.L2(l2_penalty)
    gate_logits = keras.layers.Dense(num_classes * (num_mixtures + 1), use_bias=False,
                                     kernel_regularizer=regularizer, name="gates")(x)
    # The mixture, its clipping at 1e-7 and the logit in float32 in every precision
    # (models/precision.py): in bfloat16, 1 − 1e-7 rounds to 1 and the logit is infinite.
    gates = keras.layers.Softmax(dtype="float32")(
        keras.layers.Reshape((num_classes, num_mixtures + 1))(gate_logits))
    expert_logits = keras.layers.Dense(num_classes * num_mixtures,
                                       kernel_regularizer=regularizer, name="experts")(x)
    experts = keras.layers.Activation("sigmoid", dtype="float32")(
        keras.layers.Reshape((num_classes, num_mixtures))(expert_logits))

    probabilities = tf.reduce_sum(gates[:, :, :num_mixtures] * experts, axis=-1)
    probabilities = tf.clip_by_value(probabilities, _MOE_PROBABILITY_FLOOR,
                                     1.0 - _MOE_PROBABILITY_FLOOR)
    logits = tf.math.log(probabilities) - tf.math.log1p(-probabilities)
    return keras.Model(features, logits, name="moe")


@register("ensemble_student")
def ensemble_student(num_classes: int, *, width_scale: float = 0.125,
                     normalize: bool = True, output_bias: bool = True) -> keras.Model:
    """The distilled student `EnsembleModel` of Stage K (docs/method.md, Stage K).

    Six sub-networks A..F read the (normalised) input; their outputs and the input
    itself (the skip, always 1152 wide) feed FC → BN → ReLU → FC → BN → ReLU → FC.
    `width_scale` multiplies every hidden width: 1.0 is the original network (247,138,432
    trainable parameters at 3862 classes with `output_bias=False`). Like the original,
    hidden dense layers have no bias (slim `biases_initializer=None`); the output layer
    has one by default, started at the label prior, which short CPU runs need. Batch norm
    runs in inference mode at inference (the original's training-mode BN was an artefact).
    """
    require(width_scale > 0, "width_scale", "must be positive")

    def width(original: int) -> int:
        return max(1, round(original * width_scale))

    features, x = layers.features_input(normalize)
    rgb, audio = layers.split_rgb_audio(x)
    x = keras.layers.Concatenate(name="sub_networks_and_input")([
        _student_a(x, width),
        _student_b(x, width),
        _student_c(rgb, audio, width),
        _student_d(rgb, audio, width),
        _student_e(x, width),
        _student_f(x, width),
        x,
    ])
    x = _fc_bn(x, width(8192), keras.layers.ReLU())
    x = _fc_bn(x, width(6000), keras.layers.ReLU())
    logits = layers.class_logits(x, num_classes, use_bias=output_bias)
    return keras.Model(features, logits, name="ensemble_student")


# ---------------------------------------------------------------------------------------
# Building blocks


def _fc_block(x, units: int, dropout: float):
    """ResNetLike FCBlock: Dense → BatchNorm → LeakyReLU(0.01) → Dropout.

    BatchNorm takes PyTorch's BatchNorm1d defaults (momentum 0.1, eps 1e-5), as the original.
    """
    x = keras.layers.Dense(units)(x)
    x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
    x = keras.layers.LeakyReLU(alpha=0.01)(x)
    return keras.layers.Dropout(dropout)(x)


def _identity_block(x, inner_size: int, dropout: float):
    """ResNetLike Identity: LeakyReLU(x + Dense_inner→outer(FCBlock_outer→inner(x)))."""
    outer_size = x.shape[-1]
    residual = _fc_block(x, inner_size, dropout)
    residual = keras.layers.Dense(outer_size)(residual)
    x = keras.layers.Add()([x, residual])
    return keras.layers.LeakyReLU(alpha=0.01)(x)


def _fc_bn(x, units: int, activation: keras.layers.Layer):
    """Student layer: bias-free Dense → BatchNorm (slim's center+scale, eps 1e-3) → activation.

    Momentum 0.9 rather than slim's 0.999: inference-mode batch norm uses the moving
    statistics, which must settle within the few hundred steps of a small run (at 0.99,
    a 230-step run kept a tenth of the initial statistics and scored near zero).
    """
    x = keras.layers.Dense(units, use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)(x)
    return activation(x)


def _student_output(x, units: int):
    return keras.layers.Dense(units, use_bias=False, activation="relu")(x)


def _swish():
    return keras.layers.Activation("swish")


def _student_a(x, width):
    x = _fc_bn(x, width(1024), _swish())
    x = _fc_bn(x, width(1024), _swish())
    return _student_output(x, width(1024))


def _student_b(x, width):
    x = _fc_bn(x, width(1024), keras.layers.ReLU())
    return _student_output(x, width(1024))


def _student_c(rgb, audio, width):
    rgb = _fc_bn(rgb, width(1024), keras.layers.LeakyReLU(alpha=0.2))
    audio = _fc_bn(audio, width(256), keras.layers.LeakyReLU(alpha=0.2))
    return _student_output(keras.layers.Concatenate()([rgb, audio]), width(1024))


def _student_d(rgb, audio, width):
    for _ in range(2):
        rgb = _fc_bn(rgb, width(1024), _swish())
        audio = _fc_bn(audio, width(256), _swish())
    return _student_output(keras.layers.Concatenate()([rgb, audio]), width(1024))


def _student_e(x, width):
    for _ in range(4):
        x = _fc_bn(x, width(4096), keras.layers.ReLU())
    return _student_output(x, width(2048))


def _student_f(x, width):
    for _ in range(5):
        x = _fc_bn(x, width(2048), keras.layers.ReLU())
    return _student_output(x, width(2048))
