import pytest

from pipeline.profile import builtin_profiles, load_profile
from y8m.errors import UserError


def test_builtin_profiles_load():
    assert {"quick", "full"} <= set(builtin_profiles())
    for name in builtin_profiles():
        profile = load_profile(name)
        assert profile.l1_models and profile.student["family"]


def test_profile_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="unknown profile"):
        load_profile("nonexistent")
    bad = tmp_path / "bad.yaml"
    bad.write_text("l1_models:\n  - {name: a, family: transformer9000}\nstudent: {family: mlp}\n")
    with pytest.raises(UserError, match="unknown model family 'transformer9000'"):
        load_profile(str(bad))
    bad.write_text("l1_models:\n  - {name: a, family: mlp, module: os.system}\nstudent: {family: mlp}\n")
    with pytest.raises(UserError, match="unknown keys"):
        load_profile(str(bad))
    bad.write_text("folds: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_profile(str(bad))
