"""Custom TFX artifact types of the pipeline.

Kubeflow V2 imports a custom type by its TYPE_NAME, so each TYPE_NAME is the class's
import path in this top-level module, and no type declares PROPERTIES (metadata goes
into custom properties, whose keys are in `components/artifact_properties.py`).

The exceptions are the types the Kubeflow Pipelines UI renders, whose TYPE_NAME is KFP's
own (`system.HTML`, `system.Markdown`, `system.Metrics`): the compiler writes it as the
schema title, which the launcher records as the ML Metadata type the UI looks for; the
task's entrypoint (pipeline/kubeflow_entrypoint.py) gives TFX the class's import path
instead (KFP_TYPES).
"""
from tfx.types.artifact import Artifact
from tfx.types.value_artifact import ValueArtifact


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


class Text(ValueArtifact):
    """A UTF-8 text file at the artifact's URI itself, not in a folder: the KFP UI reads
    the object at the URI of an HTML or Markdown artifact."""

    def encode(self, value: str) -> bytes:
        return value.encode("utf-8")

    def decode(self, serialized_value: bytes) -> str:
        return serialized_value.decode("utf-8")


class HtmlReport(Text):
    """report.html, shown by the Kubeflow Pipelines UI (run → task → Visualization)."""
    TYPE_NAME = "system.HTML"


class MarkdownSummary(Text):
    """A Markdown table of the stages' GAP@20, shown by the Kubeflow Pipelines UI."""
    TYPE_NAME = "system.Markdown"


class ScalarMetrics(Artifact):
    """Numbers as custom properties, no files: the Kubeflow Pipelines UI lists them as
    "Scalar Metrics" and compares them between runs."""
    TYPE_NAME = "system.Metrics"


_KFP_CLASSES = (HtmlReport, MarkdownSummary, ScalarMetrics)
# KFP type (schema title) → the class's import path, which TFX's entrypoint imports.
KFP_TYPES = {cls.TYPE_NAME: f"{__name__}.{cls.__qualname__}" for cls in _KFP_CLASSES}
# The KFP types whose URI is a file, not a folder.
KFP_FILE_TYPES = frozenset(cls.TYPE_NAME for cls in _KFP_CLASSES if issubclass(cls, ValueArtifact))
