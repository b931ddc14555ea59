"""When meetings happen: the occurrences of a series or an ad-hoc call, and their keys.

Rules:

- A series' RRULE is expanded in the meeting's *local wall-clock time*: the charter's ``start``
  is a naive local time in ``timezone`` and every instance keeps that wall-clock time, so the
  Berlin call stays at 15:00 Berlin time on both sides of a daylight-saving change (its UTC hour
  moves instead). Each local time is then converted to UTC.
- A local time that does not exist (the spring-forward gap) is read with the UTC offset in force
  *before* the gap, as RFC 5545 §3.3.5 says: 02:30 on the day Berlin jumps from 02:00 to 03:00
  happens at 01:30 UTC, which is 03:30 local. A local time that exists twice (fall back) means the
  first of the two (``fold=0``).
- Each instance has a stable key ``<meeting-id>@<YYYY-MM-DDTHH:MM>`` made of the *nominal* local
  time the rule produced. The key never changes, even when the instance is moved, so it can be
  used as an id in storage, in EXDATE/RECURRENCE-ID and in reminder keys.
- A :class:`Schedule` holds exceptions by key: cancelled instances are skipped; moved instances
  keep their key and take their new time (which decides whether they fall in a window).
- An ``UNTIL`` in UTC is read as that instant in the meeting's wall-clock time before
  expanding (:func:`charter.rrules.local_rule`).
- Ad-hoc meetings (:class:`AdhocMeeting`) are single occurrences with the same shape. Their key
  is made of the local time they were *first* scheduled at (``first_start`` once moved), so a
  moved call keeps its key, its agenda issue and its agenda items, like a moved series instance.
- Where an occurrence now falls, cancelled or not, is :func:`find_occurrence`; which stale
  agenda a series instance takes over after an amendment moved its hour is :func:`superseded`
  (each stale key goes to its :func:`heir`, the nearest instance of its day, if any).
- Expansion is bounded: a rule that cannot be expanded in bounded time is refused
  (:func:`charter.rrules.rule_problem`), and one expansion looks at no more than
  ``SCAN_LIMIT`` instances.

When reminders fire, and the misfire policy, is :mod:`charter.meeting_timers`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rruleset, rrulestr

from charter.model import Charter, Meeting
from charter.rrules import local_rule, rule_problem

KEY_FORMAT = "%Y-%m-%dT%H:%M"
SCAN_LIMIT = 100_000  # instances one expansion may look at (a day of a per-second rule)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class MeetingError(ValueError):
    """A meeting, key or exception that cannot be used; the message says what to fix."""


def zone_of(name: str) -> ZoneInfo:
    """The IANA zone called ``name``, or a :class:`MeetingError` naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MeetingError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC"
        ) from exc


def localize(local: datetime, zone: tzinfo) -> datetime:
    """UTC instant of a naive local wall-clock time (gap: offset before it; overlap: first)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def exists_locally(local: datetime, zone: tzinfo) -> bool:
    """False for a wall-clock time skipped by a spring-forward change."""
    back = localize(local, zone).astimezone(zone).replace(tzinfo=None)
    return back == local.replace(tzinfo=None)


def is_ambiguous(local: datetime, zone: tzinfo) -> bool:
    """True for a wall-clock time that happens twice (the hour repeated when clocks go back)."""
    naive = local.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0).utcoffset()
    second = naive.replace(tzinfo=zone, fold=1).utcoffset()
    return exists_locally(naive, zone) and first != second


def occurrence_key(meeting_id: str, local: datetime) -> str:
    return f"{meeting_id}@{local.strftime(KEY_FORMAT)}"


def parse_key(key: str) -> tuple[str, datetime]:
    """Split ``core-sync@2026-03-26T15:00`` into the meeting id and the nominal local time."""
    meeting_id, sep, stamp = key.partition("@")
    try:
        if not sep or not meeting_id:
            raise ValueError(key)
        return meeting_id, datetime.strptime(stamp, KEY_FORMAT)
    except ValueError as exc:
        raise MeetingError(
            f"{key!r} is not an occurrence key; expected <meeting-id>@YYYY-MM-DDTHH:MM"
        ) from exc


def require_aware(value: datetime, name: str) -> datetime:
    """``value`` in UTC; a naive time is refused (every instant the rules take is aware UTC)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Occurrence:
    meeting_id: str
    key: str
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    local_start: datetime  # aware, in the meeting's zone
    moved: bool = False


@dataclass(frozen=True)
class Schedule:
    """Exceptions to the series, by occurrence key: cancelled, or moved to a new UTC start."""

    cancelled: frozenset[str] = frozenset()
    moved: Mapping[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key in (*self.cancelled, *self.moved):
            parse_key(key)
        for key, when in self.moved.items():
            require_aware(when, f"the new time of {key}")
        if both := sorted(self.cancelled & set(self.moved)):
            raise MeetingError(f"{both[0]} is both cancelled and moved; keep one")

    def moved_for(self, meeting_id: str) -> dict[str, datetime]:
        return {k: v for k, v in self.moved.items() if parse_key(k)[0] == meeting_id}


@dataclass(frozen=True)
class AdhocMeeting:
    """A one-off call (``/charter meeting call <when>``) with a meeting's reminder settings."""

    id: str
    title: str
    starts_at: datetime  # aware
    duration: timedelta
    timezone: str = "UTC"
    agenda_before: timedelta | None = None
    reminders: tuple[timedelta, ...] = ()
    announce_to: tuple[str, ...] = ()
    cancelled: bool = False
    private: bool = False  # about a confidential matter: private channels only, no public pages
    # Where the call was first scheduled, once it has been moved (None: never moved). Its key
    # is made of this time, so moving the call keeps its key (agenda issue, items, outcomes).
    first_start: datetime | None = None

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise MeetingError(f"{self.id!r} is not a meeting id; use a-z, 0-9, - and _")
        require_aware(self.starts_at, f"the start of {self.id}")
        if self.first_start is not None:
            require_aware(self.first_start, f"the first start of {self.id}")
        zone_of(self.timezone)

    def occurrence(self) -> Occurrence:
        """The call's one occurrence at ``starts_at``, keyed by its first local start; a call
        moved since (``first_start`` set) is ``moved``, so its reminders are re-armed."""
        zone = zone_of(self.timezone)
        start = self.starts_at.astimezone(UTC)
        key = occurrence_key(self.id, (self.first_start or start).astimezone(zone))
        moved = self.first_start is not None
        return Occurrence(self.id, key, start, start + self.duration, start.astimezone(zone), moved)


Call = Meeting | AdhocMeeting  # a charter series or an ad-hoc call


def is_private(call: Call, charter: Charter) -> bool:
    """True for an ad-hoc call marked private (a confidential rollout's go/no-go), and for a call
    announced only to channels that are all private."""
    if isinstance(call, AdhocMeeting) and call.private:
        return True
    names = call.announce_to
    return bool(names) and all(
        (ch := charter.channels.get(name)) is not None and ch.private for name in names
    )


def series_rule(meeting: Meeting) -> rrule | rruleset:
    """The meeting's RRULE anchored at its naive local start (wall-clock expansion); a rule
    that cannot be expanded in bounded time (:func:`rule_problem`) is refused."""
    zone = zone_of(meeting.timezone)
    start = meeting.start
    if start.tzinfo is not None:
        start = start.astimezone(zone).replace(tzinfo=None)
    try:
        rule = rrulestr(local_rule(meeting.rrule, zone), dtstart=start)
    except (ValueError, TypeError, OverflowError) as exc:
        raise MeetingError(
            f"meeting {meeting.id}: {meeting.rrule!r} is not an RFC 5545 RRULE ({exc})"
        ) from exc
    problem = rule_problem(rule)
    if problem is not None:
        raise MeetingError(f"meeting {meeting.id}: {meeting.rrule!r}: {problem}")
    return rule


def is_instance(meeting: Meeting, local: datetime) -> bool:
    """True when ``local`` (naive, meeting zone) is a nominal instance of the series."""
    return series_rule(meeting).after(local, inc=True) == local


def _instance(
    meeting: Meeting, local: datetime, zone: ZoneInfo, moved: datetime | None
) -> Occurrence:
    start = localize(local, zone) if moved is None else moved.astimezone(UTC)
    key = occurrence_key(meeting.id, local)
    return Occurrence(
        meeting.id, key, start, start + meeting.duration, start.astimezone(zone), moved is not None
    )


def find_occurrence(
    meeting: Meeting | AdhocMeeting, key: str, schedule: Schedule | None = None
) -> Occurrence | None:
    """The occurrence ``key`` of ``meeting`` where it now falls (at its new time if moved),
    whether or not it is cancelled; None when ``key`` names no instance of it (another meeting's
    key, or a time the series' rule no longer produces since the charter was amended)."""
    if isinstance(meeting, AdhocMeeting):
        occ = meeting.occurrence()
        return occ if occ.key == key else None
    meeting_id, local = parse_key(key)
    if meeting_id != meeting.id or not is_instance(meeting, local):
        return None
    moved = (schedule or Schedule()).moved.get(key)
    return _instance(meeting, local, zone_of(meeting.timezone), moved)


def planned_start(occurrence: Occurrence) -> datetime:
    """The UTC time ``occurrence`` was planned for before any move: its key's local time."""
    zone = occurrence.local_start.tzinfo or UTC
    return localize(parse_key(occurrence.key)[1], zone)


def heir(meeting: Meeting, key: str) -> datetime | None:
    """The nominal local start of the instance that takes over the agenda of occurrence ``key``
    once the series' rule no longer produces it (a charter amendment moved or dropped its
    hour): the series' instance on the same local day nearest to it (then the earlier). None
    when ``key`` is still an instance, or no instance falls on that day (the call is gone)."""
    local = parse_key(key)[1]
    if is_instance(meeting, local):
        return None
    midnight = datetime.combine(local.date(), time())
    rule = series_rule(meeting)
    day = rule.between(midnight, midnight + timedelta(days=1), inc=True)
    same = [at for at in day if at.date() == local.date()]
    return min(same, key=lambda at: (abs(at - local), at)) if same else None


def nominal_occurrence(meeting: Meeting, key: str) -> Occurrence:
    """Occurrence ``key`` of ``meeting`` at the time its key names, whether or not the series'
    rule still produces it (for the agenda of a call an amendment removed)."""
    local = parse_key(key)[1]
    return _instance(meeting, local, zone_of(meeting.timezone), None)


def superseded(meeting: Meeting, occurrence: Occurrence, keys: Iterable[str]) -> str | None:
    """Which of ``keys`` (occurrences whose agenda was posted) ``occurrence`` takes over: a key
    of the same series that the series' rule no longer produces (a charter amendment moved the
    call's hour) and whose :func:`heir` is ``occurrence``: with two calls a day, each stale key
    goes to the call of that day nearest to it, never to the other. The nearest in time wins
    (then the earlier); None when there is none. The same day only: an amendment that moves a
    call to another day leaves its old agenda alone."""
    day = parse_key(occurrence.key)[1]
    stale: list[tuple[timedelta, datetime, str]] = []
    for key in keys:
        meeting_id, local = parse_key(key)
        if meeting_id != meeting.id or local.date() != day.date() or local == day:
            continue
        if heir(meeting, key) == day:
            stale.append((abs(local - day), local, key))
    return min(stale)[2] if stale else None


def occurrences(
    meeting: Meeting | AdhocMeeting,
    start_after: datetime,
    *,
    count: int | None = None,
    until: datetime | None = None,
    schedule: Schedule | None = None,
) -> list[Occurrence]:
    """Instances starting strictly after ``start_after`` (and at or before ``until``), by start.

    At most ``count`` are returned; at least one of ``count`` and ``until`` is required. Cancelled
    keys are skipped; moved keys appear at their new time, in order of that time. An ad-hoc
    meeting yields its one occurrence unless its own ``cancelled`` flag is set (``schedule``
    holds exceptions to series; an ad-hoc call is moved by changing its ``starts_at``).
    """
    after = require_aware(start_after, "start_after")
    end = None if until is None else require_aware(until, "until")
    if count is None and end is None:
        raise ValueError("occurrences() needs count or until, or the series may never end")
    if count is not None and count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    schedule = schedule or Schedule()
    if isinstance(meeting, AdhocMeeting):
        occ = meeting.occurrence()
        hit = (
            not meeting.cancelled
            and after < occ.starts_at
            and (end is None or occ.starts_at <= end)
        )
        return [occ] if hit else []
    return _expand(meeting, after, end, count, schedule)


def _expand(
    meeting: Meeting, after: datetime, end: datetime | None, count: int | None, schedule: Schedule
) -> list[Occurrence]:
    zone = zone_of(meeting.timezone)
    moved = schedule.moved_for(meeting.id)
    shifts = [new - localize(parse_key(k)[1], zone) for k, new in moved.items()]
    # A move can pull an instance across the window edges: scan early enough to catch
    # instances moved later, and keep going long enough to catch instances moved earlier.
    later = max([s for s in shifts if s > timedelta(0)], default=timedelta(0))
    earlier = max([-s for s in shifts if s < timedelta(0)], default=timedelta(0))
    scan_from = (after - later).astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    kept: list[Occurrence] = []
    for seen, local in enumerate(series_rule(meeting).xafter(scan_from, inc=True)):
        if seen >= SCAN_LIMIT:
            raise MeetingError(
                f"meeting {meeting.id}: {meeting.rrule!r} gives more than {SCAN_LIMIT} "
                "meetings in one window; a call repeats far less often"
            )
        floor = localize(local, zone) - earlier  # no later instance can start before this
        if end is not None and floor > end:
            break
        if count is not None and len(kept) >= count and floor > kept[count - 1].starts_at:
            break
        key = occurrence_key(meeting.id, local)
        if key in schedule.cancelled:
            continue
        occ = _instance(meeting, local, zone, moved.get(key))
        if after < occ.starts_at and (end is None or occ.starts_at <= end):
            kept.append(occ)
            kept.sort(key=lambda o: (o.starts_at, o.key))
    return kept if count is None else kept[:count]


def clashes(
    start: datetime, end: datetime, others: Iterable[Occurrence], *, skip: str | None = None
) -> list[Occurrence]:
    """The occurrences among ``others`` that overlap ``[start, end)``, by start; ``skip`` is
    the key of the occurrence being moved. A call ending as another starts does not clash."""
    overlapping = (o for o in others if o.key != skip and o.starts_at < end and start < o.ends_at)
    return sorted(overlapping, key=lambda o: (o.starts_at, o.key))
