"""The registry of model families: each family registers its builder by name, and
`build_model` builds one from a profile's family name and keyword arguments, checked.

    model = build_model("resnet_like", num_classes=3862, inner_size=2048)

Every family builds a Keras 2 (`tf_keras`) model that outputs LOGITS [batch,
num_classes]. Video-level families (models/video_zoo.py) read "features", the raw
`[mean_rgb; mean_audio]` vector; frame-level families (models/frame_zoo.py) are
registered with `reads="frames"` and read the masked frame sequence; `reads(family)`
says which.
"""
import importlib
import inspect
from typing import Callable

import tf_keras as keras

from common.errors import UserError
from models import precision as compute_precision
from models.layers import ExpandClasses

ModelBuilder = Callable[..., keras.Model]

_FAMILIES: dict[str, ModelBuilder] = {}
_READS: dict[str, str] = {}
INPUT_KINDS = ("features", "frames")
# The modules that register families. They import this registry, so it loads them on
# first use rather than at import time.
FAMILY_MODULES = ("models.video_zoo", "models.frame_zoo")


def _registered() -> dict[str, ModelBuilder]:
    for module in FAMILY_MODULES:
        importlib.import_module(module)
    return _FAMILIES


def register(name: str, reads: str = "features") -> Callable[[ModelBuilder], ModelBuilder]:
    """Registers a family: `build(num_classes, *, keyword=default, ...) -> keras.Model`;
    `reads`: "features" (video-level vector) or "frames" (frame sequence)."""
    if reads not in INPUT_KINDS:
        raise ValueError(f"model family '{name}': reads must be one of {INPUT_KINDS}, got {reads!r}")

    def decorator(build: ModelBuilder) -> ModelBuilder:
        if name in _FAMILIES:
            raise ValueError(f"model family '{name}' is registered twice")
        _FAMILIES[name] = build
        _READS[name] = reads
        return build
    return decorator


def families() -> list[str]:
    return sorted(_registered())


def reads(family: str) -> str:
    """"features" or "frames": the input a registered family takes."""
    if family not in _registered():
        raise UserError(f"unknown model family '{family}'; registered: {', '.join(families())}")
    return _READS[family]


def keyword_default(family: str, argument: str):
    """The default of one keyword argument of a registered family (None if it has none)."""
    return _keyword_defaults(_registered()[family]).get(argument)


def check_arguments(family: str, kwargs) -> None:
    """Raises UserError unless `family` is registered and takes every keyword in `kwargs`
    with a value of its default's kind (ranges are checked when the model is built)."""
    build = _registered().get(family)
    if build is None:
        raise UserError(f"unknown model family '{family}'; registered: {', '.join(families())}")
    if not isinstance(kwargs, dict):
        raise UserError(f"model family '{family}': kwargs must be a mapping, got {kwargs!r}")
    defaults = _keyword_defaults(build)
    for name, value in kwargs.items():
        if name not in defaults:
            raise UserError(f"model family '{family}' has no argument '{name}'; "
                            f"it takes: {', '.join(sorted(defaults))}")
        if not _same_kind(value, defaults[name]):
            raise UserError(f"model family '{family}': argument '{name}' must be "
                            f"{type(defaults[name]).__name__}, got {value!r}")


def build_model(family: str, num_classes: int, *, precision: str = compute_precision.FLOAT32,
                **kwargs) -> keras.Model:
    """Builds a registered family computing in `precision` (models/precision.py; its
    output is float32 in every precision); a bad family, argument or value raises UserError."""
    with compute_precision.policy(compute_precision.resolve(precision, reads(family) == "frames")):
        model = _build(family, num_classes, kwargs)
    return compute_precision.float32_outputs(model)


def build_subset_model(family: str, class_ids, num_classes: int, *, precision: str = compute_precision.FLOAT32,
                       **kwargs) -> keras.Model:
    """A registered family trained on `class_ids` only, predicting over all `num_classes`."""
    if not class_ids or min(class_ids) < 0 or max(class_ids) >= num_classes:
        raise UserError(f"a class subset must hold class ids in 0..{num_classes - 1}")
    with compute_precision.policy(compute_precision.resolve(precision, reads(family) == "frames")):
        core = _build(family, len(class_ids), kwargs)
        model = keras.Model(core.inputs, ExpandClasses(class_ids, num_classes)(core.outputs[0]), name=core.name)
    return compute_precision.float32_outputs(model)


def _build(family: str, num_classes: int, kwargs: dict) -> keras.Model:
    check_arguments(family, kwargs)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise UserError(f"model family '{family}': num_classes must be a positive integer, "
                        f"got {num_classes!r}")
    try:
        return _registered()[family](num_classes, **kwargs)
    except InvalidArgument as error:
        raise UserError(f"model family '{family}': argument '{error.argument}' "
                        f"{error.requirement}, got {kwargs.get(error.argument)!r}") from None


# Argument checking


class InvalidArgument(ValueError):
    """Raised by a family for a bad argument value; build_model names the family."""

    def __init__(self, argument: str, requirement: str):
        super().__init__(f"{argument} {requirement}")
        self.argument = argument
        self.requirement = requirement


def require(condition: bool, argument: str, requirement: str) -> None:
    if not condition:
        raise InvalidArgument(argument, requirement)


def _keyword_defaults(build: ModelBuilder) -> dict:
    return {name: parameter.default
            for name, parameter in inspect.signature(build).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY}


def _same_kind(value, default) -> bool:
    """Whether `value` may replace `default`: bools stay bools, ints ints, floats accept ints."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))
