"""The student's networks, the size check before training, and the Distiller taking each
trained network once, in index order."""
import re

import pytest

import y8m_types
from common.errors import InvalidInputError, UserError
from components import artifact_properties
from components.student import distill
from components.student.config import StudentConfig
from models import registry


def test_weights_over_the_budget_fail_before_training_unless_float16_fits():
    model = registry.build_model("mlp", 10, hidden_size=8)  # 9,314 parameters
    with pytest.raises(UserError, match="37,256 bytes as float32, over the budget of 20,000 bytes"):
        distill.check_weights_fit(model, "float32", 20_000)
    distill.check_weights_fit(model, "float16", 20_000)


def test_members_get_their_own_initialisations():
    config = StudentConfig.from_dict(
        {"members": [{"family": "mlp", "kwargs": {"hidden_size": 8}, "training": {"seed": 7}, "copies": 2},
                     {"family": "resnet_like", "kwargs": {"inner_size": 4}}]})
    first, second, third = distill.build_networks(config, 10)
    assert not (first.get_weights()[0] == second.get_weights()[0]).all()
    assert third.name == "resnet_like"


def test_a_network_built_alone_is_the_one_built_among_the_others_and_its_weights_travel(tmp_path):
    """A StudentTrainer task builds one network, the Distiller all of them: each network's
    initialisation follows its own seed, and its trained weights load into the Distiller's."""
    import numpy as np
    import tf_keras
    config = StudentConfig.from_dict(
        {"members": [{"family": "mlp", "kwargs": {"hidden_size": 8}, "training": {"seed": 7}, "copies": 2}]})
    alone = distill.build_network(config, 1, 10)
    tf_keras.backend.clear_session()
    _, among_others = distill.build_networks(config, 10)
    for built_alone, built_among in zip(alone.get_weights(), among_others.get_weights()):
        np.testing.assert_array_equal(built_alone, built_among)
    alone.set_weights([weights + 1.0 for weights in alone.get_weights()])  # as if trained
    distill.save_network(alone, str(tmp_path))
    distill.load_network(among_others, str(tmp_path))
    for trained, loaded in zip(alone.get_weights(), among_others.get_weights()):
        np.testing.assert_array_equal(trained, loaded)


def trained_network(index: int):
    artifact = y8m_types.StudentNetwork()
    artifact.set_int_custom_property(artifact_properties.NETWORK_INDEX, index)
    return artifact


def test_networks_in_index_order_whatever_the_input_order():
    ordered = distill.networks_in_order([trained_network(2), trained_network(0), trained_network(1)], 3)
    assert [a.get_int_custom_property(artifact_properties.NETWORK_INDEX) for a in ordered] == [0, 1, 2]


@pytest.mark.parametrize("indices", [[0, 1, 1], [0, 2], [0]])
def test_a_network_missing_or_twice_is_refused(indices):
    with pytest.raises(InvalidInputError, match=re.escape(f"indices are {sorted(indices)}")):
        distill.networks_in_order([trained_network(index) for index in indices], 2)
