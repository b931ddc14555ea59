"""Shape problems of a charter file (pydantic's errors) as plain sentences, and paths written
as the charter writes them (``clients[2].id``).

Rules:
- A message names the field it is about (``reminders[1]``, not the whole path), what it must
  be and what it was ("approval must be a share between 0 and 1, got 1.5").
- An unknown field, key or choice suggests the nearest known one (:func:`charter.validate.suggest`)
  or lists them; a likely slip gets a hint (a number where text belongs: put it in quotes).
- A missing or unknown field is reported at its key (``Finding.at_key``).
"""

from __future__ import annotations

import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from charter.model import Charter
from charter.validate import Finding, Loc, suggest

ROOT_PATH = "(charter)"


def format_path(loc: Loc) -> str:
    """``("clients", 2, "id")`` → ``clients[2].id``; the empty path is the whole charter."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) and not isinstance(part, bool) else f".{part}"
    return out.lstrip(".") or ROOT_PATH


_KINDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "tuple_type": "a list",
    "dict_type": "a mapping (name: value lines)",
    "model_type": "a mapping (field: value lines)",
}
_PATTERNS = {
    r"^[a-z0-9][a-z0-9_-]*$": "{value!r} is not a valid id: use lowercase letters, digits, "
    "'-' and '_', starting with a letter or digit",
    r"^[\w.-]+/[\w.-]+$": "{value!r} is not a GitHub repository: write owner/name, "
    "e.g. meridian-net/upgrades",
}
_KEY_NOUNS = {"announce": "announcement kind"}


def shape_finding(error: ErrorDetails) -> Finding:
    loc: Loc = tuple(error["loc"])
    kind, value, ctx = error["type"], error["input"], error.get("ctx", {})
    if loc[-1:] == ("[key]",):
        return _key_finding(loc[:-1], error)
    name = _name(loc)
    if kind == "missing":
        return Finding(loc, f"missing required field {loc[-1]!r}", at_key=True)
    if kind == "extra_forbidden":
        fields = list(_annotation_at(loc[:-1])[0].model_fields)
        hint = suggest(str(loc[-1]), fields) or f"; fields here are {', '.join(fields)}"
        return Finding(loc, f"unknown field {loc[-1]!r}{hint}", at_key=True)
    if kind in ("greater_than_equal", "less_than_equal"):
        return Finding(loc, _bound_message(loc, name, value, ctx))
    if kind == "value_error":
        return Finding(loc, str(ctx["error"]))
    if kind == "string_pattern_mismatch":
        template = _PATTERNS.get(ctx["pattern"], "{value!r} does not match {pattern}")
        return Finding(loc, template.format(value=value, pattern=ctx["pattern"]))
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", ctx["expected"])
        one_of = "one of " if len(options) > 1 else ""
        hint = suggest(str(value), options)
        return Finding(loc, f"{name} must be {one_of}{ctx['expected']}, got {value!r}{hint}")
    if kind.startswith("datetime"):
        return Finding(
            loc, f"{name} must be a date and time such as 2026-01-08T15:00, got {value!r}"
        )
    if kind in _KINDS:
        return Finding(
            loc, f"{name} must be {_KINDS[kind]}, got {describe(value)}{_hint(kind, value)}"
        )
    said = error["msg"].replace("Input should be", f"{name} must be")
    return Finding(loc, f"{said}, got {describe(value)}")


def _key_finding(loc: Loc, error: ErrorDetails) -> Finding:
    key = loc[-1]
    if error["type"] == "literal_error":
        expected = error.get("ctx", {})["expected"]
        noun = _KEY_NOUNS.get(str(loc[-2]), "key") if len(loc) > 1 else "key"
        hint = suggest(str(key), re.findall(r"'([^']*)'", expected))
        return Finding(loc, f"unknown {noun} {key!r}{hint}; use one of {expected}", at_key=True)
    if error["type"] == "string_pattern_mismatch":  # a track name is an id
        return Finding(
            loc, _PATTERNS[error.get("ctx", {})["pattern"]].format(value=key), at_key=True
        )
    return Finding(loc, f"the key {key!r} must be text (put it in quotes)", at_key=True)


def _bound_message(loc: Loc, name: str, value: Any, ctx: dict[str, Any]) -> str:
    annotation, info = _annotation_at(loc)
    bounds = (
        {attr: getattr(m, attr) for m in info.metadata for attr in ("ge", "le") if hasattr(m, attr)}
        if info
        else {}
    )
    if "ge" in bounds and "le" in bounds:
        noun = "a share" if annotation is float else "a whole number"
        return f"{name} must be {noun} between {bounds['ge']:g} and {bounds['le']:g}, got {value}"
    limit = f"at least {ctx['ge']}" if "ge" in ctx else f"at most {ctx['le']}"
    return f"{name} must be {limit}, got {value}"


def _hint(kind: str, value: Any) -> str:
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return " (put it in quotes)"
    if kind == "tuple_type" and isinstance(value, str):
        return f" (write [{value}])"
    return ""


def _name(loc: Loc) -> str:
    """The field a message talks about: ``reminders[1]`` rather than the whole path."""
    last = max((i for i, part in enumerate(loc) if isinstance(part, str)), default=0)
    return format_path(loc[last:])


def describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to the type that holds the value."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def _annotation_at(loc: Loc) -> tuple[Any, FieldInfo | None]:
    """The model type at ``loc`` in :class:`Charter`, and its field info when it is a field."""
    current: Any = Charter
    info: FieldInfo | None = None
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields[str(part)]
            current = info.annotation
        else:  # an item of tuple[X, ...] or a value of dict[K, X]
            args = get_args(current)
            current, info = (args[0] if get_origin(current) is tuple else args[-1]), None
    return _unwrap(current), info
