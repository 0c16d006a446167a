"""Profiles: YAML files that say which models the pipeline trains and how.

A profile names registered model families (models/registry.py) with their keyword arguments;
it never names code to import. `quick` and `full` ship with the package; a user passes
their own file with `--profile FILE.yaml`.
"""
import os
from dataclasses import dataclass

import yaml

from common.config_fields import check_mapping, require, scalar_fields
from common.errors import UserError
from components.lgbm_stacker.settings import StackerSettings
from components.student.config import StudentConfig
from models.model_config import L1ModelConfig
from pipeline.kubeflow_settings import KubeflowSettings
from schemas import fold_bounds

PROFILE_DIR = os.path.join(os.path.dirname(__file__), "profiles")
SCALAR_KEYS = ("folds", "holdout_fraction", "seed", "max_model_bytes", "top_classes")
TOP_LEVEL_KEYS = {*SCALAR_KEYS, "l1_models", "stacker", "student", "blessing", "kubeflow"}


@dataclass(frozen=True)
class Profile:
    """A loaded profile: every section typed and checked (its errors name the file and key)."""
    name: str
    l1_models: tuple[L1ModelConfig, ...]
    student: StudentConfig
    stacker: StackerSettings = StackerSettings()
    folds: int = 5  # the fold count's one default: every component takes it as a required parameter
    holdout_fraction: float = 0.1
    seed: int = 0
    max_model_bytes: int = 10**9
    min_gap_ratio: float = 0.9
    # The student's held-out GAP must beat the class-prior baseline's by this much: a
    # student that learnt nothing from its inputs scores about the baseline. -1: no floor
    # (tests on data too small to learn from).
    min_gap_over_prior: float = 0.05
    # Resources, data volume, node selectors and tolerations on Kubeflow (pipeline/kubeflow_runner.py).
    kubeflow: KubeflowSettings = KubeflowSettings()
    # L1 models train on the K most frequent classes only (0: every class), unless a model
    # sets its own; predictions, metrics and submissions still speak in the original class ids.
    top_classes: int = 0

    @property
    def first_round_models(self) -> list[L1ModelConfig]:
        return [model for model in self.l1_models if not model.second_round]

    @property
    def second_round_models(self) -> list[L1ModelConfig]:
        return [model for model in self.l1_models if model.second_round]

    @property
    def frame_models(self) -> list[L1ModelConfig]:
        return [model for model in self.l1_models if model.reads_frames]


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
        raise UserError(f"{path}: not valid YAML: {_yaml_problem(error)}") from None
    return parse_profile(raw, os.path.splitext(os.path.basename(path))[0], path)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """The parser's complaint and where, on one line (its own message spans several)."""
    problem = getattr(error, "problem", None) or str(error)
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    if isinstance(error, yaml.constructor.ConstructorError):
        problem += " (a profile holds plain values; tags that build Python objects are refused)"
    return where + problem


def parse_profile(raw, name: str, where: str) -> Profile:
    """A profile from its YAML mapping; any error raises UserError naming `where` and the key."""
    check_mapping(raw, TOP_LEVEL_KEYS, where)
    scalars = scalar_fields(Profile, {key: raw[key] for key in SCALAR_KEYS if key in raw}, where)
    blessing = check_mapping(raw.get("blessing") or {}, {"min_gap_ratio", "min_gap_over_prior"}, f"{where}: blessing")
    scalars.update(scalar_fields(Profile, blessing, f"{where}: blessing"))
    top_classes = scalars.get("top_classes", 0)
    require(top_classes >= 0, where, "top_classes must be a non-negative integer (0: every class)")
    require(scalars.get("max_model_bytes", 1) >= 1, where, "max_model_bytes must be positive")
    require(scalars.get("min_gap_ratio", 0.9) > 0, f"{where}: blessing", "min_gap_ratio must be positive")
    require(-1 <= scalars.get("min_gap_over_prior", 0) < 1, f"{where}: blessing",
            "min_gap_over_prior must lie in [-1, 1) (-1: no floor)")
    try:
        fold_bounds.validate_folds(scalars.get("folds", Profile.folds),
                                   scalars.get("holdout_fraction", Profile.holdout_fraction))
    except UserError as error:
        raise UserError(f"{where}: {error}") from None
    return Profile(
        name=name, l1_models=_l1_models(raw.get("l1_models"), top_classes, where),
        student=StudentConfig.from_dict(raw.get("student") or {}, f"{where}: student"),
        stacker=StackerSettings.from_dict(raw.get("stacker") or {}, f"{where}: stacker"),
        kubeflow=KubeflowSettings.from_dict(raw.get("kubeflow") or {}, f"{where}: kubeflow"), **scalars)


def _l1_models(raw_models, top_classes: int, where: str) -> tuple[L1ModelConfig, ...]:
    if not isinstance(raw_models, list) or not raw_models:
        raise UserError(f"{where}: l1_models must list at least one model")
    models = tuple(L1ModelConfig.from_dict({"top_classes": top_classes, **model} if isinstance(model, dict) else model,
                                           f"{where}: l1_models[{index}]")
                   for index, model in enumerate(raw_models))
    names = [model.name for model in models]
    if len(set(names)) != len(names):
        raise UserError(f"{where}: l1 model names must be unique, got {names}")
    if all(model.second_round for model in models):
        raise UserError(f"{where}: the stack needs at least one L1 model without soft_label_weight")
    return models
