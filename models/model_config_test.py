"""The typed model sections of a profile: checked on load, unchanged through their JSON."""
import pytest

from common.errors import UserError
from models.model_config import L1ModelConfig, StudentConfig


def test_l1_model_survives_its_json():
    config = L1ModelConfig.from_dict({"name": "mlp", "family": "mlp", "kwargs": {"hidden_size": 64},
                                      "training": {"max_epochs": 3}, "soft_label_weight": 0.5})
    assert L1ModelConfig.from_json(config.to_json()) == config
    assert (config.training.max_epochs, config.second_round, config.reads_frames) == (3, True, False)
    first_round = L1ModelConfig.from_dict({"name": "a", "family": "mlp"})
    assert L1ModelConfig.from_json(first_round.to_json()) == first_round and not first_round.second_round


def test_frame_level_model_knows_its_input_length():
    config = L1ModelConfig.from_dict({"name": "t", "family": "temporal_combinations", "kwargs": {"max_frames": 7}})
    assert config.reads_frames and config.frame_length == 7
    default = L1ModelConfig.from_dict({"name": "t", "family": "temporal_combinations"})
    assert default.frame_length == 300


@pytest.mark.parametrize("raw, message", [
    ({"name": "a", "family": "transformer9000"}, "unknown model family 'transformer9000'"),
    ({"name": "a", "family": "mlp", "module": "os.system"}, r"unknown keys \['module'\]"),
    ({"family": "mlp"}, "missing 'name'"),
    ({"name": "Bad-Name", "family": "mlp"}, "lower-case letters"),
    ({"name": "a", "family": "mlp", "kwargs": {"hidden": 3}}, "has no argument 'hidden'"),
    ({"name": "a", "family": "mlp", "kwargs": {"hidden_size": "big"}}, "'hidden_size' must be int"),
    ({"name": "a", "family": "mlp", "training": {"max_epochs": -3}}, "training: 'max_epochs' must be at least 1"),
    ({"name": "a", "family": "mlp", "soft_label_weight": 2}, "soft_label_weight must lie in"),
    ({"name": "a", "family": "soft_bow", "soft_label_weight": 0.5}, "soft labels are not supported"),
    ({"name": "a", "family": "soft_bow", "training": {"mixup_alpha": 0.2}}, "mixup is not supported"),
    ({"name": "a", "family": "mlp", "training": {"precision": "float16"}}, "'precision' must be one of auto"),
    ({"name": "a", "family": "soft_bow", "training": {"precision": "mixed_bfloat16"}}, "train in float32"),
])
def test_bad_l1_models_are_named(raw, message):
    with pytest.raises(UserError, match=message):
        L1ModelConfig.from_dict(raw, "l1_models[0]")


def test_student_options_default_to_unstandardized_float32_weights():
    student = StudentConfig.from_dict({"family": "mlp", "soft_label_weight": 0.3})
    assert (student.soft_label_weight, student.standardize, student.weights_dtype) == (0.3, False, "float32")
    assert StudentConfig.from_json(student.to_json()) == student


def test_members_get_their_own_seeds():
    student = StudentConfig.from_dict(
        {"members": [{"family": "mlp", "kwargs": {"hidden_size": 8}, "training": {"seed": 7}, "copies": 2},
                     {"family": "resnet_like", "kwargs": {"inner_size": 4}}], "weights_dtype": "float16"})
    assert [(network.family, network.recipe.seed) for network in student.networks()] == [
        ("mlp", 7), ("mlp", 8), ("resnet_like", 0)]
    assert StudentConfig.from_json(student.to_json()) == student


def test_a_single_network_student_is_one_member():
    student = StudentConfig.from_dict({"family": "mlp", "kwargs": {"hidden_size": 8}, "training": {"max_epochs": 3}})
    [network] = student.networks()
    assert (network.family, network.kwargs, network.recipe.max_epochs) == ("mlp", {"hidden_size": 8}, 3)


@pytest.mark.parametrize("raw, message", [
    ({"family": "mlp", "soft_label_weight": 1.5}, "soft_label_weight must lie in"),
    ({"family": "mlp", "standardize": "yes"}, "'standardize' must be bool"),
    ({"family": "mlp", "weights_dtype": "int8"}, "weights_dtype must be one of"),
    ({"family": "mlp", "temperature": 2}, "unknown keys"),
    ({"members": []}, "members must be a non-empty list"),
    ({"family": "mlp", "members": [{"family": "mlp"}]}, "either family/kwargs/training or members"),
    ({"members": [{"family": "mlp", "copies": 0}]}, r"members\[0\]: copies must be a positive integer"),
    ({"members": [{"family": "mlp"}, {"family": "soft_bow"}]}, r"members\[1\]: .*reads frames"),
    ({"members": [{"family": "mlp", "module": "os"}]}, r"members\[0\] must be a mapping with family"),
    ({"members": [{"family": "mlp", "training": {"batch_size": 0}}]}, r"members\[0\]: training: 'batch_size'"),
])
def test_bad_students_are_named(raw, message):
    with pytest.raises(UserError, match=message):
        StudentConfig.from_dict(raw)
