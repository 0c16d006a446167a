"""Frame-level L1 families (docs/method.md §3.3), registered as reading frames (models/registry.py).

Every frame-level family builds a `tf_keras` model with two inputs and one output:
"frames" uint8 [batch, max_frames, 1152] (the quantized rgb then audio bytes of each
second, zero-padded after the video's end), "num_frames" int32 [batch] (the real frame
count), and LOGITS [batch, num_classes]. The model dequantizes in-graph with the
official formula, so it reads the stored bytes as they are, and masks the padding
wherever it pools over time (attention weights, means, histograms, sums).

    model = build_model("bigru_attention", num_classes=3862, max_frames=300)
"""
import math

import numpy as np
import tensorflow as tf
import tf_keras as keras

from models.layers import class_logits
from models.registry import register, require
from schemas.frame_level import DEQUANTIZE_BIAS, DEQUANTIZE_SCALE, MAX_FRAMES
from schemas.video_level import FEATURE_SIZE

FRAMES_INPUT = "frames"
NUM_FRAMES_INPUT = "num_frames"
# Added to the attention scores of padded frames: their softmax weight becomes 0.
_MASKED_SCORE = -1e9


# ---------------------------------------------------------------------------------------
# Families


@register("attention_pooling", reads="frames")
def attention_pooling(num_classes: int, *, max_frames: int = MAX_FRAMES, hidden_size: int = 512,
                      heads: int = 4, dropout: float = 0.3) -> keras.Model:
    """`AttentionModel`: per-frame Dense → ReLU, then `heads` masked softmax-over-time
    poolings, the masked mean and the masked maximum (as `EarlyConcatAlternate`), then an
    MLP. Order-blind; a short burst shows in the maximum and can take a head's weight."""
    _check_common(max_frames, "hidden_size", hidden_size, dropout)
    require(heads >= 1, "heads", "must be at least 1")

    (frames, num_frames), x, mask = _frame_inputs(max_frames)
    x = keras.layers.Dense(hidden_size, activation="relu")(x)
    pooled = keras.layers.Concatenate()([_attention_pool(x, mask, heads), _masked_mean(x, mask),
                                         _masked_max(x, mask)])
    return _head([frames, num_frames], pooled, hidden_size, dropout, num_classes, "attention_pooling")


@register("bigru_attention", reads="frames")
def bigru_attention(num_classes: int, *, max_frames: int = MAX_FRAMES, hidden_size: int = 128,
                    heads: int = 2, dropout: float = 0.3) -> keras.Model:
    """`EarlyConcatLSTM4`-like: Dense → ReLU per frame, a bidirectional GRU over the valid
    frames (the mask skips padding), masked attention pooling, an MLP. Sees order."""
    _check_common(max_frames, "hidden_size", hidden_size, dropout)
    require(heads >= 1, "heads", "must be at least 1")

    (frames, num_frames), x, mask = _frame_inputs(max_frames)
    x = keras.layers.Dense(hidden_size, activation="relu")(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(hidden_size, return_sequences=True))(
        x, mask=tf.cast(mask, tf.bool))
    pooled = keras.layers.Concatenate()([_attention_pool(x, mask, heads), _masked_mean(x, mask)])
    return _head([frames, num_frames], pooled, 2 * hidden_size, dropout, num_classes, "bigru_attention")


@register("frame_transformer", reads="frames")
def frame_transformer(num_classes: int, *, max_frames: int = MAX_FRAMES, model_size: int = 128,
                      heads: int = 4, layers: int = 1, inner_size: int = 256,
                      dropout: float = 0.1) -> keras.Model:
    """`EarlyConcatTransformerClassifier`: Dense to `model_size` plus sinusoidal position
    codes, `layers` encoder blocks whose self-attention ignores padded keys, then the
    masked mean and a masked attention pooling (the original averaged padding in)."""
    _check_common(max_frames, "model_size", model_size, dropout)
    require(heads >= 1 and model_size % heads == 0, "heads", "must be at least 1 and divide model_size")
    require(layers >= 1, "layers", "must be at least 1")
    require(inner_size >= 1, "inner_size", "must be at least 1")

    (frames, num_frames), x, mask = _frame_inputs(max_frames)
    x = keras.layers.Dense(model_size)(x) + _position_codes(max_frames, model_size)
    attention_mask = tf.cast(mask[:, None, :], tf.bool)  # every query may look at valid keys only
    for _ in range(layers):
        attended = keras.layers.MultiHeadAttention(heads, model_size // heads, dropout=dropout)(
            x, x, attention_mask=attention_mask)
        x = keras.layers.LayerNormalization()(x + attended)
        inner = keras.layers.Dense(inner_size, activation="relu")(x)
        x = keras.layers.LayerNormalization()(x + keras.layers.Dropout(dropout)(keras.layers.Dense(model_size)(inner)))
    pooled = keras.layers.Concatenate()([_masked_mean(x, mask), _attention_pool(x, mask, 1)])
    return _head([frames, num_frames], pooled, 2 * model_size, dropout, num_classes, "frame_transformer")


@register("soft_bow", reads="frames")
def soft_bow(num_classes: int, *, max_frames: int = MAX_FRAMES, clusters: int = 256,
             hidden_size: int = 512, dropout: float = 0.3, with_mean: bool = True) -> keras.Model:
    """`BoWResnetLike`: each frame softly assigned to `clusters` learned clusters
    (softmax), the assignments averaged over the valid frames (a soft bag of words), with
    the masked mean of the frames beside it when `with_mean`, then an MLP."""
    _check_common(max_frames, "hidden_size", hidden_size, dropout)
    require(clusters >= 2, "clusters", "must be at least 2")

    (frames, num_frames), x, mask = _frame_inputs(max_frames)
    assignments = keras.layers.Dense(clusters, activation="softmax", name="soft_assignment")(x)
    pooled = _masked_mean(assignments, mask)
    if with_mean:
        pooled = keras.layers.Concatenate()([pooled, _masked_mean(x, mask)])
    return _head([frames, num_frames], pooled, hidden_size, dropout, num_classes, "soft_bow")


@register("temporal_combinations", reads="frames")
def temporal_combinations(num_classes: int, *, max_frames: int = MAX_FRAMES, combinations: int = 3,
                          hidden_size: int = 512, dropout: float = 0.3) -> keras.Model:
    """`LinearCombinations`: `combinations` learned weightings of the time positions,
    shared by every feature dimension (padding zeroed first), flattened, then an MLP.
    Sees order by absolute position."""
    _check_common(max_frames, "hidden_size", hidden_size, dropout)
    require(combinations >= 1, "combinations", "must be at least 1")

    (frames, num_frames), x, mask = _frame_inputs(max_frames)
    x = x * mask[:, :, None]
    # Started at the mean over the padded length, so a fresh model pools like an average.
    weights = keras.layers.Dense(combinations, use_bias=False, name="time_weights",
                                 kernel_initializer=keras.initializers.RandomNormal(1.0 / max_frames, 0.1 / max_frames))
    combined = weights(tf.transpose(x, [0, 2, 1]))  # [batch, 1152, combinations]
    pooled = keras.layers.Flatten()(combined)
    return _head([frames, num_frames], pooled, hidden_size, dropout, num_classes, "temporal_combinations")


# ---------------------------------------------------------------------------------------
# Building blocks


def _check_common(max_frames: int, width_name: str, width: int, dropout: float) -> None:
    require(max_frames >= 1, "max_frames", "must be at least 1")
    require(width >= 1, width_name, "must be at least 1")
    require(0 <= dropout < 1, "dropout", "must be in [0, 1)")


def _frame_inputs(max_frames: int):
    """(inputs, dequantized frames float32 [b, T, 1152], mask float32 [b, T]: 1 on valid frames)."""
    frames = keras.Input(shape=(max_frames, FEATURE_SIZE), dtype="uint8", name=FRAMES_INPUT)
    num_frames = keras.Input(shape=(), dtype="int32", name=NUM_FRAMES_INPUT)
    values = tf.cast(frames, tf.float32) * DEQUANTIZE_SCALE + DEQUANTIZE_BIAS
    mask = tf.sequence_mask(num_frames, max_frames, dtype=tf.float32)
    return (frames, num_frames), values * mask[:, :, None], mask


def _masked_mean(x, mask):
    total = tf.reduce_sum(x * mask[:, :, None], axis=1)
    return total / tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)


def _masked_max(x, mask):
    return tf.reduce_max(x + (1.0 - mask[:, :, None]) * _MASKED_SCORE, axis=1)


def _attention_pool(x, mask, heads: int):
    """`heads` softmax-over-time weightings of the valid frames of x [b, T, d] → [b, heads·d]."""
    scores = keras.layers.Dense(heads)(x) + (1.0 - mask[:, :, None]) * _MASKED_SCORE
    weights = tf.nn.softmax(scores, axis=1)
    pooled = tf.einsum("bth,btd->bhd", weights, x)
    return keras.layers.Flatten()(pooled)


def _position_codes(max_frames: int, size: int) -> np.ndarray:
    """Sinusoidal position codes [1, T, size] (Vaswani et al.)."""
    positions = np.arange(max_frames)[:, None]
    rates = np.exp(-math.log(10000.0) * (np.arange(size) // 2 * 2) / size)[None, :]
    angles = positions * rates
    codes = np.where(np.arange(size) % 2 == 0, np.sin(angles), np.cos(angles))
    return codes[None].astype(np.float32)


def _head(inputs, pooled, hidden_size: int, dropout: float, num_classes: int, name: str) -> keras.Model:
    x = keras.layers.BatchNormalization()(pooled)
    x = keras.layers.Dense(hidden_size, activation="relu")(x)
    x = keras.layers.Dropout(dropout)(x)
    return keras.Model(inputs, class_logits(x, num_classes), name=name)
