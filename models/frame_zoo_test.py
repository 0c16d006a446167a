"""Frame-level families: one training step each, and padding that changes nothing."""
import numpy as np
import pytest
import tf_keras as keras

from models import registry
from schemas.video_level import FEATURE_SIZE

NUM_CLASSES = 12
MAX_FRAMES = 6

# Every frame-level family must appear here.
TINY_KWARGS = {
    "attention_pooling": {"hidden_size": 8, "heads": 2},
    "bigru_attention": {"hidden_size": 4, "heads": 2},
    "frame_transformer": {"model_size": 8, "heads": 2, "inner_size": 8},
    "soft_bow": {"clusters": 4, "hidden_size": 8},
    "temporal_combinations": {"combinations": 2, "hidden_size": 8},
}


def batch(rng, size=5):
    frames = rng.integers(0, 256, (size, MAX_FRAMES, FEATURE_SIZE), dtype=np.uint8)
    num_frames = rng.integers(1, MAX_FRAMES + 1, size).astype(np.int32)
    frames[np.arange(MAX_FRAMES)[None, :] >= num_frames[:, None]] = 0  # zero padding, as stored
    return {"frames": frames, "num_frames": num_frames}


def test_every_frame_family_has_tiny_kwargs():
    assert sorted(TINY_KWARGS) == [f for f in registry.families() if registry.reads(f) == "frames"]
    assert registry.reads("mlp") == "features"


@pytest.mark.parametrize("family", sorted(TINY_KWARGS))
def test_family_trains_and_ignores_padding(family):
    rng = np.random.default_rng(0)
    model = registry.build_model(family, NUM_CLASSES, max_frames=MAX_FRAMES, **TINY_KWARGS[family])
    assert sorted(model.input_names) == ["frames", "num_frames"]
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    inputs = batch(rng)
    targets = (rng.uniform(size=(5, NUM_CLASSES)) < 0.3).astype(np.float32)
    assert np.isfinite(model.train_on_batch(inputs, targets))
    logits = model.predict(inputs, verbose=0)
    assert logits.shape == (5, NUM_CLASSES) and np.isfinite(logits).all()
    # Whatever lies beyond a video's frames must not change its scores.
    noisy = {"frames": inputs["frames"].copy(), "num_frames": inputs["num_frames"]}
    padding = np.arange(MAX_FRAMES)[None, :] >= inputs["num_frames"][:, None]
    noisy["frames"][padding] = rng.integers(0, 256, (padding.sum(), FEATURE_SIZE), dtype=np.uint8)
    np.testing.assert_allclose(model.predict(noisy, verbose=0), logits, rtol=1e-4, atol=1e-4)


def test_bad_frame_arguments_are_user_errors():
    from common.errors import UserError
    with pytest.raises(UserError, match="'frame_transformer': argument 'heads' must be at least 1 and divide"):
        registry.build_model("frame_transformer", NUM_CLASSES, model_size=10, heads=3)
