"""Layers and blocks shared by the model families and by the student's ensemble graph."""
import math

import tensorflow as tf
import tf_keras as keras

from schemas.video_level import FEATURE_SIZE, RGB_SIZE

# About three labels per video (docs/method.md §1.1): the output bias starts at that prior, so
# that training does not spend its first epochs pushing 3862 logits down from zero.
LABELS_PER_VIDEO = 3.0


def class_logits(x, num_classes: int, use_bias: bool = True):
    prior = min(LABELS_PER_VIDEO / num_classes, 0.5)
    return keras.layers.Dense(num_classes, use_bias=use_bias, name="logits",
                              bias_initializer=keras.initializers.Constant(math.log(prior / (1 - prior))))(x)


class UnitNormalization(keras.layers.Layer):
    """Each row divided by its L2 norm, computed so that it cannot overflow: the row is first
    divided by its largest magnitude (the same direction), then normalised. Keras's own
    squares the raw values, whose sum passes float32's range from about 1e19 on, and
    turns such a row into zeros. A zero row stays zero."""

    def call(self, x):
        largest = tf.reduce_max(tf.abs(x), axis=-1, keepdims=True)
        return tf.math.l2_normalize(tf.math.divide_no_nan(x, largest), axis=-1)


def features_input(normalize: bool):
    """The model input and, when `normalize`, its L2-normalised version (else itself)."""
    features = keras.Input(shape=(FEATURE_SIZE,), dtype="float32", name="features")
    if not normalize:
        return features, features
    # float32 in every precision: bfloat16's 8-bit mantissa would round the sum of squares.
    return features, UnitNormalization(name="l2_normalize", dtype="float32")(features)


def split_rgb_audio(x):
    return x[:, :RGB_SIZE], x[:, RGB_SIZE:]


# The logit of a class outside a model's subset: probability ~1e-13, so it never ranks.
ABSENT_LOGIT = -30.0


class ExpandClasses(keras.layers.Layer):
    """Logits over a subset of the classes, spread over the whole vocabulary: the model
    predicts in the original class ids, and the classes outside the subset get ABSENT_LOGIT."""

    def __init__(self, class_ids, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.class_ids = [int(c) for c in class_ids]
        self.num_classes = num_classes
        positions = [len(self.class_ids)] * num_classes  # the filler column
        for position, class_id in enumerate(self.class_ids):
            positions[class_id] = position
        self.positions = tf.constant(positions, tf.int32)

    def call(self, logits):
        filler = tf.fill([tf.shape(logits)[0], 1], tf.constant(ABSENT_LOGIT, logits.dtype))
        return tf.gather(tf.concat([logits, filler], axis=1), self.positions, axis=1)

    def get_config(self):
        return {**super().get_config(), "class_ids": self.class_ids, "num_classes": self.num_classes}


class MeanProbabilityLogits(keras.layers.Layer):
    """Logits [b, C] of the mean probability of a list of member logits [b, C]:
    logit(mean σ(z)) = logsumexp log σ(z) − logsumexp log σ(−z) (the 1/members cancels),
    exact and finite where a direct log of the mean would underflow."""

    def call(self, member_logits):
        stacked = tf.stack(member_logits, axis=0)
        return (tf.reduce_logsumexp(tf.math.log_sigmoid(stacked), axis=0)
                - tf.reduce_logsumexp(tf.math.log_sigmoid(-stacked), axis=0))


def averaged(members: list[keras.Model], name: str = "averaged") -> keras.Model:
    """One video-level model whose probabilities are the mean of its members': an ensemble
    in one graph, sharing the members' layers (training a member trains it). A single
    member is returned as it is."""
    if len(members) == 1:
        return members[0]
    features = keras.Input(shape=(FEATURE_SIZE,), dtype="float32", name="features")
    # Each member gets its own name in the outer model; they share their layers.
    renamed = [keras.Model(member.inputs, member.outputs, name=f"{member.name}_{index}")
               for index, member in enumerate(members)]
    logits = MeanProbabilityLogits(name="mean_probability")([member(features) for member in renamed])
    return keras.Model(features, logits, name=name)
