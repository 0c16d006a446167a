import pytest

from pipeline.profile import builtin_profiles, load_profile
from common.errors import UserError


def test_builtin_profiles_load():
    assert {"quick", "full"} <= set(builtin_profiles())
    for name in builtin_profiles():
        profile = load_profile(name)
        assert profile.l1_models and profile.student.networks()
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
    ("folds: 1\nl1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\n", "folds must lie in 2..20"),
    ("folds: 21\nl1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\n", "folds must lie in 2..20"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\nblessing: {min_gap_over_prior: 1}\n",
     "min_gap_over_prior must lie in \\[-1, 1\\)"),
    ("l1_models:\n  - {name: a, family: mlp, training: {max_epochs: -3}}\nstudent: {family: mlp}\n",
     r"l1_models\[0\]: training: 'max_epochs' must be at least 1"),
    ("l1_models:\n  - {name: a, family: mlp}\n  - {name: a, family: resnet_like}\nstudent: {family: mlp}\n",
     "names must be unique"),
    ("l1_models:\n  - {name: a, family: mlp, soft_label_weight: 0.5}\nstudent: {family: mlp}\n",
     "at least one L1 model without soft_label_weight"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\nblessing: {min_gap_ratio: yes}\n",
     "'min_gap_ratio' must be float"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\nstacker: {num_leaves: 1}\n",
     "stacker: 'num_leaves' must be at least 2"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\nstacker: {max_train_videos: 0}\n",
     "stacker: 'max_train_videos' must be at least 1"),
    ("l1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\nkubeflow: {resources: {Trainer: {cpu: 1}}}\n",
     r"kubeflow.resources: unknown keys \['Trainer'\]"),
    ("!!python/object/apply:os.system ['true']\n", "not valid YAML"),
])
def test_profile_errors_are_user_errors(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(UserError, match=message):
        load_profile(str(bad))


@pytest.mark.e2e  # every full-size model: about a minute
def test_full_profile_builds_every_model_and_runs_one_step():
    """Every model of the `full` profile, at its real size, builds and takes one step."""
    import numpy as np
    import tf_keras as keras

    from models import registry
    from schemas.video_level import FEATURE_SIZE, NUM_CLASSES
    profile = load_profile("full")
    assert len({model.family for model in profile.l1_models}) >= 8
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, FEATURE_SIZE)).astype(np.float32)
    targets = (rng.random((2, NUM_CLASSES)) < 0.01).astype(np.float32)
    for config in profile.l1_models:
        model = registry.build_model(config.family, NUM_CLASSES, **config.kwargs)
        model.compile(optimizer=keras.optimizers.SGD(), loss=keras.losses.BinaryCrossentropy(from_logits=True),
                      run_eagerly=True)
        assert np.isfinite(model.train_on_batch(features, targets))
        keras.backend.clear_session()


BAD_SECTIONS = {
    "stacker": "stacker:\n  feature_set: fancy\n",
    "student": "student:\n  family: mlp\n  weights_dtype: int4\n",
    "kubeflow": "kubeflow:\n  resources:\n    default: {cpu: -1}\n",
}


@pytest.mark.parametrize("section", sorted(BAD_SECTIONS))
@pytest.mark.parametrize("command", ["run", "compile"])
def test_a_bad_section_stops_run_and_compile_before_any_component(tmp_path, capsys, command, section):
    """The whole profile is checked on load: a bad stacker, student or Kubeflow setting
    fails the command at once, not after hours of L1 training."""
    import os
    import time

    import yaml

    from pipeline.profile import PROFILE_DIR
    from y8m import cli
    with open(f"{PROFILE_DIR}/quick.yaml") as source:
        raw = yaml.safe_load(source)
    raw.update(yaml.safe_load(BAD_SECTIONS[section]))
    profile = tmp_path / "bad.yaml"
    profile.write_text(yaml.safe_dump(raw))
    data = tmp_path / "data"
    data.mkdir()
    (data / "train0.tfrecord").write_bytes(b"")
    output = tmp_path / "out"
    common = ["--train", str(data / "train*.tfrecord"), "--test", str(data / "train*.tfrecord"),
              "--profile", str(profile)]
    arguments = {"run": ["run", "--output", str(output)],
                 "compile": ["compile", "--output", str(output / "p.yaml"), "--serving-model-dir", "/serving"]}
    started = time.monotonic()
    assert cli.main(arguments[command] + common) == 2
    assert time.monotonic() - started < 10
    message = capsys.readouterr().err.strip()
    assert message.startswith(f"y8m {command}: error: {profile}: {section}") and "\n" not in message
    # No pipeline root, no metadata, no package: `run` has made its output directory for its log
    # and the lock it holds while it runs.
    assert sorted(os.listdir(output)) == [".y8m-run.lock", "y8m.log"] if command == "run" else not output.exists()
