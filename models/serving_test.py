"""The serving SavedModel: TFT transform inside, raw serialized Examples in, float16 weights."""
import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import expit

from models import layers, preprocessing, registry, serving
from pipeline.beam_options import beam_args
from schemas import video_level
from common.errors import UserError

VIDEOS = 300
CLASSES = 3862  # the real output layer, so that weights dominate the SavedModel's size


def _records(rng) -> tuple[list[bytes], np.ndarray]:
    # Per-dimension offsets and scales far from 0 and 1, so that standardising shows.
    features = (rng.normal(size=(VIDEOS, video_level.FEATURE_SIZE)) * rng.uniform(0.1, 3.0, video_level.FEATURE_SIZE)
                + rng.uniform(-1.0, 1.0, video_level.FEATURE_SIZE)).astype(np.float32)
    records = [video_level.make_example(f"v{i:03d}", [i % 7], row[:video_level.RGB_SIZE],
                                        row[video_level.RGB_SIZE:]).SerializeToString()
               for i, row in enumerate(features)]
    return records, features


def transform_features(layer, raw_features: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The transformed model input of raw `[mean_rgb; mean_audio]` rows, as the trainer sees it."""
    parts = [layer(preprocessing.split_raw(tf.constant(raw_features[start:start + batch_size])))[
        preprocessing.FEATURES_KEY].numpy() for start in range(0, len(raw_features), batch_size)]
    return np.concatenate(parts)


def _analysed(tmp_path, records, standardize: bool) -> str:
    path = str(tmp_path / "videos.tfrecord.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for record in records:
            writer.write(record)
    transform_dir = str(tmp_path / "transform")
    with beam.Pipeline(argv=beam_args("local")) as pipeline:
        preprocessing.analyze(pipeline, path, transform_dir, standardize, str(tmp_path / "tmp"))
    return transform_dir


@pytest.fixture(scope="module")
def videos():
    return _records(np.random.default_rng(0))


@pytest.fixture(scope="module")
def standardized(tmp_path_factory, videos):
    return _analysed(tmp_path_factory.mktemp("standardized"), videos[0], standardize=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, standardized):
    """One small student exported twice: float32 and float16 weights."""
    model = registry.build_model("mlp", CLASSES, hidden_size=128)
    root = tmp_path_factory.mktemp("exports")
    dirs = {dtype: str(root / dtype) for dtype in serving.WEIGHTS_DTYPES}
    for dtype, export_dir in dirs.items():
        serving.export(model, export_dir, standardized, dtype)
    return model, dirs


def test_transform_standardizes_each_dimension_over_the_analysed_videos(videos, standardized):
    _, features = videos
    layer = preprocessing.transform_layer(preprocessing.load(standardized))
    transformed = transform_features(layer, features, batch_size=128)
    expected = (features - features.mean(axis=0)) / features.std(axis=0)
    np.testing.assert_allclose(transformed, expected, atol=1e-4)


def test_without_standardize_the_transform_only_assembles_the_features(tmp_path, videos):
    records, features = videos
    layer = preprocessing.transform_layer(preprocessing.load(_analysed(tmp_path, records[:10], standardize=False)))
    np.testing.assert_array_equal(transform_features(layer, features[:10]), features[:10])


def test_served_outputs_are_the_model_on_transformed_raw_examples(videos, standardized, exported):
    records, features = videos
    model, dirs = exported
    outputs = serving.predict_serialized(serving.load(dirs["float32"]), records[:50])
    layer = preprocessing.transform_layer(preprocessing.load(standardized))
    expected = expit(model.predict(transform_features(layer, features[:50]), verbose=0))
    np.testing.assert_allclose(outputs["probabilities"], expected, rtol=1e-4, atol=1e-6)
    assert [video_id.decode() for video_id in outputs["video_id"]] == [f"v{i:03d}" for i in range(50)]
    assert outputs["class_ids"].shape == outputs["scores"].shape == (50, serving.TOP_K)
    np.testing.assert_array_equal(outputs["class_ids"][:, 0], expected.argmax(axis=1))


def test_float16_weights_halve_the_savedmodel_and_keep_the_probabilities(videos, exported):
    records, _ = videos
    _, dirs = exported
    sizes = {dtype: serving.saved_model_bytes(export_dir) for dtype, export_dir in dirs.items()}
    assert 0.45 < sizes["float16"] / sizes["float32"] < 0.6, sizes
    outputs = {dtype: serving.predict_serialized(serving.load(export_dir), records[:50])
               for dtype, export_dir in dirs.items()}
    assert outputs["float16"]["probabilities"].dtype == np.float32  # computed in float32
    np.testing.assert_allclose(outputs["float16"]["probabilities"], outputs["float32"]["probabilities"],
                               atol=2e-3)


def test_unknown_weights_dtype_is_refused():
    with pytest.raises(UserError, match="weights_dtype must be one of"):
        serving.serving_copy(registry.build_model("mlp", 5, hidden_size=4), "int8")


def test_a_trained_model_is_exported_without_its_optimizer_state(tmp_path, standardized):
    model = registry.build_model("mlp", CLASSES, hidden_size=16)
    fresh_dir, trained_dir = str(tmp_path / "fresh"), str(tmp_path / "trained")
    serving.export(model, fresh_dir, standardized)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(np.zeros((2, video_level.FEATURE_SIZE), np.float32), np.zeros((2, CLASSES), np.float32), verbose=0)
    serving.export(model, trained_dir, standardized)
    assert serving.saved_model_bytes(trained_dir) < 1.05 * serving.saved_model_bytes(fresh_dir)


def test_an_averaged_student_serves_its_members_mean_probability_with_float16_weights(tmp_path, videos,
                                                                                      standardized):
    records, features = videos
    members = [registry.build_model("mlp", 50, hidden_size=16) for _ in range(3)]
    export_dir = str(tmp_path / "averaged")
    serving.export(layers.averaged(members), export_dir, standardized, "float16")
    outputs = serving.predict_serialized(serving.load(export_dir), records[:20])
    inputs = transform_features(preprocessing.transform_layer(preprocessing.load(standardized)), features[:20])
    expected = np.mean([expit(member.predict(inputs, verbose=0)) for member in members], axis=0)
    np.testing.assert_allclose(outputs["probabilities"], expected, atol=2e-3)


def test_a_mixed_precision_model_exports_the_float32_signature_and_serves(tmp_path, videos, standardized):
    records, features = videos
    model = registry.build_model("resnet_like", 50, precision="mixed_bfloat16", inner_size=16)
    export_dir = str(tmp_path / "mixed")
    serving.export(model, export_dir, standardized)
    serving_fn = serving.load(export_dir)
    assert {key: spec.dtype for key, spec in serving_fn.structured_input_signature[1].items()} == {
        "examples": tf.string}
    assert {key: spec.dtype for key, spec in serving_fn.structured_outputs.items()} == {
        "class_ids": tf.int64, "scores": tf.float32, "probabilities": tf.float32, "video_id": tf.string}
    outputs = serving.predict_serialized(serving_fn, records[:20])
    inputs = transform_features(preprocessing.transform_layer(preprocessing.load(standardized)), features[:20])
    float32_twin = serving.serving_copy(model, "float32")
    assert {layer.compute_dtype for layer in float32_twin.layers} == {"float32"}
    np.testing.assert_allclose(outputs["probabilities"], expit(float32_twin.predict(inputs, verbose=0)),
                               rtol=1e-4, atol=1e-6)
    # The trained (bfloat16) model's own scores, to bfloat16's precision.
    np.testing.assert_allclose(outputs["probabilities"], expit(model.predict(inputs, verbose=0)), atol=0.02)
