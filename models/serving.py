"""The deliverable's serving contract: serialized YouTube-8M Examples in, labels out.

The default signature parses `mean_rgb` and `mean_audio` from serialized video-level
`tf.train.Example`s, runs the model (its preprocessing is part of the graph) and returns
`class_ids` and `scores` of the top 20 classes, `probabilities` over every class, and
the `video_id` of each input.
"""
import tensorflow as tf

from schemas import video_level

TOP_K = 20
SIGNATURE = "serving_default"


class _ServingModule(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve(self, examples):
        spec = {key: value for key, value in video_level.feature_spec().items() if key != video_level.LABELS_KEY}
        parsed = tf.io.parse_example(examples, spec)
        features = tf.concat([parsed[video_level.RGB_KEY], parsed[video_level.AUDIO_KEY]], axis=1)
        probabilities = tf.sigmoid(self.model(features, training=False))
        # A small vocabulary may have fewer than 20 classes.
        scores, class_ids = tf.math.top_k(probabilities, k=min(TOP_K, probabilities.shape[-1]))
        return {"class_ids": tf.cast(class_ids, tf.int64), "scores": scores,
                "probabilities": probabilities, "video_id": parsed[video_level.ID_KEY]}


def export(model, export_dir: str) -> None:
    module = _ServingModule(model)
    tf.saved_model.save(module, export_dir, signatures={SIGNATURE: module.serve})


def predict_serialized(serving_fn, serialized: list[bytes]) -> dict:
    """Runs a loaded serving signature on a batch of serialized Examples; numpy outputs."""
    outputs = serving_fn(examples=tf.constant(serialized))
    return {key: value.numpy() for key, value in outputs.items()}


def load(export_dir: str):
    return tf.saved_model.load(export_dir).signatures[SIGNATURE]


def saved_model_bytes(export_dir: str) -> int:
    """The serialized SavedModel's size on disk (what the 1 GB rule counts)."""
    total = 0
    for directory, _, files in tf.io.gfile.walk(export_dir):
        total += sum(tf.io.gfile.stat(f"{directory}/{name}").length for name in files)
    return int(total)

