"""Custom TFX artifact types of the pipeline.

Kubeflow V2 imports a custom type by its TYPE_NAME, so each TYPE_NAME is the class's
import path in this top-level module, and no type declares PROPERTIES (metadata goes
into custom properties, whose keys are in `components/artifact_properties.py`).
"""
from tfx.types.artifact import Artifact


class FoldTable(Artifact):
    """`folds.csv`: the fold (0..K-1) or `holdout` of every labelled video id."""
    TYPE_NAME = "y8m_types.FoldTable"


class Predictions(Artifact):
    """One model's scores keyed by video id, in splits `oof`, `holdout`, `test`."""
    TYPE_NAME = "y8m_types.Predictions"


class MergedPredictions(Artifact):
    """Every model's scores on each video's candidate labels, joined by video id."""
    TYPE_NAME = "y8m_types.MergedPredictions"


class SoftLabels(Artifact):
    """Sparse video × class soft labels (out-of-fold stack probabilities) keyed by video id."""
    TYPE_NAME = "y8m_types.SoftLabels"


class StageMetrics(Artifact):
    """`metrics.json`: GAP@20, Hit@1, PERR and MAP of every stage on every split."""
    TYPE_NAME = "y8m_types.StageMetrics"


class FoldPredictions(Artifact):
    """One fold model of an L1 model: its scores on the fold it did not see (`oof`), on
    the held-out split and on test, keyed by video id (L1Assembler joins the K folds)."""
    TYPE_NAME = "y8m_types.FoldPredictions"


class StudentNetwork(Artifact):
    """The trained weights of one of the student's networks (a TensorFlow checkpoint)."""
    TYPE_NAME = "y8m_types.StudentNetwork"
