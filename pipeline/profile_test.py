import pytest

from components.distiller.distill import members_of
from pipeline.profile import builtin_profiles, load_profile
from common.errors import UserError


def test_builtin_profiles_load():
    assert {"quick", "full"} <= set(builtin_profiles())
    for name in builtin_profiles():
        profile = load_profile(name)
        assert profile.l1_models and members_of(profile.student)
        assert profile.name == name  # the compiled pipeline's header and the run log name it


def test_unknown_profile_is_a_user_error():
    with pytest.raises(UserError, match="unknown profile"):
        load_profile("nonexistent")


@pytest.mark.parametrize("text, message", [
    ("l1_models:\n  - {name: a, family: transformer9000}\nstudent: {family: mlp}\n",
     "unknown model family 'transformer9000'"),
    ("l1_models:\n  - {name: a, family: mlp, module: os.system}\nstudent: {family: mlp}\n", "unknown keys"),
    ("folds: [unclosed\n", "not valid YAML"),
    ("l1_models:\n  - {name: Bad-Name, family: mlp}\nstudent: {family: mlp}\n", "lower-case letters"),
    ("top_classes: -5\nl1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\n", "top_classes"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {family: frame_transformer}\n", "reads frames"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp, weights_dtype: int4}\n",
     "student: weights_dtype must be one of"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {members: []}\n", "members must be a non-empty list"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp, members: [{family: mlp}]}\n",
     "either family/kwargs/training or members"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {members: [{family: mlp, copies: 0}]}\n",
     r"members\[0\]: copies must be a positive integer"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {members: [{family: mlp}, {family: soft_bow}]}\n",
     "reads frames"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {members: [{family: mlp, module: os}]}\n",
     "members\\[0\\] must be a mapping with family"),
])
def test_profile_errors_are_user_errors(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(UserError, match=message):
        load_profile(str(bad))


def test_full_profile_builds_every_model_and_runs_one_step():
    """Every model of the `full` profile, at its real size, builds and takes one step."""
    import numpy as np
    import tf_keras as keras

    from models import registry
    from schemas.video_level import FEATURE_SIZE, NUM_CLASSES
    profile = load_profile("full")
    assert len({model["family"] for model in profile.l1_models}) >= 8
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, FEATURE_SIZE)).astype(np.float32)
    targets = (rng.random((2, NUM_CLASSES)) < 0.01).astype(np.float32)
    for config in profile.l1_models:
        model = registry.build_model(config["family"], NUM_CLASSES, **config.get("kwargs", {}))
        model.compile(optimizer=keras.optimizers.SGD(), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                      run_eagerly=True)
        assert np.isfinite(model.train_on_batch(features, targets))
        keras.backend.clear_session()
