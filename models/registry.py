"""The registry of model families: each family registers its builder by name, and
`build_model` builds one from a profile's family name and keyword arguments, checked.

    model = build_model("resnet_like", num_classes=3862, inner_size=2048)

Every family builds a Keras 2 (`tf_keras`) model that outputs LOGITS [batch,
num_classes]. Video-level families (models/video_zoo.py) read "features", the raw
`[mean_rgb; mean_audio]` vector; frame-level families (models/frame_zoo.py) are
registered with `reads="frames"` and read the masked frame sequence; `reads(family)`
says which.

A profile is checked against the families without importing them (they import
TensorFlow, which takes many seconds): `families`, `reads` and `check_arguments` read
each `@register(...)` function's name, input kind and keyword arguments (their annotated
types) from the family modules' source; building a model imports them.
"""
import ast
import functools
import importlib
import importlib.util
import inspect
from typing import Any, Callable, NamedTuple

from common.errors import UserError

ModelBuilder = Callable[..., Any]  # -> keras.Model

_FAMILIES: dict[str, ModelBuilder] = {}
_READS: dict[str, str] = {}
INPUT_KINDS = ("features", "frames")
# The modules that register families. They import this registry, so it loads them on
# first use rather than at import time.
FAMILY_MODULES = ("models.video_zoo", "models.frame_zoo")
# The annotations a family's keyword argument may have: the kinds a profile's YAML gives.
KEYWORD_TYPES = {"int": int, "float": float, "bool": bool, "str": str}


class FamilySignature(NamedTuple):
    """What a profile may say about a family: its input kind and keyword arguments."""
    reads: str
    keywords: dict  # name -> type (KEYWORD_TYPES)


def _registered() -> dict[str, ModelBuilder]:
    for module in FAMILY_MODULES:
        importlib.import_module(module)
    return _FAMILIES


def register(name: str, reads: str = "features") -> Callable[[ModelBuilder], ModelBuilder]:
    """Registers a family: `build(num_classes, *, keyword: type = default, ...) -> keras.Model`
    (literal arguments of the decorator; each keyword annotated with a KEYWORD_TYPES name);
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


@functools.cache
def signatures() -> dict[str, FamilySignature]:
    """Every registered family's FamilySignature, read from the family modules' source."""
    found = {}
    for module in FAMILY_MODULES:
        with open(importlib.util.find_spec(module).origin, encoding="utf-8") as source:
            tree = ast.parse(source.read())
        for function in tree.body:
            for decorator in getattr(function, "decorator_list", []):
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == register.__name__:
                    found.update([_signature(function, decorator)])
    return found


def _signature(function: ast.FunctionDef, decorator: ast.Call) -> tuple[str, FamilySignature]:
    name, *rest = [ast.literal_eval(argument) for argument in decorator.args]
    options = {keyword.arg: ast.literal_eval(keyword.value) for keyword in decorator.keywords}
    reads = rest[0] if rest else options.get("reads", "features")
    keywords = {argument.arg: KEYWORD_TYPES[ast.unparse(argument.annotation)]
                for argument in function.args.kwonlyargs}
    return name, FamilySignature(reads, keywords)


def families() -> list[str]:
    return sorted(signatures())


def _signature_of(family: str) -> FamilySignature:
    if family not in signatures():
        raise UserError(f"unknown model family '{family}'; registered: {', '.join(families())}")
    return signatures()[family]


def reads(family: str) -> str:
    """"features" or "frames": the input a registered family takes."""
    return _signature_of(family).reads


def keyword_default(family: str, argument: str):
    """The default of one keyword argument of a registered family (None if it has none)."""
    return _keyword_defaults(_registered()[family]).get(argument)


def check_arguments(family: str, kwargs) -> None:
    """Raises UserError unless `family` is registered and takes every keyword in `kwargs`
    with a value of its annotated type (ranges are checked when the model is built)."""
    keywords = _signature_of(family).keywords
    if not isinstance(kwargs, dict):
        raise UserError(f"model family '{family}': kwargs must be a mapping, got {kwargs!r}")
    for name, value in kwargs.items():
        if name not in keywords:
            raise UserError(f"model family '{family}' has no argument '{name}'; "
                            f"it takes: {', '.join(sorted(keywords))}")
        if not _of_type(value, keywords[name]):
            raise UserError(f"model family '{family}': argument '{name}' must be "
                            f"{keywords[name].__name__}, got {value!r}")


def build_model(family: str, num_classes: int, *, precision: str = "float32", **kwargs):
    """Builds a registered family computing in `precision` (models/precision.py; its
    output is float32 in every precision); a bad family, argument or value raises UserError."""
    from models import precision as compute_precision  # pylint: disable=import-outside-toplevel  (see the module's docstring)
    with compute_precision.policy(compute_precision.resolve(precision, reads(family) == "frames")):
        model = _build(family, num_classes, kwargs)
    return compute_precision.float32_outputs(model)


def build_subset_model(family: str, class_ids, num_classes: int, *, precision: str = "float32", **kwargs):
    """A registered family trained on `class_ids` only, predicting over all `num_classes`."""
    if not class_ids or min(class_ids) < 0 or max(class_ids) >= num_classes:
        raise UserError(f"a class subset must hold class ids in 0..{num_classes - 1}")
    import tf_keras as keras  # pylint: disable=import-outside-toplevel  (see the module's docstring)

    from models import precision as compute_precision  # pylint: disable=import-outside-toplevel
    from models.layers import ExpandClasses  # pylint: disable=import-outside-toplevel
    with compute_precision.policy(compute_precision.resolve(precision, reads(family) == "frames")):
        core = _build(family, len(class_ids), kwargs)
        model = keras.Model(core.inputs, ExpandClasses(class_ids, num_classes)(core.outputs[0]), name=core.name)
    return compute_precision.float32_outputs(model)


def _build(family: str, num_classes: int, kwargs: dict):
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


def _of_type(value, kind: type) -> bool:
    """Whether a profile's `value` fits an argument of type `kind`: bools stay bools, ints
    ints, floats accept ints."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)
