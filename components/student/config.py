"""The student's section of a profile (`StudentConfig`): one network or several members.

pipeline/profile.py builds it when a profile loads, so every error in it is named before
the first component runs; StudentTransform, StudentTrainer and the Distiller receive it
as JSON (`to_json`) and parse it back with the same type (`from_json`).
"""
import dataclasses
import json
from typing import NamedTuple

from common.config_fields import scalar_fields
from common.errors import UserError
from models import registry
from models.model_config import WEIGHTS_DTYPES, check_family, check_weight
from models.training_recipe import TrainingRecipe

# The keys of one network: a single-network student's, and each member's.
NETWORK_KEYS = ("family", "kwargs", "training")


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
        check_family(member.family, member.kwargs, where)
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
        check_weight(options.get("soft_label_weight", 1.0), where)
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
