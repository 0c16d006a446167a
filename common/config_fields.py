"""Profile sections as typed values: a mapping checked against a dataclass's fields.

Every typed section of a profile (training recipe, stacker settings, student options,
Kubeflow settings) is a frozen dataclass built from its YAML mapping here, so a typo or
a value of the wrong kind is named when the profile loads, not hours later inside a
component.
"""
import dataclasses

from common.errors import UserError


def check_mapping(values, allowed, where: str) -> dict:
    """`values` itself, when it is a mapping whose keys are all in `allowed`."""
    if not isinstance(values, dict):
        raise UserError(f"{where} must be a mapping, got {values!r}")
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise UserError(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")
    return values


def scalar_fields(cls, values, where: str, extra_keys=()) -> dict:
    """The entries of `values` that are scalar fields of dataclass `cls` (int, float, bool,
    str), each checked to be of its field's kind: an int field takes an int, a float field
    an int or a float, a bool field a bool. Keys that are neither such fields nor in
    `extra_keys` are an error; the other fields are the caller's to check."""
    fields = {field.name: field.type for field in dataclasses.fields(cls)}
    check_mapping(values, set(fields) | set(extra_keys), where)
    checked = {}
    for name, value in values.items():
        kind = fields.get(name)
        if kind not in (int, float, bool, str):
            continue
        if not _is_kind(value, kind):
            raise UserError(f"{where}: '{name}' must be {kind.__name__}, got {value!r}")
        checked[name] = kind(value) if kind is float else value
    return checked


def require(condition: bool, where: str, requirement: str) -> None:
    if not condition:
        raise UserError(f"{where}: {requirement}")


def _is_kind(value, kind) -> bool:
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)
