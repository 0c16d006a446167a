"""The model's own normalisation: Keras's values on real-scale features, and no overflow."""
import numpy as np
import tf_keras as keras

from models import layers, video_zoo
from schemas.video_level import FEATURE_SIZE


def features(rows: int = 16) -> np.ndarray:
    """Features at the 2018 format's scale (dequantized bytes, within [-2, 2]), one zero row."""
    values = np.random.default_rng(0).uniform(-2, 2, (rows, FEATURE_SIZE)).astype(np.float32)
    values[0] = 0
    return values


def test_unit_normalization_equals_keras_on_real_scale_features():
    x = features()
    np.testing.assert_allclose(layers.UnitNormalization()(x).numpy(),
                               keras.layers.UnitNormalization(axis=-1)(x).numpy(), rtol=1e-6, atol=1e-7)


def test_huge_features_normalise_to_the_same_direction():
    x = features()
    for scale in (1e20, 1e30, 1e-30):
        np.testing.assert_allclose(layers.UnitNormalization()(x * np.float32(scale)).numpy(),
                                   layers.UnitNormalization()(x).numpy(), rtol=1e-5, atol=1e-7)
    assert not np.any(keras.layers.UnitNormalization(axis=-1)(x * np.float32(1e30)).numpy())  # what it replaces


def test_a_model_predicts_the_same_from_features_a_1e30_times_larger():
    model = video_zoo.mlp(7, hidden_size=8)
    x = features()[1:]
    np.testing.assert_allclose(model(x * np.float32(1e30)).numpy(), model(x).numpy(), rtol=1e-4, atol=1e-5)
