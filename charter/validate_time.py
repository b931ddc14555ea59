"""The cross-checks of time: time zones, meeting starts and meeting rules (rrules).

Rules (part of :mod:`charter.validate`, which turns each problem into a finding):

- time zones (the charter's and each meeting's) are IANA names known to zoneinfo; a misspelt
  one gets the closest known name;
- a meeting's ``start`` is a local date and time (no UTC offset: the meeting's ``timezone``
  places it; not a bare number);
- a meeting's ``rrule`` parses (RFC 5545, an ``UNTIL=…Z`` read in the meeting's zone as
  :func:`charter.meetings.series_rule` does), has an ``INTERVAL`` of 1 or more (see
  :func:`charter.rrules.rule_problem`) and gives a meeting on or after its start.

Like the other checks, these read the raw data and skip what is malformed (the shape check
reports that). A meeting whose start is unreadable still gets its rrule parsed, from a fixed
placeholder date (never "now": charter/ reads no clock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from dateutil.rrule import rrule, rrulestr

from charter.rrules import CYCLE_YEARS, first_instance, local_rule, rule_problem

Loc = tuple[str | int, ...]
Suggest = Callable[[str, Any], str]  # " (did you mean 'x'?)" for the closest option, or ""

_PLACEHOLDER_START = datetime(2000, 1, 3, 12, 0)


def _map(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _zone_problem(name: str, suggest: Suggest) -> str | None:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        lower = {z.lower(): z for z in _zone_names()}
        hint = (
            f" (did you mean {lower[name.lower()]!r}?)"
            if name.lower() in lower
            else suggest(name, _zone_names())
        )
        return f"unknown time zone {name!r}{hint}; use an IANA name such as Europe/Berlin or UTC"
    return None


def timezone_problems(data: Mapping[str, Any], suggest: Suggest) -> Iterator[tuple[Loc, str]]:
    """Each time zone (the charter's, each meeting's) that zoneinfo does not know, with where
    it is; ``suggest`` words the closest known name."""
    places: list[tuple[Loc, Any]] = [
        (("charter", "timezone"), _map(data.get("charter")).get("timezone"))
    ]
    for m, meeting in enumerate(_list(data.get("meetings"))):
        places.append((("meetings", m, "timezone"), _map(meeting).get("timezone")))
    for loc, name in places:
        message = _zone_problem(name, suggest) if isinstance(name, str) else None
        if message is not None:
            yield loc, message


def _start_of(meeting: Mapping[str, Any]) -> datetime | None:
    """The meeting's start as written (text or a YAML timestamp), or None when unreadable or a
    bare date (the shape check reports that it lacks a time of day)."""
    start = meeting.get("start")
    if isinstance(start, datetime):
        return start
    try:
        return datetime.fromisoformat(start) if isinstance(start, str) and ":" in start else None
    except ValueError:
        return None


def meeting_start_problems(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    """A start is a local time read in the meeting's zone: no offset, and not a bare number."""
    for m, meeting in enumerate(_list(data.get("meetings"))):
        start = _map(meeting).get("start")
        if isinstance(start, int | float) and not isinstance(start, bool):
            yield (
                ("meetings", m, "start"),
                f"start must be a local date and time such as 2026-01-08T15:00, got {start}",
            )
        parsed = _start_of(_map(meeting))
        if parsed is not None and parsed.tzinfo is not None:
            yield (
                ("meetings", m, "start"),
                "start is a local time in the meeting's timezone; drop the UTC offset "
                "and set timezone instead",
            )


def _zone_or_utc(name: Any) -> tzinfo:
    """A meeting's zone, or UTC when it has none or an unknown one (that is reported apart)."""
    try:
        return ZoneInfo(name) if isinstance(name, str) else UTC
    except (ValueError, KeyError, OSError):
        return UTC


def rrule_problems(data: Mapping[str, Any]) -> Iterator[tuple[Loc, str]]:
    """A meeting's rrule parses, can be expanded in bounded time and gives a meeting on or after
    its start; an ``UNTIL=…Z`` (UTC) is read in the meeting's zone first, as
    :func:`charter.meetings.series_rule` does. Without a readable start the rule is parsed from
    a placeholder date, and whether it ever gives a meeting is left unjudged."""
    for m, meeting in enumerate(_list(data.get("meetings"))):
        rule = _map(meeting).get("rrule")
        if not isinstance(rule, str):
            continue
        problem = _rrule_problem(rule, _start_of(_map(meeting)), _map(meeting).get("timezone"))
        if problem is not None:
            yield ("meetings", m, "rrule"), problem


def _rrule_problem(rule: str, start: datetime | None, zone_name: Any) -> str | None:
    """What is wrong with one meeting's rrule, as a sentence, or None."""
    naive = (start or _PLACEHOLDER_START).replace(tzinfo=None)
    try:
        parsed = rrulestr(local_rule(rule, _zone_or_utc(zone_name)), dtstart=naive)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        return (
            f"rrule {rule!r} does not parse ({exc}); write an RFC 5545 rule "
            "such as FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"
        )
    problem = rule_problem(parsed)
    if problem is not None:
        return f"rrule {rule!r}: {problem}"
    rules = [parsed] if isinstance(parsed, rrule) else list(getattr(parsed, "_rrule", ()))
    if start is not None and any(first_instance(r) is None for r in rules):
        return (
            f"rrule {rule!r} gives no meeting within {CYCLE_YEARS} years of its start "
            f"{naive:%Y-%m-%dT%H:%M}; check its UNTIL, COUNT and BY… parts"
        )
    return None
