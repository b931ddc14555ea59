"""Reading ``<when>`` for ad-hoc calls (``/charter meeting call <when>``).

Accepted forms (keywords are case-insensitive):

- ``2027-03-01 14:00Z``, ``2027-03-01T14:00+02:00`` — a date and time with a UTC offset;
- ``2027-03-01 14:00 Europe/Berlin`` — a date and time in a named IANA zone (or ``UTC``);
- ``thursday 15:00 Europe/Berlin``, ``thu 15:00`` — the next such weekday: the earliest instant
  *strictly after now* on that weekday at that time, so today counts while its time is ahead;
- ``today 16:00``, ``tomorrow 09:30`` — in the zone's calendar;
- ``in 2 hours``, ``in 90 minutes``, ``in 3 days``, ``in 1 week`` — elapsed time from now (3
  days is 72 hours even across a daylight-saving change), rounded up to the next whole minute:
  every form gives a whole minute, so the time shown (to the minute) is the time stored, and a
  call "in 1 minute" has started when its minute shows on the clock.

Input without an offset or zone is read in ``default_zone`` (the user's linked zone, else the
charter's). A local time skipped by a spring-forward change is refused with the nearest real
time as a suggestion; a time that happens twice (fall back) means the first, and says so.
Times that are not after ``now`` are refused: a call cannot be scheduled in the past; nor can
it be more than ``MAX_AHEAD`` (about ten years) ahead, which also keeps every instant, and an
hour or a day after it, within what a ``datetime`` can hold. ``next thursday`` is not a form:
``thursday 15:00`` already means the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from charter.meetings import MeetingError, exists_locally, is_ambiguous, localize, zone_of

_TIME = r"(\d{1,2}):(\d{2})"
_ABSOLUTE = re.compile(
    rf"^(\d{{4}})-(\d{{2}})-(\d{{2}})(?:t|\s+){_TIME}"
    r"(?:\s*(z|[+-]\d{2}:?\d{2})|\s+(\S+))?$",
    re.IGNORECASE,
)
_DAYWORD = re.compile(rf"^([a-z]+)\s+{_TIME}(?:\s+(\S+))?$", re.IGNORECASE)
_RELATIVE = re.compile(r"^in\s+(\d{1,6})\s*([a-z]+)$", re.IGNORECASE)
_UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days"), timedelta(days=1)),
    **dict.fromkeys(("w", "week", "weeks"), timedelta(weeks=1)),
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_WORDS = {
    **{name: i for i, name in enumerate(_WEEKDAYS)},
    **{name[:3]: i for i, name in enumerate(_WEEKDAYS)},
    "tues": 1, "weds": 2, "thur": 3, "thurs": 3,
}  # fmt: skip
# Words at which a time has begun, never a title's: the days the reader reads, and any clock or
# date (``Sync at 16:00 in 3 days`` is no title ``Sync at 16:00``).
_DAYS = frozenset({*_DAY_WORDS, "today", "tomorrow"})
_CLOCK_OR_DATE = re.compile(r"\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}")
# Words that lead into a time when spoken (``next thursday``, ``on thursday``, ``at 16:00``,
# ``next week thursday``), which the reader does not read; a title holds them as often (``Sync
# on rollout``, ``Sync at Acme``), so a title may hold one but never ends with one. Not ``in``:
# a title has it as often (``Sync in person``) as a time does (``in 2 hours``).
_LEAD_INS = frozenset({"next", "this", "coming", "week", "on", "at", "@", "by", "around", "from"})
EXAMPLES = "'2027-03-01 14:00 Europe/Berlin', 'thursday 15:00', 'tomorrow 09:30' or 'in 2 hours'"
MAX_AHEAD = timedelta(days=3653)  # ten years
_TOO_FAR = "pick a time at most ten years from now"


class WhenError(ValueError):
    """``<when>`` could not be read; the message says how to write it."""


@dataclass(frozen=True)
class WhenResult:
    at_utc: datetime
    zone_used: str
    interpreted_as: str


def parse_when(text: str, now: datetime, default_zone: str) -> WhenResult:
    """Read ``text`` (see the module docstring) relative to ``now`` (aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    now = now.astimezone(UTC)
    spoken = " ".join(text.split())
    if match := _RELATIVE.match(spoken):
        result = _relative(match, now, default_zone)
    elif match := _ABSOLUTE.match(spoken):
        result = _absolute(match, default_zone)
    elif match := _DAYWORD.match(spoken):
        result = _dayword(match, now, default_zone)
    else:
        raise WhenError(f"could not read {spoken!r} as a time; write e.g. {EXAMPLES}")
    if result.at_utc <= now:
        raise WhenError(
            f"{result.interpreted_as} is not in the future (now is {now:%Y-%m-%d %H:%M} UTC)"
        )
    if result.at_utc - now > MAX_AHEAD:
        raise WhenError(f"{result.interpreted_as} is too far ahead; {_TOO_FAR}")
    return result


def title_split(title: str, text: str, now: datetime, default_zone: str) -> tuple[str, str] | None:
    """What an unquoted title of several words meant, when ``text`` (read as the time) does not
    read but its words after the first few do: ``meeting schedule Sync review tomorrow 16:00``
    gives ``title`` ``Sync`` and ``text`` ``review tomorrow 16:00``, which meant the title
    ``Sync review`` at ``tomorrow 16:00``. The fewest words moved that make a time that reads
    (:func:`parse_when`); None when no split does. The title never ends with a word that leads
    into a time (``Sync next thursday 16:00`` is not the title ``Sync next``: ``next`` is refused
    with the time), though it may hold one (``Sync on rollout tomorrow 16:00`` is ``Sync on
    rollout``); and no split moves a day, a clock or a date (``Sync today 16:00 or tomorrow
    16:00``, ``Sync at 16:00 in 3 days``): the time had begun there."""
    words = text.split()
    for k in range(1, len(words)):
        moved = words[k - 1].lower()
        if moved in _DAYS or _CLOCK_OR_DATE.search(moved):
            return None
        if moved in _LEAD_INS:
            continue
        try:
            parse_when(" ".join(words[k:]), now, default_zone)
        except WhenError:
            continue
        return " ".join([title, *words[:k]]), " ".join(words[k:])
    return None


def preview(result: WhenResult, reader_zone: str) -> str:
    """The confirmation line: the time in UTC and in the reader's zone."""
    zone = _zone(reader_zone)
    utc = f"{result.at_utc:%a %Y-%m-%d %H:%M} UTC"
    label = _zone_label(zone, reader_zone)
    if label == "UTC":
        return utc
    local = result.at_utc.astimezone(zone)
    return f"{utc} · {local:%a %Y-%m-%d %H:%M} {label} (your time)"


@lru_cache(maxsize=1)
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    try:
        return zone_of(name)
    except MeetingError:
        exact = _zones_by_lower_name().get(name.lower())
        if exact is None:
            raise WhenError(
                f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin, or UTC"
            ) from None
        return ZoneInfo(exact)


def _zone_label(zone: tzinfo, name: str) -> str:
    return "UTC" if zone is UTC else str(getattr(zone, "key", name))


def _clock(hour: str, minute: str) -> time:
    h, m = int(hour), int(minute)
    if h > 23 or m > 59:
        raise WhenError(f"{hour}:{minute} is not a time of day; write HH:MM from 00:00 to 23:59")
    return time(h, m)


def _at(day: date, clock: time, zone: tzinfo, label: str) -> WhenResult:
    """The instant of a local date and time, refusing times the zone skips."""
    local = datetime.combine(day, clock)
    try:
        at = localize(local, zone)
    except OverflowError:  # in UTC it falls after the year 9999 (or before the year 1)
        where = f"too far ahead; {_TOO_FAR}" if day.year > 1 else "not in the future"
        raise WhenError(f"{local.isoformat(' ', 'minutes')} {label} is {where}") from None
    if not exists_locally(local, zone):
        real = at.astimezone(zone)
        raise WhenError(
            f"{clock:%H:%M} on {day:%Y-%m-%d} does not exist in {label} (clocks go forward); "
            f"did you mean {real:%H:%M}?"
        )
    note = (
        f" (the first of two {clock:%H:%M}s; clocks go back)" if is_ambiguous(local, zone) else ""
    )
    described = f"{local:%a %Y-%m-%d %H:%M} {label}{note}"
    if label != "UTC":
        described += f" = {at:%a %Y-%m-%d %H:%M} UTC"
    return WhenResult(at, label, described)


def _relative(match: re.Match[str], now: datetime, default_zone: str) -> WhenResult:
    amount, unit = int(match.group(1)), match.group(2).lower()
    if unit not in _UNITS:
        raise WhenError(f"unknown unit {unit!r}; write minutes, hours, days or weeks")
    delta = amount * _UNITS[unit]
    if delta > MAX_AHEAD:  # checked before adding: in 999999 weeks is past the year 9999
        raise WhenError(f"in {amount} {unit} is too far ahead; {_TOO_FAR}")
    at = _whole_minute(now + delta)
    zone = _zone(default_zone)
    label = _zone_label(zone, default_zone)
    local = at.astimezone(zone)
    described = f"in {amount} {unit}: {at:%a %Y-%m-%d %H:%M} UTC"
    if label != "UTC":
        described += f" = {local:%a %Y-%m-%d %H:%M} {label}"
    return WhenResult(at, label, described)


def _whole_minute(at: datetime) -> datetime:
    """``at`` rounded up to the next whole minute (unchanged when it is one)."""
    past = timedelta(seconds=at.second, microseconds=at.microsecond)
    return at if not past else at - past + timedelta(minutes=1)


def _absolute(match: re.Match[str], default_zone: str) -> WhenResult:
    year, month, day, hour, minute, offset, zone_name = match.groups()
    try:
        when = date(int(year), int(month), int(day))
    except ValueError:
        raise WhenError(f"{year}-{month}-{day} is not a calendar date") from None
    clock = _clock(hour, minute)
    if offset is not None:
        return _at(when, clock, *_fixed(offset))
    zone = _zone(zone_name or default_zone)
    return _at(when, clock, zone, _zone_label(zone, zone_name or default_zone))


def _fixed(offset: str) -> tuple[tzinfo, str]:
    if offset.upper() == "Z":
        return UTC, "UTC"
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise WhenError(f"{offset} is not a UTC offset; write e.g. +02:00 or -05:00")
    delta = timedelta(hours=hours, minutes=minutes) * (-1 if offset[0] == "-" else 1)
    return timezone(delta), f"UTC{offset[0]}{hours:02d}:{minutes:02d}"


def _dayword(match: re.Match[str], now: datetime, default_zone: str) -> WhenResult:
    word, hour, minute, zone_name = match.groups()
    name = zone_name or default_zone
    zone = _zone(name)
    label = _zone_label(zone, name)
    clock = _clock(hour, minute)
    today = now.astimezone(zone).date()
    word = word.lower()
    if word in ("today", "tomorrow"):
        return _at(today + timedelta(days=word == "tomorrow"), clock, zone, label)
    if word not in _DAY_WORDS:
        raise WhenError(
            f"{word!r} is not a day; write today, tomorrow or a weekday (thursday, thu), "
            f"or a date such as 2027-03-01"
        )
    day = today + timedelta(days=(_DAY_WORDS[word] - today.weekday()) % 7)
    if localize(datetime.combine(day, clock), zone) <= now:
        day += timedelta(weeks=1)  # strictly after now: today's time has passed
    return _at(day, clock, zone, label)
