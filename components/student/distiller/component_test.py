"""The Distiller takes each of the student's trained networks once, in index order."""
import re

import pytest

import y8m_types
from common.errors import InvalidInputError
from components import artifact_properties
from components.student.distiller.component import networks_in_order


def trained_network(index: int):
    artifact = y8m_types.StudentNetwork()
    artifact.set_int_custom_property(artifact_properties.NETWORK_INDEX, index)
    return artifact


def test_networks_in_index_order_whatever_the_input_order():
    ordered = networks_in_order([trained_network(2), trained_network(0), trained_network(1)], 3)
    assert [a.get_int_custom_property(artifact_properties.NETWORK_INDEX) for a in ordered] == [0, 1, 2]


@pytest.mark.parametrize("indices", [[0, 1, 1], [0, 2], [0]])
def test_a_network_missing_or_twice_is_refused(indices):
    with pytest.raises(InvalidInputError, match=re.escape(f"indices are {sorted(indices)}")):
        networks_in_order([trained_network(index) for index in indices], 2)
