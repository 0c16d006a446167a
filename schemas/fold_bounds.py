"""The bounds of the fold settings (a profile's `folds` and `holdout_fraction`), apart from
the fold contract (schemas/splits.py) so that a profile is checked without importing
TensorFlow.

Folds lie in 2..MAX_FOLDS. Each fold is a training of every L1 model (a task each on
Kubeflow) on (K − 1)/K of the labelled videos: the recipe uses 5; 20 already trains each
model on 95% of them, and every fold beyond adds a whole training of every model for
less than a quarter of a percent more data each, while the package and the run grow
linearly (1,000 folds compiled to some 3,000 tasks for 1,200 videos).
"""
from common.errors import UserError

MAX_FOLDS = 20


def validate_folds(num_folds: int, holdout_fraction: float) -> None:
    if not 2 <= num_folds <= MAX_FOLDS:
        raise UserError(f"folds must lie in 2..{MAX_FOLDS} (5 is the recipe's; more train each model on little "
                        f"more data at the cost of a whole training per fold), got {num_folds}")
    if not 0.0 < holdout_fraction < 0.5:
        raise UserError(f"holdout_fraction must lie in (0, 0.5), got {holdout_fraction}")
