"""The student config's options and the size check before training."""
import pytest

from components.distiller import distill
from models import registry
from common.errors import UserError


def test_options_default_to_unstandardized_float32_weights():
    options = distill.StudentOptions.from_config({"family": "mlp", "soft_label_weight": 0.3})
    assert (options.soft_label_weight, options.standardize, options.weights_dtype) == (0.3, False, "float32")


@pytest.mark.parametrize("config, message", [
    ({"soft_label_weight": 1.5}, "soft_label_weight must lie in"),
    ({"standardize": "yes"}, "standardize must be true or false"),
    ({"weights_dtype": "int8"}, "weights_dtype must be one of"),
])
def test_bad_options_are_refused(config, message):
    with pytest.raises(UserError, match=message):
        distill.StudentOptions.from_config({"family": "mlp", **config})


def test_weights_over_the_budget_fail_before_training_unless_float16_fits():
    model = registry.build_model("mlp", 10, hidden_size=8)  # 9,314 parameters
    with pytest.raises(UserError, match="37,256 bytes as float32, over the budget of 20,000 bytes"):
        distill.check_weights_fit(model, "float32", 20_000)
    distill.check_weights_fit(model, "float16", 20_000)


def test_members_get_their_own_seeds_and_initialisations():
    config = {"members": [{"family": "mlp", "kwargs": {"hidden_size": 8}, "training": {"seed": 7}, "copies": 2},
                          {"family": "resnet_like", "kwargs": {"inner_size": 4}}]}
    members = distill.members_of(config)
    assert [(member.family, member.recipe.seed) for member in members] == [("mlp", 7), ("mlp", 8), ("resnet_like", 0)]
    first, second, third = distill.build_networks(config, 10)
    assert not (first.get_weights()[0] == second.get_weights()[0]).all()
    assert third.name == "resnet_like"


def test_a_single_network_student_is_one_member():
    config = {"family": "mlp", "kwargs": {"hidden_size": 8}, "training": {"max_epochs": 3}, "soft_label_weight": 0.3}
    [member] = distill.members_of(config)
    assert (member.family, member.kwargs, member.recipe.max_epochs) == ("mlp", {"hidden_size": 8}, 3)
