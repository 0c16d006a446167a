"""The stacker section of a profile: LightGBM's settings, typed and checked when the
profile loads (pipeline/profile.py) and parsed back by LGBMStacker from its JSON."""
import dataclasses
import json

from common.config_fields import require, scalar_fields

# The L2 tables (components/l2_features.py); here, so that a profile is
# checked without importing TensorFlow.
FEATURE_SETS = ("original", "extended")


@dataclasses.dataclass(frozen=True)
class StackerSettings:
    feature_set: str = "extended"
    n_estimators: int = 3000
    learning_rate: float = 0.01
    num_leaves: int = 31
    min_child_samples: int = 20
    early_stopping_rounds: int = 30
    n_jobs: int = 0  # 0: LightGBM's default, every core
    seed: int = 0
    # The fold videos whose rows train the boosters: a sample of at most this many, drawn
    # by id (components/lgbm_stacker/stacker.py); the default takes every video of a run
    # of up to a million labelled videos. Every video is still scored.
    max_train_videos: int = 1_000_000
    # Videos read, featurized and scored at a time (the memory of streaming a split).
    chunk_videos: int = 10_000

    @classmethod
    def from_dict(cls, raw, where: str = "stacker") -> "StackerSettings":
        settings = cls(**scalar_fields(cls, raw, where))
        require(settings.feature_set in FEATURE_SETS, where,
                f"feature_set must be one of {', '.join(FEATURE_SETS)}, got {settings.feature_set!r}")
        for name in ("n_estimators", "early_stopping_rounds", "min_child_samples", "max_train_videos",
                     "chunk_videos"):
            require(getattr(settings, name) >= 1, where, f"'{name}' must be at least 1, got {getattr(settings, name)}")
        require(settings.num_leaves >= 2, where, f"'num_leaves' must be at least 2, got {settings.num_leaves}")
        require(settings.learning_rate > 0, where, f"'learning_rate' must be positive, got {settings.learning_rate}")
        require(settings.n_jobs >= 0, where, f"'n_jobs' must not be negative, got {settings.n_jobs}")
        return settings

    @classmethod
    def from_json(cls, text: str) -> "StackerSettings":
        return cls.from_dict(json.loads(text or "{}"))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)
