"""The deliverable's serving contract: serialized YouTube-8M Examples in, labels out.

The default signature parses `id`, `mean_rgb` and `mean_audio` from serialized
video-level `tf.train.Example`s, applies the student's tensorflow-transform graph
(models/preprocessing.py: the model input and, when the student is standardised, the
per-dimension z-scores from a full pass over its training videos), runs the model (its
per-example normalisation is part of the model) and returns `class_ids` and `scores` of
the top 20 classes, `probabilities` over every class, and the `video_id` of each input. Nothing outside the SavedModel is needed: a
plain TensorFlow process serves it.

The weights may be stored as float16 (`weights_dtype`) to halve the SavedModel against
the size budget; they are read back as float32, so compute stays float32 (CPUs have no
fast float16 matrix product). The cast on each call costs 8–14% of throughput at batch
256 (bench/serving_bench.py).
"""
import os

import tensorflow as tf
import tf_keras as keras
from google.protobuf.message import DecodeError
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2

from models import preprocessing
from models.model_config import WEIGHTS_DTYPES
from schemas import video_level
from common.errors import UserError

TOP_K = 20
SIGNATURE = "serving_default"
# The signature's input (a batch of serialized Examples) and outputs: what `y8m predict` checks.
SIGNATURE_INPUT = "examples"
SIGNATURE_OUTPUTS = ("class_ids", "probabilities", "scores", "video_id")
SAVED_MODEL_FILE = "saved_model.pb"


class _ServingModule(tf.Module):
    def __init__(self, model, transform_layer):
        super().__init__()
        self.model = model
        # An attribute, so that the transform graph is saved with (and inside) the module.
        self.transform = transform_layer

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=SIGNATURE_INPUT)])
    def serve(self, examples):
        spec = {key: value for key, value in video_level.feature_spec().items() if key != video_level.LABELS_KEY}
        parsed = tf.io.parse_example(examples, spec)
        features = self.transform({key: parsed[key] for key in preprocessing.RAW_KEYS})[preprocessing.FEATURES_KEY]
        probabilities = tf.sigmoid(self.model(features, training=False))
        # A small vocabulary may have fewer than 20 classes.
        scores, class_ids = tf.math.top_k(probabilities, k=min(TOP_K, probabilities.shape[-1]))
        return {"class_ids": tf.cast(class_ids, tf.int64), "scores": scores,
                "probabilities": probabilities, "video_id": parsed[video_level.ID_KEY]}


def export(model, export_dir: str, transform_dir: str, weights_dtype: str = "float32") -> None:
    """Writes the serving SavedModel of `model` (logits out) behind the transform graph in
    `transform_dir`, with its weights stored as `weights_dtype`."""
    module = _ServingModule(serving_copy(model, weights_dtype),
                            preprocessing.transform_layer(preprocessing.load(transform_dir)))
    tf.saved_model.save(module, export_dir, signatures={SIGNATURE: module.serve})


class _StoredWeightsPolicy(keras.mixed_precision.Policy):
    """Variables of a narrower float type, read as float32 for every computation: the
    reverse of Keras's mixed precision (which stores float32 and computes in float16).
    Keras wraps such variables in AutoCastVariables that cast on each read."""

    def __init__(self, weights_dtype: str):
        self._weights_dtype = weights_dtype
        super().__init__(f"float32_compute_{weights_dtype}_weights")

    def _parse_name(self, name):
        return "float32", self._weights_dtype

    def get_config(self):
        return {"weights_dtype": self._weights_dtype}


def serving_copy(model: keras.Model, weights_dtype: str) -> keras.Model:
    """A copy of a functional `model` that holds its weights only, stored as `weights_dtype`
    (rounded from the trained float32 values) and computing in float32. Exporting the
    trained model itself would save its optimizer state too (Adam's two slots per weight:
    three times the size). Batch norm keeps float32 parameters (Keras does so for float16
    layers): they are small."""
    if weights_dtype not in WEIGHTS_DTYPES:
        raise UserError(f"weights_dtype must be one of {', '.join(WEIGHTS_DTYPES)}, got {weights_dtype!r}")
    policy = "float32" if weights_dtype == "float32" else _StoredWeightsPolicy(weights_dtype)

    def clone_layer(layer):
        if isinstance(layer, keras.Model):  # a member of an averaged student (layers.averaged)
            return keras.models.clone_model(layer, clone_function=clone_layer)
        return layer.__class__.from_config({**layer.get_config(), "dtype": policy})

    twin = keras.models.clone_model(model, clone_function=clone_layer)
    twin.set_weights(model.get_weights())  # cast to each variable's dtype
    return twin


def predict_serialized(serving_fn, serialized: list[bytes]) -> dict:
    """Runs a loaded serving signature on a batch of serialized Examples; numpy outputs."""
    outputs = serving_fn(examples=tf.constant(serialized))
    return {key: value.numpy() for key, value in outputs.items()}


def load(export_dir: str):
    return tf.saved_model.load(export_dir).signatures[SIGNATURE]


def check_servable(export_dir: str) -> None:
    """Raises UserError unless `export_dir` holds a SavedModel with the serving signature:
    a look at its graph file, so that a wrong directory or a damaged file is named before
    any worker loads the model."""
    graph_path = os.path.join(export_dir, SAVED_MODEL_FILE)
    if not tf.io.gfile.exists(graph_path):
        versions = sorted(tf.io.gfile.glob(os.path.join(export_dir, "*", SAVED_MODEL_FILE)))
        hint = (f"did you mean {os.path.dirname(versions[-1])}?" if versions else
                "give a directory the Pusher wrote, e.g. OUTPUT/serving_model/<version>")
        raise UserError(f"{export_dir} holds no SavedModel ({SAVED_MODEL_FILE}); {hint}")
    with tf.io.gfile.GFile(graph_path, "rb") as source:
        try:
            saved_model = saved_model_pb2.SavedModel.FromString(source.read())
        except DecodeError:
            saved_model = saved_model_pb2.SavedModel()
    signature = next((graph.signature_def[SIGNATURE] for graph in saved_model.meta_graphs
                      if SIGNATURE in graph.signature_def), None)
    if signature is None:
        raise UserError(f"{graph_path} is not a SavedModel with a '{SIGNATURE}' signature (a damaged file, or "
                        "not a model `y8m run` pushed): copy or push the model again")
    inputs = {key: tensor.dtype for key, tensor in signature.inputs.items()}
    if inputs != {SIGNATURE_INPUT: types_pb2.DT_STRING} or sorted(signature.outputs) != list(SIGNATURE_OUTPUTS):
        raise UserError(f"{graph_path}: its '{SIGNATURE}' signature takes {sorted(inputs)} and returns "
                        f"{sorted(signature.outputs)}, not a pushed model's (serialized Examples "
                        f"'{SIGNATURE_INPUT}' in; {', '.join(SIGNATURE_OUTPUTS)} out): give a directory the "
                        "Pusher wrote, e.g. OUTPUT/serving_model/<version>")


def saved_model_bytes(export_dir: str) -> int:
    """The serialized SavedModel's size on disk (what the 1 GB rule counts)."""
    total = 0
    for directory, _, files in tf.io.gfile.walk(export_dir):
        total += sum(tf.io.gfile.stat(f"{directory}/{name}").length for name in files)
    return int(total)

