"""The typed L1 model section of a profile, and the checks every model section shares.

pipeline/profile.py builds it when a profile loads, so every error in it is named
before the first component runs; L1Trainer and L1Assembler receive it as JSON
(`to_json`) and parse it back with the same type (`from_json`). The student's section
is components/student/config.py.
"""
import dataclasses
import json
import re

from common.config_fields import require, scalar_fields
from common.errors import UserError
from models import registry
from models.training_recipe import MIXED_BFLOAT16, TrainingRecipe

# Model names become task names on Kubeflow, which take few characters.
MODEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
# How the exported SavedModel may store its weights (models/serving.py).
WEIGHTS_DTYPES = ("float32", "float16")


@dataclasses.dataclass(frozen=True)
class L1ModelConfig:
    """One L1 model: a registered family, its keyword arguments and training recipe."""
    name: str
    family: str
    kwargs: dict = dataclasses.field(default_factory=dict)
    training: TrainingRecipe = TrainingRecipe()
    # Set: a second-round model, trained on w·soft + (1 − w)·hard targets of the stack.
    soft_label_weight: float | None = None
    # Train on the K most frequent classes of the training folds only (0: every class).
    top_classes: int = 0

    @classmethod
    def from_dict(cls, raw, where: str = "l1 model") -> "L1ModelConfig":
        values = scalar_fields(cls, raw, where)
        for key in ("name", "family"):
            require(key in raw, where, f"missing '{key}'")
        require(MODEL_NAME.fullmatch(raw["name"]) is not None, where,
                f"name {raw['name']!r} must be lower-case letters, digits and '_'")
        weight = raw.get("soft_label_weight")
        if weight is not None:
            check_weight(weight, where)
        require(values.get("top_classes", 0) >= 0, where, "top_classes must be a non-negative integer (0: every class)")
        config = cls(**values, kwargs=dict(raw.get("kwargs") or {}),
                     training=TrainingRecipe.from_dict(raw.get("training") or {}, f"{where}: training"),
                     soft_label_weight=None if weight is None else float(weight))
        check_family(config.family, config.kwargs, where)
        if config.reads_frames and config.soft_label_weight is not None:
            raise UserError(f"{where}: soft labels are not supported for frame-level families")
        if config.reads_frames and config.training.mixup_alpha > 0:
            raise UserError(f"{where}: mixup is not supported for frame-level families")
        if config.reads_frames and config.training.precision == MIXED_BFLOAT16:
            raise UserError(f"{where}: frame-level families train in float32 (precision auto or float32)")
        return config

    @classmethod
    def from_json(cls, text: str) -> "L1ModelConfig":
        return cls.from_dict(json.loads(text))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @property
    def second_round(self) -> bool:
        return self.soft_label_weight is not None

    @property
    def reads_frames(self) -> bool:
        return registry.reads(self.family) == "frames"

    @property
    def frame_length(self) -> int:
        """The padded length of a frame-level model's input (its `max_frames`)."""
        return self.kwargs.get("max_frames", registry.keyword_default(self.family, "max_frames"))


def check_family(family: str, kwargs: dict, where: str) -> None:
    try:
        registry.check_arguments(family, kwargs)
    except UserError as error:
        raise UserError(f"{where}: {error}") from None


def check_weight(weight, where: str) -> None:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
        raise UserError(f"{where}: soft_label_weight must lie in [0, 1], got {weight!r}")
