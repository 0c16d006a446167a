"""The training recipe's settings (a profile's `training` section), apart from the training
code (models/training.py) so that a profile is checked without importing TensorFlow."""
import dataclasses

from common.config_fields import require, scalar_fields

# A recipe's `precision` (models/precision.py says what each means and how `auto` decides).
FLOAT32, MIXED_BFLOAT16 = "float32", "mixed_bfloat16"
PRECISIONS = ("auto", FLOAT32, MIXED_BFLOAT16)


@dataclasses.dataclass(frozen=True)
class TrainingRecipe:
    batch_size: int = 512
    max_epochs: int = 20
    learning_rate: float = 1e-3
    lr_plateau_factor: float = 0.5
    lr_plateau_patience: int = 1
    early_stopping_patience: int = 3
    clipnorm: float = 10.0  # on the global gradient norm, as torch's clip_grad_norm_
    mixup_alpha: float = 0.0  # 0 = off
    seed: int = 0
    # Serialized training records held for shuffling (models/data.py): the bound of a
    # trainer's memory; about 5 kB each for video-level records, far more for frames.
    shuffle_buffer: int = 10000
    # float32, mixed_bfloat16 (bfloat16 products, float32 weights and loss), or auto:
    # bfloat16 where the CPU has bfloat16 matrix units (models/precision.py).
    precision: str = "auto"

    @classmethod
    def from_dict(cls, values, where: str = "training recipe") -> "TrainingRecipe":
        """A recipe from a config mapping; unknown keys, values of the wrong kind or out of
        range raise UserError naming `where`."""
        recipe = cls(**scalar_fields(cls, values, where))
        for name in ("batch_size", "max_epochs", "shuffle_buffer"):
            require(getattr(recipe, name) >= 1, where, f"'{name}' must be at least 1, got {getattr(recipe, name)}")
        for name in ("lr_plateau_patience", "early_stopping_patience", "mixup_alpha"):
            require(getattr(recipe, name) >= 0, where, f"'{name}' must not be negative, got {getattr(recipe, name)}")
        for name in ("learning_rate", "clipnorm"):
            require(getattr(recipe, name) > 0, where, f"'{name}' must be positive, got {getattr(recipe, name)}")
        require(0 < recipe.lr_plateau_factor < 1, where,
                f"'lr_plateau_factor' must lie in (0, 1), got {recipe.lr_plateau_factor}")
        require(recipe.precision in PRECISIONS, where,
                f"'precision' must be one of {', '.join(PRECISIONS)}, got {recipe.precision!r}")
        return recipe
