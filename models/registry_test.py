"""The registry's view of the families read from source equals the registered builders'."""
import inspect

import pytest

from common.errors import UserError
from models import registry


def test_signatures_read_from_source_are_the_registered_builders():
    builders = registry._registered()  # pylint: disable=protected-access
    assert sorted(builders) == registry.families()
    for family, build in builders.items():
        keywords = {name: parameter.annotation for name, parameter in inspect.signature(build).parameters.items()
                    if parameter.kind is inspect.Parameter.KEYWORD_ONLY}
        assert registry.signatures()[family] == (registry._READS[family], keywords), family  # pylint: disable=protected-access


def test_arguments_are_checked_by_their_annotated_type():
    registry.check_arguments("mlp", {"hidden_size": 8, "dropout": 0, "normalize": False})
    with pytest.raises(UserError, match="argument 'dropout' must be float, got 'high'"):
        registry.check_arguments("mlp", {"dropout": "high"})
    with pytest.raises(UserError, match="argument 'hidden_size' must be int, got True"):
        registry.check_arguments("mlp", {"hidden_size": True})
    with pytest.raises(UserError, match="has no argument 'width'"):
        registry.check_arguments("mlp", {"width": 8})
