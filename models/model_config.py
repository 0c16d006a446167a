"""The typed model sections of a profile: an L1 model and the student.

pipeline/profile.py builds them when a profile loads, so every error in them is named
before the first component runs; L1Trainer and the Distiller receive them as JSON
(`to_json`) and parse them back with the same types (`from_json`).
"""
import dataclasses
import json
import re
from typing import NamedTuple

from common.config_fields import require, scalar_fields
from common.errors import UserError
from models import registry
from models.training_recipe import MIXED_BFLOAT16, TrainingRecipe

# Model names become task names on Kubeflow, which take few characters.
MODEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
# The keys of one network: a single-network student's, and each member's.
NETWORK_KEYS = ("family", "kwargs", "training")
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
            _check_weight(weight, where)
        require(values.get("top_classes", 0) >= 0, where, "top_classes must be a non-negative integer (0: every class)")
        config = cls(**values, kwargs=dict(raw.get("kwargs") or {}),
                     training=TrainingRecipe.from_dict(raw.get("training") or {}, f"{where}: training"),
                     soft_label_weight=None if weight is None else float(weight))
        _check_family(config.family, config.kwargs, where)
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


class Network(NamedTuple):
    """One network of the student, with the recipe (and seed) it trains with."""
    family: str
    kwargs: dict
    recipe: TrainingRecipe


@dataclasses.dataclass(frozen=True)
class StudentMember:
    """An entry of the student's `members`: a network trained `copies` times, copy i
    with seed `training.seed + i` (initialisation, shuffling, dropout)."""
    family: str
    kwargs: dict = dataclasses.field(default_factory=dict)
    training: TrainingRecipe = TrainingRecipe()
    copies: int = 1

    @classmethod
    def from_dict(cls, raw, where: str) -> "StudentMember":
        if not isinstance(raw, dict) or "family" not in raw or set(raw) - set(NETWORK_KEYS) - {"copies"}:
            raise UserError(f"{where} must be a mapping with family and optionally kwargs, training, copies")
        copies = raw.get("copies", 1)
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
            raise UserError(f"{where}: copies must be a positive integer, got {copies!r}")
        member = cls(family=raw["family"], kwargs=dict(raw.get("kwargs") or {}), copies=copies,
                     training=TrainingRecipe.from_dict(raw.get("training") or {}, f"{where}: training"))
        _check_family(member.family, member.kwargs, where)
        if registry.reads(member.family) != "features":
            raise UserError(f"{where}: the student serves raw video-level features; "
                            f"family '{member.family}' reads frames")
        return member


@dataclasses.dataclass(frozen=True)
class StudentConfig:
    """The student: one network (`family`, `kwargs`, `training`) or an ensemble of
    `members`, trained independently on the same targets and averaged in the exported
    graph (models.layers.averaged)."""
    members: tuple[StudentMember, ...]
    soft_label_weight: float = 1.0
    # Per-dimension z-scores of the features, statistics of the training videos. Off by
    # default: on the real shards it cost the quick student 0.005 held-out GAP (the
    # family's per-video L2 normalisation alone did better).
    standardize: bool = False
    weights_dtype: str = "float32"  # how the exported SavedModel stores its weights

    @classmethod
    def from_dict(cls, raw, where: str = "student") -> "StudentConfig":
        options = scalar_fields(cls, raw, where, extra_keys=NETWORK_KEYS)
        if "members" in raw:
            if set(raw) & set(NETWORK_KEYS):
                raise UserError(f"{where}: a student has either family/kwargs/training or members, not both")
            entries = raw["members"]
            if not isinstance(entries, list) or not entries:
                raise UserError(f"{where}: members must be a non-empty list of {{family, kwargs, training, copies}}")
            members = tuple(StudentMember.from_dict(entry, f"{where}: members[{index}]")
                            for index, entry in enumerate(entries))
        else:
            members = (StudentMember.from_dict({key: raw[key] for key in NETWORK_KEYS if key in raw}, where),)
        _check_weight(options.get("soft_label_weight", 1.0), where)
        if options.get("weights_dtype", "float32") not in WEIGHTS_DTYPES:
            raise UserError(f"{where}: weights_dtype must be one of {', '.join(WEIGHTS_DTYPES)}, "
                            f"got {options['weights_dtype']!r}")
        return cls(members=members, **options)

    @classmethod
    def from_json(cls, text: str) -> "StudentConfig":
        return cls.from_dict(json.loads(text))

    def to_json(self) -> str:
        raw = dataclasses.asdict(self)
        raw["members"] = list(raw["members"])
        return json.dumps(raw, sort_keys=True)

    def networks(self) -> list[Network]:
        """Every network to train, copies expanded, each with its own seed."""
        return [Network(member.family, member.kwargs,
                        dataclasses.replace(member.training, seed=member.training.seed + copy))
                for member in self.members for copy in range(member.copies)]


def _check_family(family: str, kwargs: dict, where: str) -> None:
    try:
        registry.check_arguments(family, kwargs)
    except UserError as error:
        raise UserError(f"{where}: {error}") from None


def _check_weight(weight, where: str) -> None:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= weight <= 1.0:
        raise UserError(f"{where}: soft_label_weight must lie in [0, 1], got {weight!r}")
