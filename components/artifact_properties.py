"""The custom-property keys of the pipeline's artifacts, set and read by these names only.

The custom types (y8m_types.py) declare no PROPERTIES (Kubeflow V2 would not import
them), so what a component records about an artifact is a custom property; under
Kubeflow V2 these are the artifact's `metadata`. JSON values are strings.
"""
import json

from tfx.types import artifact_utils, standard_artifacts

# Any artifact with splits (schemas/splits.py) that is not a standard `Examples`:
# its split names, a JSON list (`set_split_names`).
SPLIT_NAMES = "split_names"

# Predictions: the model's name (an L1 config's, `stack` or `student`) and its kind
# (`l1`, `stack`, `student`).
MODEL_NAME = "model_name"
KIND = "kind"

# Only on a second-round L1 model's predictions: their out-of-fold scores are leaky.
SOFT_LABEL_WEIGHT = "soft_label_weight"
# JSON: the fit of every fold (L1 models, the stack) or of every student network.
TRAINING_SUMMARY = "training_summary"

# FoldPredictions: the fold whose videos the fold model did not see (with MODEL_NAME and
# TRAINING_SUMMARY, that fold's fit). StudentNetwork: its index in the student's networks
# (with TRAINING_SUMMARY, its fit).
FOLD = "fold"
NETWORK_INDEX = "network_index"

# MergedPredictions: the models in column order, and the L2 feature names (JSON lists);
# the stack's Model: the feature names its boosters were fitted on.
MODEL_NAMES = "model_names"
FEATURE_NAMES = "feature_names"

# The student's Model.
SAVED_MODEL_BYTES = "saved_model_bytes"
PARAMETERS = "parameters"
WEIGHTS_DTYPE = "weights_dtype"
STANDARDIZE = "standardize"
PRECISIONS = "precisions"  # JSON: size and held-out GAP per weights dtype
MEMBERS = "members"

# Examples, as TFX's readers of Examples know them.
PAYLOAD_FORMAT = "payload_format"
FILE_FORMAT = "file_format"

# FrameFeatures' output: the frame-level files it read (a JSON list of glob patterns),
# its frames per video and the counts of its report.json.
FILE_PATTERNS = "file_patterns"
MAX_FRAMES = "max_frames"
FRAME_REPORT_COUNTS = ("frame_records", "bad_records", "videos", "videos_without_frames")

# FoldTable.
NUM_FOLDS = "num_folds"
HOLDOUT_FRACTION = "holdout_fraction"

# ModelBlessing: TFX's Pusher pushes when BLESSED is 1.
BLESSED = "blessed"
REASON = "reason"

# PushedModel, written by TFX's Pusher.
PUSHED_DESTINATION = "pushed_destination"


def model_name(artifact) -> str:
    return artifact.get_string_custom_property(MODEL_NAME)


def training_summary(artifact):
    """The artifact's TRAINING_SUMMARY, decoded (None when it has none)."""
    raw = artifact.get_string_custom_property(TRAINING_SUMMARY)
    return json.loads(raw) if raw else None


def set_split_names(artifact, names: list[str]) -> None:
    """Standard `Examples` keep their split names in their `split_names` property; the custom
    types (which may not declare properties under Kubeflow V2) in the custom property."""
    if isinstance(artifact, standard_artifacts.Examples):
        artifact.split_names = artifact_utils.encode_split_names(list(names))
    else:
        artifact.set_string_custom_property(SPLIT_NAMES, json.dumps(list(names)))


def split_names(artifact) -> list[str]:
    if isinstance(artifact, standard_artifacts.Examples):
        return artifact_utils.decode_split_names(artifact.split_names)
    return json.loads(artifact.get_string_custom_property(SPLIT_NAMES) or "[]")
