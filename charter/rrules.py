"""How the bot reads a meeting's RRULE (RFC 5545), and the bounds on expanding it.

Rules:

- An ``UNTIL`` in UTC (``UNTIL=20261231T235959Z``, as RFC 5545 requires next to a DTSTART with
  a zone, and as calendar tools write it) is read as that instant in the meeting's wall-clock
  time before expanding (:func:`local_rule`); a floating ``UNTIL`` (no ``Z``) or a date is
  already a local wall-clock time and is used as written.
- Expansion is bounded: a rule dateutil would repeat forever (``INTERVAL=0``) or scan second by
  second to the year 9999 (a sub-daily ``BYSETPOS`` that picks nothing) is refused
  (:func:`rule_problem`), and the search for a first instance is bounded too
  (:func:`first_instance`). How many instances one expansion looks at is
  :data:`charter.meetings.SCAN_LIMIT`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from dateutil.rrule import HOURLY, MINUTELY, SECONDLY, rrule, rruleset

# The Gregorian calendar repeats after 400 years: the same weekdays, leap years and week numbers.
CYCLE_YEARS = 400

_UTC_UNTIL = re.compile(r"(UNTIL=)([0-9]{8})T([0-9]{6})Z", re.IGNORECASE)


def local_rule(rule: str, zone: tzinfo) -> str:
    """``rule`` with each UTC ``UNTIL=YYYYMMDDTHHMMSSZ`` rewritten as the same instant in
    ``zone``'s wall-clock time (floating), so that it can be expanded from a naive local start.
    A ValueError (or OverflowError) names an UNTIL that is no date and time."""

    def local(match: re.Match[str]) -> str:
        at = datetime.strptime(match[2] + match[3], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        t = at.astimezone(zone)  # four-digit years even before 1000 (strftime may not pad)
        day, time = (
            f"{t.year:04d}{t.month:02d}{t.day:02d}",
            f"{t.hour:02d}{t.minute:02d}{t.second:02d}",
        )
        return f"{match[1]}{day}T{time}"

    return _UTC_UNTIL.sub(local, rule)


def _parts(rule: rrule | rruleset) -> list[rrule]:
    """The RRULEs (and EXRULEs) of a parsed rule; dateutil keeps a set's rules private."""
    if isinstance(rule, rrule):
        return [rule]
    return [*getattr(rule, "_rrule", ()), *getattr(rule, "_exrule", ())]


def _period_size(part: rrule) -> int | None:
    """How many times one sub-daily period holds (BYSETPOS counts within it), else None."""
    freq = getattr(part, "_freq", None)
    if freq == HOURLY:
        return len(getattr(part, "_byminute", ())) * len(getattr(part, "_bysecond", ()))
    if freq == MINUTELY:
        return len(getattr(part, "_bysecond", ()))
    return 1 if freq == SECONDLY else None


def rule_problem(rule: rrule | rruleset) -> str | None:
    """Why a parsed rule cannot be expanded in bounded time, or None.

    dateutil accepts ``INTERVAL=0`` (and below) and then repeats one period forever; and a
    sub-daily rule whose every ``BYSETPOS`` lies beyond its period (``FREQ=SECONDLY;BYSETPOS=2``:
    a second holds one time) matches nothing, while dateutil scans every period to year 9999.
    ``BYEASTER`` is dateutil's own, not RFC 5545: calendar apps given the feed cannot follow it.
    """
    for part in _parts(rule):
        interval = getattr(part, "_interval", 1)
        if interval < 1:
            return f"INTERVAL={interval} never moves on to the next meeting; use 1 or more"
        if getattr(part, "_byeaster", None):
            return "BYEASTER is not part of RFC 5545 (calendar apps cannot follow it); remove it"
        size, positions = _period_size(part), getattr(part, "_bysetpos", None) or ()
        if size is not None and positions and all(not -size <= p <= size for p in positions):
            return (
                f"BYSETPOS picks nothing: each period of this rule holds {size} "
                f"time{'s' if size != 1 else ''}, so no meeting would ever happen"
            )
    return None


def first_instance(rule: rrule) -> datetime | None:
    """The rule's first instance at or after its start, or None when there is none within
    ``CYCLE_YEARS`` years.

    The search is bounded: dateutil scans period after period until a match or the year 9999,
    so it runs on a copy moved by whole 400-year cycles (same weekdays and leap years, so the
    same instances; :func:`rule_problem` refuses ``BYEASTER``, which has no such cycle) to start
    400 to 800 years before 9999.
    """
    start: datetime = getattr(rule, "_dtstart")  # noqa: B009 - dateutil keeps it private
    until: datetime | None = getattr(rule, "_until", None)
    years = max((9999 - CYCLE_YEARS - start.year) // CYCLE_YEARS, 0) * CYCLE_YEARS
    if years:
        # An UNTIL beyond the year 9999 once moved lies past the end of the search anyway.
        moved_until = None
        if until is not None and until.year + years <= 9999:
            moved_until = until.replace(year=until.year + years)
        rule = rule.replace(dtstart=start.replace(year=start.year + years), until=moved_until)
    found = next(iter(rule), None)
    return None if found is None else found.replace(year=found.year - years)
