import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from models import layers, registry
from schemas.video_level import FEATURE_SIZE
from common.errors import UserError

NUM_CLASSES = 20

# Every registered family must appear here, so a new family gets exercised too.
TINY_KWARGS = {
    "mlp": {"hidden_size": 16, "batch_norm": True},
    "resnet_like": {"inner_size": 8, "av_id_block_num": 1, "concat_id_block_num": 1,
                    "context_gating": True, "video_part": 3, "audio_part": 1},
    "gated_mlp": {"hidden_size": 8},
    "moe": {"num_mixtures": 2},
    "ensemble_student": {"width_scale": 1 / 256},
    "bottle_fcn": {"width": 16, "layers_count": 2},
    "cyclic_fcn": {"hidden_size": 8, "length": 2},
    "early_concat_fcn": {"hidden_size": 8, "num_layers": 2},
    "repeated_gru": {"hidden_size": 8, "repeats": 3},
}


def random_batch(rng, size=8):
    features = rng.normal(size=(size, FEATURE_SIZE)).astype(np.float32)
    targets = (rng.uniform(size=(size, NUM_CLASSES)) < 0.2).astype(np.float32)
    return features, targets


def test_every_family_has_tiny_kwargs():
    assert sorted(TINY_KWARGS) == [f for f in registry.families() if registry.reads(f) == "features"]


@pytest.mark.parametrize("family", sorted(TINY_KWARGS))
def test_family_trains_one_step_and_predicts_logits(family):
    rng = np.random.default_rng(0)
    model = registry.build_model(family, NUM_CLASSES, **TINY_KWARGS[family])
    assert model.input_names == ["features"]
    # Eager: tracing the train step of the ~100-layer student alone would take seconds.
    model.compile(optimizer=keras.optimizers.Adam(jit_compile=False), run_eagerly=True,
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    features, targets = random_batch(rng)
    loss = model.train_on_batch(features, targets)
    logits = model.predict(features, verbose=0)
    assert np.isfinite(loss)
    assert logits.shape == (8, NUM_CLASSES)
    assert np.isfinite(logits).all()


def test_normalize_makes_the_model_invariant_to_input_scale():
    rng = np.random.default_rng(1)
    features, _ = random_batch(rng)
    normalized = registry.build_model("mlp", NUM_CLASSES, hidden_size=16)
    np.testing.assert_allclose(normalized.predict(3.0 * features, verbose=0),
                               normalized.predict(features, verbose=0), rtol=1e-4, atol=1e-5)
    raw = registry.build_model("mlp", NUM_CLASSES, hidden_size=16, normalize=False)
    assert not np.allclose(raw.predict(3.0 * features, verbose=0),
                           raw.predict(features, verbose=0), atol=1e-3)


def test_unknown_family_lists_the_registered_ones():
    with pytest.raises(UserError, match="unknown model family 'transformer'.*mlp.*resnet_like"):
        registry.build_model("transformer", NUM_CLASSES)


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_sise": 16}, "'mlp' has no argument 'hidden_sise'"),
    ({"hidden_size": "big"}, "'mlp': argument 'hidden_size' must be int"),
    ({"dropout": 1.5}, r"'mlp': argument 'dropout' must be in \[0, 1\)"),
    ({"batch_norm": 1}, "'mlp': argument 'batch_norm' must be bool"),
])
def test_bad_arguments_name_family_and_argument(kwargs, message):
    with pytest.raises(UserError, match=message):
        registry.build_model("mlp", NUM_CLASSES, **kwargs)


def test_ensemble_student_at_full_width_has_the_original_parameter_count():
    # A graph-mode build creates the variables without initialising 247M weights.
    with tf.Graph().as_default():
        model = registry.build_model("ensemble_student", 3862, width_scale=1.0, output_bias=False)
        trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
        batch_norm_statistics = sum(int(np.prod(weight.shape))
                                    for weight in model.non_trainable_weights)
    assert trainable == 247_138_432
    assert batch_norm_statistics == 95_456


def test_bottle_fcn_narrows_then_widens_back():
    model = registry.build_model("bottle_fcn", NUM_CLASSES, width=64, layers_count=3)
    widths = [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert widths == [64, 32, 16, 8, 16, 32, 64, NUM_CLASSES]


def test_cyclic_fcn_shares_one_layer():
    model = registry.build_model("cyclic_fcn", NUM_CLASSES, hidden_size=8, length=4)
    assert sum(isinstance(layer, keras.layers.Dense) for layer in model.layers) == 3


def test_mean_probability_logits_are_the_logit_of_the_members_mean_probability():
    logits = [tf.constant([[-40.0, 0.0, 3.0]]), tf.constant([[-30.0, 2.0, 50.0]])]
    mean = (tf.sigmoid(logits[0]) + tf.sigmoid(logits[1])) / 2
    combined = layers.MeanProbabilityLogits()(logits)
    np.testing.assert_allclose(tf.sigmoid(combined).numpy(), mean.numpy(), rtol=1e-5)
    assert np.isfinite(combined.numpy()).all()  # where log(mean) would underflow or saturate


def test_averaged_members_train_through_their_own_models():
    rng = np.random.default_rng(0)
    features, _ = random_batch(rng)
    members = [registry.build_model("mlp", NUM_CLASSES, hidden_size=8) for _ in range(2)]
    assert layers.averaged(members[:1]) is members[0]
    ensemble = layers.averaged(members)
    assert ensemble.count_params() == sum(member.count_params() for member in members)
    members[1].layers[-1].bias.assign(members[1].layers[-1].bias + 1.0)  # a member changes: so does the ensemble
    expected = np.mean([tf.sigmoid(member(features)).numpy() for member in members], axis=0)
    np.testing.assert_allclose(tf.sigmoid(ensemble(features)).numpy(), expected, rtol=1e-5)
