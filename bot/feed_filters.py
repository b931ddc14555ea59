"""The Atom feed's query parameters (``bot.feeds``): which exist, what each accepts, and
whether an announcement passes them.

Rules:
- The filters are ``kind``, ``track``, ``client``, ``severity`` and ``proposal``, each
  repeatable; values inside one filter combine with OR, filters with AND, as subscriptions'
  do (``charter.subscriptions``).
- Every value is checked before anything is read: a kind must be an announcement kind; a
  track, client or severity one the running charter names; a proposal a number. Any other
  parameter name is refused too (a misspelt filter would otherwise filter nothing). All
  problems are answered at once, each with what is accepted and, for a near miss, a "did you
  mean", so ``?client=auroa`` is never a 200 feed of unrelated entries.
- ``client X`` passes announcements naming X and those naming no client (they concern every
  client). ``severity S`` is "S or worse", as ``subscribe … severity S`` is, and restricts only
  announcements that carry a severity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from charter.model import ANNOUNCE_KINDS, Charter
from charter.validate import suggest
from storage.dashboard_queries import positive_id

NAMES = ("kind", "track", "client", "severity", "proposal")
Filters = dict[str, set[str]]


class BadQuery(ValueError):
    """What is wrong with the query, one line per problem."""


class Params(Protocol):
    def keys(self) -> Any: ...
    def getlist(self, key: str) -> list[str]: ...


def _named(charter: Charter) -> dict[str, Sequence[str]]:
    """What each name-taking filter accepts under ``charter``."""
    return {
        "kind": ANNOUNCE_KINDS,
        "track": tuple(charter.tracks),
        "client": charter.client_ids,
        "severity": charter.incidents.severities,
    }


def parse(params: Params, charter: Charter) -> Filters:
    """The filters of a query; :class:`BadQuery` naming every problem when any is wrong."""
    problems = [
        f"there is no filter {name!r}{suggest(name, NAMES)}; the filters are {', '.join(NAMES)}"
        for name in dict.fromkeys(params.keys())
        if name not in NAMES
    ]
    found = {name: set(params.getlist(name)) for name in NAMES}
    for name, valid in _named(charter).items():
        for value in sorted(found[name] - set(valid)):
            problems.append(
                f"{name} must be one of {', '.join(valid)} (got {value!r}"
                f"{suggest(value, valid).replace(' (', '; ').rstrip(')')})"
            )
    if any(positive_id(p) is None for p in found["proposal"]):
        problems.append("proposal must be a number, e.g. ?proposal=42")
    if problems:
        raise BadQuery("\n".join(problems))
    found["proposal"] = {str(positive_id(p)) for p in found["proposal"]}
    return found


def wanted(p: dict[str, Any], f: Filters, charter: Charter) -> bool:
    """Whether the announcement payload ``p`` passes the filters ``f`` (see the rules)."""
    severity = p.get("severity")
    severe = (
        not f["severity"]
        or not isinstance(severity, str)
        or severity not in charter.incidents.severities
        or any(charter.incidents.at_least(severity, least) for least in f["severity"])
    )
    return (
        severe
        and (not f["kind"] or p.get("kind") in f["kind"])
        and (not f["track"] or p.get("track") in f["track"])
        and (not f["client"] or not p.get("clients") or bool(f["client"] & set(p["clients"])))
        and (not f["proposal"] or str(p.get("proposal")) in f["proposal"])
    )
