"""When meetings happen, and when their reminders fire.

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
- An ``UNTIL`` in UTC (``UNTIL=20261231T235959Z``, as RFC 5545 requires next to a DTSTART with
  a zone, and as calendar tools write it) is read as that instant in the meeting's wall-clock
  time before expanding (:func:`local_rule`); a floating ``UNTIL`` (no ``Z``) or a date is
  already a local wall-clock time and is used as written.
- Ad-hoc meetings (:class:`AdhocMeeting`) are single occurrences with the same shape. Their key
  is made of the local time they were *first* scheduled at (``first_start`` once moved), so a
  moved call keeps its key, its agenda issue and its agenda items, like a moved series instance.
- Where an occurrence now falls, cancelled or not, is :func:`find_occurrence`; which stale
  agenda a series instance takes over after an amendment moved its hour is :func:`superseded`
  (each stale key goes to its :func:`heir`, the nearest instance of its day, if any).
- Expansion is bounded: a rule dateutil would repeat forever (``INTERVAL=0``) or scan second by
  second to the year 9999 (a sub-daily ``BYSETPOS`` that picks nothing) is refused
  (:func:`rule_problem`), and one expansion looks at no more than ``SCAN_LIMIT`` instances.

The misfire policy of :func:`due_timers` is stated in its docstring.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import HOURLY, MINUTELY, SECONDLY, rrule, rruleset, rrulestr

from charter.model import Meeting, format_duration

KEY_FORMAT = "%Y-%m-%dT%H:%M"
# The Gregorian calendar repeats after 400 years: the same weekdays, leap years and week numbers.
CYCLE_YEARS = 400
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


def _require_aware(value: datetime, name: str) -> datetime:
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
            _require_aware(when, f"the new time of {key}")
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
        _require_aware(self.starts_at, f"the start of {self.id}")
        if self.first_start is not None:
            _require_aware(self.first_start, f"the first start of {self.id}")
        zone_of(self.timezone)

    def occurrence(self) -> Occurrence:
        """The call's one occurrence at ``starts_at``, keyed by its first local start; a call
        moved since (``first_start`` set) is ``moved``, so its reminders are re-armed."""
        zone = zone_of(self.timezone)
        start = self.starts_at.astimezone(UTC)
        key = occurrence_key(self.id, (self.first_start or start).astimezone(zone))
        moved = self.first_start is not None
        return Occurrence(self.id, key, start, start + self.duration, start.astimezone(zone), moved)


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
    after = _require_aware(start_after, "start_after")
    end = None if until is None else _require_aware(until, "until")
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


@dataclass(frozen=True)
class Reminder:
    """One timer: ``key`` is unique per firing, ``series`` groups timers that coalesce."""

    key: str
    fires_at: datetime  # UTC
    series: str
    occurrence_key: str = ""
    kind: str = "reminder"  # reminder | agenda | any other timer kind


def reminders_for(occurrence: Occurrence, meeting: Meeting | AdhocMeeting) -> list[Reminder]:
    """A reminder per offset in ``reminders``, and the agenda post at ``agenda_before``.

    Keys are ``<occurrence key>/remind-<offset>`` (the offset as the charter writes durations,
    largest exact unit: 24h is ``1d``) and ``<occurrence key>/agenda``. The series (what
    coalesces, see :func:`due_timers`) of a reminder is ``<meeting id>/<label>``: after downtime
    only the latest "starts in 1h" of a meeting is worth sending. An agenda post's series is
    ``<occurrence key>/agenda``: every upcoming call needs its own agenda, so each one is judged
    on its own grace and a later call's post never makes an earlier one missed. A moved instance
    gets keys suffixed with its new start, so moving a call re-arms its reminders.
    """
    timers = [(f"remind-{format_duration(off)}", off, "reminder") for off in meeting.reminders]
    if meeting.agenda_before is not None:
        timers.append(("agenda", meeting.agenda_before, "agenda"))
    suffix = f"@moved-{occurrence.starts_at:%Y%m%dT%H%MZ}" if occurrence.moved else ""
    out = [
        Reminder(
            key=f"{occurrence.key}/{label}{suffix}",
            fires_at=occurrence.starts_at - offset,
            series=f"{occurrence.key if kind == 'agenda' else occurrence.meeting_id}/{label}",
            occurrence_key=occurrence.key,
            kind=kind,
        )
        for label, offset, kind in timers
    ]
    return sorted(out, key=lambda r: (r.fires_at, r.key))


class Due(NamedTuple):
    fire: tuple[Reminder, ...]
    missed: tuple[Reminder, ...]


def due_timers(
    timers: Iterable[Reminder],
    now: datetime,
    last_fired: Mapping[str, datetime],
    grace: timedelta,
) -> Due:
    """Which timers to fire now, and which to record as missed.

    Misfire policy:

    - A timer is pending when ``fires_at <= now`` and it is later than ``last_fired[series]``
      (the ``fires_at`` of the last timer of its series that was fired or recorded missed).
    - Coalescing: of the pending timers of one series only the latest is a candidate; the
      earlier ones are recorded as missed. Three hours of downtime across an hourly timer
      therefore fire it once, not three times.
    - Grace: the candidate fires only if it is at most ``grace`` late (``now - fires_at``);
      later than that it is recorded as missed, never sent late (a "call in 1 hour"
      reminder that arrives after the call started does harm).

    Both lists are sorted by (fires_at, key). Record the outcome with :func:`mark_handled`.
    """
    at = _require_aware(now, "now")
    pending: dict[str, list[Reminder]] = {}
    for timer in timers:
        done = last_fired.get(timer.series)
        if timer.fires_at <= at and (done is None or timer.fires_at > done):
            pending.setdefault(timer.series, []).append(timer)
    fire: list[Reminder] = []
    missed: list[Reminder] = []
    for series in pending.values():
        *stale, latest = sorted(series, key=lambda r: (r.fires_at, r.key))
        missed.extend(stale)
        (fire if at - latest.fires_at <= grace else missed).append(latest)

    def order(r: Reminder) -> tuple[datetime, str]:
        return (r.fires_at, r.key)

    return Due(tuple(sorted(fire, key=order)), tuple(sorted(missed, key=order)))


def mark_handled(last_fired: Mapping[str, datetime], due: Due) -> dict[str, datetime]:
    """The new ``last_fired``: each series advances to its latest fired or missed timer."""
    out = dict(last_fired)
    for timer in (*due.fire, *due.missed):
        if timer.series not in out or out[timer.series] < timer.fires_at:
            out[timer.series] = timer.fires_at
    return out


def clashes(
    start: datetime, end: datetime, others: Iterable[Occurrence], *, skip: str | None = None
) -> list[Occurrence]:
    """The occurrences among ``others`` that overlap ``[start, end)``, by start; ``skip`` is
    the key of the occurrence being moved. A call ending as another starts does not clash."""
    overlapping = (o for o in others if o.key != skip and o.starts_at < end and start < o.ends_at)
    return sorted(overlapping, key=lambda o: (o.starts_at, o.key))
