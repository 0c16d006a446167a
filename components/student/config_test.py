"""The student's section of a profile: checked on load, unchanged through its JSON."""
import pytest

from common.errors import UserError
from components.student.config import StudentConfig


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
