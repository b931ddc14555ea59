"""Minimum client versions, read from the form's "Prerequisites and dependency versions".

Rules:
- The field is free text. Each item of it (items are separated by commas, semicolons or line
  breaks) written ``<name> >= <version>`` (or ``>``, ``==``, ``=``) is a requirement on that
  name; anything else is left to people. Only names that are clients of the rollout are checked
  (``libp2p >= 0.53`` is a library, not a client).
- Versions compare by their numbers (``v4.10`` is above ``4.9``; ``4.2`` equals ``4.2.0``); a
  pre-release (``4.2.0-rc1``, ``4.2.0rc1``) comes before its release. A version that does not
  start with a number cannot be compared: it is neither accepted nor refused by the check.
- A release below its client's requirement is recorded, with a warning, and holds the
  ``prerequisites`` gate of the stage it was reported for (see :mod:`charter.gates`), which a
  coordinator may override like any gate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_ITEM = re.compile(r"^\s*([a-z0-9][a-z0-9_.-]*)\s*(>=|==|=|>)\s*(v?[0-9][^\s,;]*)\s*$", re.I)
_VERSION = re.compile(r"^v?([0-9]+(?:\.[0-9]+)*)(.*)$", re.I)
_SPLIT = re.compile(r"[,;\n]")
_REMARK = re.compile(r"\s*\([^)]*\)\s*$")


@dataclass(frozen=True)
class Minimum:
    """``client op version``, e.g. aurora >= 4.2."""

    client: str
    op: str
    version: str

    def __str__(self) -> str:
        return f"{self.client} {self.op} {self.version}"

    def admits(self, version: str) -> bool | None:
        """Whether ``version`` meets it; None when either version cannot be compared."""
        order = compare(version, self.version)
        if order is None:
            return None
        if self.op == ">":
            return order > 0
        if self.op == ">=":
            return order >= 0
        return order == 0


def minimums(text: str) -> dict[str, Minimum]:
    """Every ``<name> <op> <version>`` item of the field, by lowercased name (the last wins).
    An item may be a list bullet, in code quotes, or followed by a remark in parentheses."""
    found: dict[str, Minimum] = {}
    for item in _SPLIT.split(text):
        item = _REMARK.sub("", item.replace("`", "")).strip().lstrip("-*+ \t")
        match = _ITEM.match(item)
        if match:
            name, op, version = match.groups()
            found[name.lower()] = Minimum(name.lower(), "==" if op == "=" else op, version)
    return found


def form_minimums(fields: Mapping[str, object]) -> dict[str, Minimum]:
    """The minimums a proposal's form (its ``dependencies`` field) names."""
    return minimums(str(fields.get("dependencies") or ""))


def _key(version: str) -> tuple[tuple[int, ...], int] | None:
    match = _VERSION.match(version.strip())
    if match is None:
        return None
    numbers = tuple(int(n) for n in match.group(1).split("."))
    while len(numbers) > 1 and numbers[-1] == 0:  # 4.2.0 == 4.2
        numbers = numbers[:-1]
    suffix = match.group(2)
    release = 0 if suffix and suffix[0] not in "+" else 1  # a build tag (+abc) is the release
    return numbers, release


def compare(a: str, b: str) -> int | None:
    """-1, 0 or 1 as ``a`` is below, equal to or above ``b``; None if either is not a version."""
    ka, kb = _key(a), _key(b)
    if ka is None or kb is None:
        return None
    return (ka > kb) - (ka < kb)
