"""The typed L1 model section of a profile: checked on load, unchanged through its JSON."""
import pytest

from common.errors import UserError
from models.model_config import L1ModelConfig


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
