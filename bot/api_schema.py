"""The read API's JSON Schema building blocks, shared by the parts of its OpenAPI document
(``bot.api`` for proposals, ``bot.api_rollouts`` for rollouts).

An object built by :func:`obj` always carries every property it lists: the views write every
field, null when unset (tests/bot/web/test_api_contract.py closes each object to any other
property and validates real answers against it).
"""

from __future__ import annotations

from typing import Any

from charter.lifecycle import State

STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
BOOL: dict[str, Any] = {"type": "boolean"}
NUM: dict[str, Any] = {"type": "number"}
TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
STATE: dict[str, Any] = {"type": "string", "enum": sorted(s.value for s in State)}  # a proposal's


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null (a list of types where it can be, else ``oneOf``)."""
    if "type" in schema and "enum" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"oneOf": [schema, {"type": "null"}]}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def obj(**properties: dict[str, Any]) -> dict[str, Any]:
    """An object that always carries every one of ``properties``."""
    return {"type": "object", "required": sorted(properties), "properties": properties}


ERROR = obj(error=STR)


def json_body(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A response whose JSON body follows ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def number_parameter() -> dict[str, Any]:
    """The ``{number}`` path parameter of a proposal's routes."""
    return {"name": "number", "in": "path", "required": True, "schema": INT}
