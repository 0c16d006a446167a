"""Profiles: YAML files that say which models the pipeline trains and how.

A profile names registered model families (models/registry.py) with their keyword arguments;
it never names code to import. `quick` and `full` ship with the package; a user passes
their own file with `--profile FILE.yaml`.
"""
import os
import re
from dataclasses import dataclass, field

import yaml

from common.errors import UserError

PROFILE_DIR = os.path.join(os.path.dirname(__file__), "profiles")
TOP_LEVEL_KEYS = {"folds", "holdout_fraction", "seed", "l1_models", "stacker", "student",
                  "max_model_bytes", "blessing", "kubeflow", "top_classes"}
# soft_label_weight makes an L1 model a second-round one, trained on the stack's soft labels.
MODEL_KEYS = {"name", "family", "kwargs", "training", "soft_label_weight"}
# Model names become task names on Kubeflow, which take few characters.
MODEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
STUDENT_KEYS = {"family", "kwargs", "training", "members", "soft_label_weight", "standardize", "weights_dtype"}


@dataclass(frozen=True)
class Profile:
    name: str
    folds: int
    holdout_fraction: float
    seed: int
    l1_models: list = field(default_factory=list)
    stacker: dict = field(default_factory=dict)
    student: dict = field(default_factory=dict)
    max_model_bytes: int = 10**9
    min_gap_ratio: float = 0.9
    # Resources, data volume, node selectors and tolerations on Kubeflow (pipeline/kubeflow_runner.py).
    kubeflow: dict = field(default_factory=dict)
    # L1 models train on the K most frequent classes only (0: every class); predictions,
    # metrics and submissions still speak in the original class ids.
    top_classes: int = 0


def builtin_profiles() -> list[str]:
    return sorted(name[:-5] for name in os.listdir(PROFILE_DIR) if name.endswith(".yaml"))


def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by name, or a user's YAML file by path."""
    path = name_or_path
    if not name_or_path.endswith((".yaml", ".yml")):
        if name_or_path not in builtin_profiles():
            raise UserError(f"unknown profile '{name_or_path}'; built-in: {builtin_profiles()}, "
                            "or give a path to a .yaml file")
        path = os.path.join(PROFILE_DIR, name_or_path + ".yaml")
    try:
        with open(path) as source:
            raw = yaml.safe_load(source)
    except OSError as error:
        raise UserError(f"cannot read profile {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise UserError(f"profile {path} is not valid YAML: {error}") from None
    return parse_profile(raw, os.path.splitext(os.path.basename(path))[0], path)


def _check_keys(section: dict, allowed: set, where: str) -> None:
    if not isinstance(section, dict):
        raise UserError(f"{where} must be a mapping")
    unknown = set(section) - allowed
    if unknown:
        raise UserError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")


def _check_model(model: dict, where: str, required: set) -> None:
    from models import registry, training# import TensorFlow; only when a profile is really checked
    _check_keys(model, MODEL_KEYS, where)
    missing = required - set(model)
    if missing:
        raise UserError(f"{where}: missing {sorted(missing)}")
    if model["family"] not in registry.families():
        raise UserError(f"{where}: unknown model family '{model['family']}'; registered: {registry.families()}")
    try:
        training.TrainingRecipe.from_dict(model.get("training") or {})
    except UserError as error:
        raise UserError(f"{where}: {error}") from None


def _check_student(student: dict, where: str) -> None:
    from components.distiller.distill import StudentOptions, members_of
    from models import registry
    _check_keys(student, STUDENT_KEYS, where)
    try:
        StudentOptions.from_config(student)
        members = members_of(student)
    except UserError as error:
        raise UserError(f"{where}: {error}") from None
    for member in members:
        if member.family not in registry.families():
            raise UserError(f"{where}: unknown model family '{member.family}'; registered: {registry.families()}")
        if registry.reads(member.family) != "features":
            raise UserError(f"{where}: the student serves raw video-level features; "
                            f"family '{member.family}' reads frames")


def parse_profile(raw, name: str, where: str) -> Profile:
    _check_keys(raw, TOP_LEVEL_KEYS, where)
    models = raw.get("l1_models") or []
    if not models:
        raise UserError(f"{where}: l1_models must list at least one model")
    for index, model in enumerate(models):
        _check_model(model, f"{where}: l1_models[{index}]", {"name", "family"})
    for index, model in enumerate(models):
        weight = model.get("soft_label_weight", 0.0)
        if not (isinstance(weight, (int, float)) and 0.0 <= weight <= 1.0):
            raise UserError(f"{where}: l1_models[{index}]: soft_label_weight must lie in [0, 1]")
    if all("soft_label_weight" in model for model in models):
        raise UserError(f"{where}: the stack needs at least one L1 model without soft_label_weight")
    names = [model["name"] for model in models]
    for model_name in names:
        if not (isinstance(model_name, str) and MODEL_NAME.fullmatch(model_name)):
            raise UserError(f"{where}: l1 model name {model_name!r} must be lower-case letters, digits and '_'")
    if len(set(names)) != len(names):
        raise UserError(f"{where}: l1 model names must be unique, got {names}")
    student = raw.get("student") or {}
    _check_student(student, f"{where}: student")
    blessing = raw.get("blessing") or {}
    _check_keys(blessing, {"min_gap_ratio"}, f"{where}: blessing")
    kubeflow = raw.get("kubeflow") or {}
    if not isinstance(kubeflow, dict):
        raise UserError(f"{where}: kubeflow must be a mapping")
    top_classes = raw.get("top_classes", 0)
    if isinstance(top_classes, bool) or not isinstance(top_classes, int) or top_classes < 0:
        raise UserError(f"{where}: top_classes must be a non-negative integer (0: every class)")
    return Profile(
        name=name, folds=int(raw.get("folds", 5)), holdout_fraction=float(raw.get("holdout_fraction", 0.1)),
        seed=int(raw.get("seed", 0)), l1_models=models, stacker=raw.get("stacker") or {}, student=student,
        max_model_bytes=int(raw.get("max_model_bytes", 10**9)),
        min_gap_ratio=float(blessing.get("min_gap_ratio", 0.9)), kubeflow=kubeflow, top_classes=top_classes)
