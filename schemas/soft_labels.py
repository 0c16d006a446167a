"""Soft-label features added to a video-level Example by SoftLabelIndexer.

`soft_label_ids` (int64) and `soft_label_values` (float): the stack's out-of-fold
probabilities on the video's candidate labels; every other class has soft label 0.
"""
import tensorflow as tf

SOFT_IDS_KEY = "soft_label_ids"
SOFT_VALUES_KEY = "soft_label_values"


def feature_spec() -> dict:
    return {SOFT_IDS_KEY: tf.io.VarLenFeature(tf.int64), SOFT_VALUES_KEY: tf.io.VarLenFeature(tf.float32)}
