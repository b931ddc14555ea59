"""The meetings as an iCalendar (RFC 5545) feed, for people to subscribe to.

Rules:

- One VEVENT per series: DTSTART in the meeting's zone (``TZID``) with the charter's RRULE, so
  calendar clients expand it in local wall-clock time exactly as :mod:`charter.meetings` does.
  A VTIMEZONE is included for every zone used (UTC needs none: its times end in ``Z``), right
  for every date from 1970 on, so clients that use it place every call of an endless series
  (:func:`vtimezone`): changes of offset before ``RULES_FROM`` are listed (RDATE), later ones
  are the zone's yearly rules (RRULE). An observance starts at the local time *before* its
  change (RFC 5545 §3.6.5: Berlin springs forward at 02:00, not 03:00).
- RFC 5545 §3.3.10: next to a DTSTART with a zone (or in UTC), an RRULE's UNTIL is a UTC
  date-time. charterbot reads a floating UNTIL, or a date (its midnight), as a wall-clock time
  in the meeting's zone (:func:`charter.rrules.local_rule`), so the feed writes that instant
  in UTC and calendar apps end the series where the bot does: ``UNTIL=20261231`` next to a
  15:00 Berlin call is ``UNTIL=20261230T230000Z``, without the call of the 31st.
- UIDs are stable, derived from the meeting id and the charter's repository
  (``core-sync.meridian-net.upgrades@charterbot``), never random, so clients update events in
  place when the feed is fetched again.
- SEQUENCE is the series' revision counter, stored by the application and raised on every
  change to the series or its exceptions (the served feed adds the charter's version to a
  series' counter, so an amendment that redefines the series raises it too).
- DTSTAMP is when the series or call was last revised (``stamps``: its stored revision time,
  or the adoption of the charter that defines it, whichever is later), ``now`` only when no
  time is known. So the feed's bytes, and the ETag clients poll it with, change only when
  what it says does.
- A cancelled occurrence is an EXDATE on the series *and* an override VEVENT
  (RECURRENCE-ID, STATUS:CANCELLED), because some clients honour only one of the two.
  A moved occurrence is an override VEVENT with its new DTSTART.
- An exception whose key is no longer an occurrence of its series (the charter changed the
  meeting's ``start`` or ``rrule`` after the occurrence was cancelled or moved) describes a call
  that no longer exists: :func:`live_exceptions` drops it, and the served feed is built from
  what remains (:func:`calendar_ics` itself refuses such an exception with a ValueError).
- Ad-hoc calls are single VEVENTs (STATUS:CANCELLED once cancelled).
- Output is bytes with CRLF line endings and lines folded at 75 octets (icalendar does both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache

from dateutil.rrule import rrulestr
from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vRecur

from charter.meetings import AdhocMeeting, Schedule, is_instance, localize, parse_key, zone_of
from charter.model import Charter, Meeting
from charter.rrules import CYCLE_YEARS

PRODID = "-//charterbot//EN"
RULES_FROM = date(2038, 1, 1)  # a zone's changes of offset before it are listed, later rules
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def event_uid(charter: Charter, series_id: str) -> str:
    """``<series-id>.<owner>.<repo>@charterbot``: stable across regenerations and restarts."""
    return f"{series_id}.{charter.github.repository.replace('/', '.')}@charterbot".lower()


def _tz(name: str) -> tzinfo:
    # UTC is written with a Z suffix and needs no VTIMEZONE.
    return UTC if name.upper() in ("UTC", "ETC/UTC", "Z") else zone_of(name)


def _onsets_before(tz: Timezone) -> Timezone:
    """``tz`` (icalendar's, from a zone) with each observance starting at the local time before
    its change, as RFC 5545 says: icalendar writes a spring-forward change at the first local
    time after it (03:00 for Berlin's 02:00), which clients read as an hour late."""
    for sub in tz.subcomponents:
        ahead = max(sub.TZOFFSETTO - sub.TZOFFSETFROM, timedelta(0))
        if not ahead:
            continue
        rdates = [d - ahead for d, _ in sub.rdates]
        sub.DTSTART = sub.DTSTART - ahead
        if rdates:
            del sub["RDATE"]
            sub.add("RDATE", rdates)
    return tz


def _yearly_rule(onsets: list[datetime]) -> str | None:
    """The RRULE (from ``onsets[0]``) that gives exactly ``onsets`` (local times, a year apart),
    or None: the n-th or last weekday of a month, a weekday within seven days of a month (a
    change at 24:00 or later: "the Friday after the fourth Thursday"), or a fixed date."""
    first = onsets[0]
    day = _DAYS[first.weekday()]
    lowest = min(d.day for d in onsets)
    week = ",".join(str(d) for d in range(lowest, lowest + 7))
    for part in (
        *(f"BYDAY={n}{day}" for n in (1, 2, 3, 4, -1)),
        f"BYMONTHDAY={week};BYDAY={day}",
        f"BYMONTHDAY={first.day}",
    ):
        rule = f"FREQ=YEARLY;BYMONTH={first.month};{part}"
        if list(rrulestr(f"{rule};COUNT={len(onsets)}", dtstart=first)) == onsets:
            return rule
    return None


@cache
def vtimezone(name: str) -> Timezone:
    """The VTIMEZONE of the zone ``name``: right from 1970 on and, for a zone whose changes
    follow yearly rules (all but a few), for ever.

    Changes of offset before ``RULES_FROM`` are listed. Each kind of change in the
    ``CYCLE_YEARS`` after it (the Gregorian calendar, and so every yearly rule of a zone,
    repeats after them) that one yearly RRULE gives exactly is written as that RRULE; a zone
    with no change left (no daylight saving time) needs nothing more. A zone whose changes no
    yearly rule gives (announced years ahead, or across the end of a month) is listed to the
    end of the cycle instead. Cached: a zone takes tens of milliseconds.
    """
    cycle_end = RULES_FROM.replace(year=RULES_FROM.year + CYCLE_YEARS)
    later = _onsets_before(Timezone.from_tzid(name, first_date=RULES_FROM, last_date=cycle_end))
    kinds = later.subcomponents[1:]  # the first is the offset in force at RULES_FROM
    onsets = [sorted([sub.DTSTART, *(d for d, _ in sub.rdates)]) for sub in kinds]
    rules = [rule for times in onsets if (rule := _yearly_rule(times)) is not None]
    if len(rules) < len(kinds):
        return _onsets_before(Timezone.from_tzid(name, last_date=cycle_end))
    tz = _onsets_before(Timezone.from_tzid(name, last_date=RULES_FROM))
    del tz["COMMENT"]  # "only works from 1970-01-01 to 2038-01-01": no longer so
    for sub, times, rule in zip(kinds, onsets, rules, strict=True):
        observance = TimezoneDaylight() if sub.name == "DAYLIGHT" else TimezoneStandard()
        observance.add("DTSTART", times[0])
        observance.add("RRULE", vRecur.from_ical(rule))
        for prop in ("TZNAME", "TZOFFSETFROM", "TZOFFSETTO"):
            observance[prop] = sub[prop]
        tz.add_component(observance)
    return tz


def _feed_rule(rule: str, zone: tzinfo) -> vRecur:
    """The charter's RRULE as the feed writes it: UNTIL in UTC (see the module rules)."""
    recur: vRecur = vRecur.from_ical(rule)
    if "UNTIL" in recur:
        recur["UNTIL"] = [_utc_until(value, zone) for value in recur["UNTIL"]]
    return recur


def _utc_until(value: date, zone: tzinfo) -> datetime:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    wall = value if isinstance(value, datetime) else datetime.combine(value, time())
    return localize(wall, zone)


def _event(uid: str, now: datetime, sequence: int, summary: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now)
    event.add("sequence", sequence)
    event.add("summary", summary)
    return event


def _series_events(
    charter: Charter, meeting: Meeting, schedule: Schedule, now: datetime, sequence: int
) -> list[Event]:
    zone = _tz(meeting.timezone)
    uid = event_uid(charter, meeting.id)
    master = _event(uid, now, sequence, meeting.title)
    start = meeting.start
    if start.tzinfo is not None:
        start = start.astimezone(zone).replace(tzinfo=None)
    master.add("dtstart", start.replace(tzinfo=zone))
    master.add("duration", meeting.duration)
    master.add("rrule", _feed_rule(meeting.rrule, zone))
    master.add("status", "CONFIRMED")
    overrides: list[Event] = []
    mine = sorted(
        (key, schedule.moved.get(key))
        for key in (*schedule.cancelled, *schedule.moved)
        if parse_key(key)[0] == meeting.id
    )
    cancelled = []
    for key, moved_to in mine:
        nominal = parse_key(key)[1]
        if not is_instance(meeting, nominal):
            raise ValueError(f"{key} is not an occurrence of {meeting.id} ({meeting.rrule})")
        override = _event(uid, now, sequence, meeting.title)
        override.add("recurrence-id", nominal.replace(tzinfo=zone))
        if moved_to is None:
            cancelled.append(nominal.replace(tzinfo=zone))
            override.add("dtstart", nominal.replace(tzinfo=zone))
            override.add("status", "CANCELLED")
        else:
            override.add("dtstart", moved_to.astimezone(zone))
            override.add("status", "CONFIRMED")
        override.add("duration", meeting.duration)
        overrides.append(override)
    if cancelled:
        master.add("exdate", cancelled)
    return [master, *overrides]


def live_exceptions(charter: Charter, schedule: Schedule) -> tuple[Schedule, list[str]]:
    """``schedule`` without the exceptions of the charter's series whose key is no longer an
    occurrence of that series, and those keys (sorted). Exceptions of ids that are not a
    series of the charter are kept: the feed ignores them."""
    stale = sorted(
        key
        for key in (*schedule.cancelled, *schedule.moved)
        if (meeting := charter.meeting(parse_key(key)[0])) is not None
        and not is_instance(meeting, parse_key(key)[1])
    )
    if not stale:
        return schedule, []
    gone = set(stale)
    kept = Schedule(
        cancelled=schedule.cancelled - gone,
        moved={k: v for k, v in schedule.moved.items() if k not in gone},
    )
    return kept, stale


def _adhoc_event(charter: Charter, adhoc: AdhocMeeting, now: datetime, sequence: int) -> Event:
    event = _event(event_uid(charter, adhoc.id), now, sequence, adhoc.title)
    event.add("dtstart", adhoc.starts_at.astimezone(_tz(adhoc.timezone)))
    event.add("duration", adhoc.duration)
    event.add("status", "CANCELLED" if adhoc.cancelled else "CONFIRMED")
    return event


def calendar_ics(
    charter: Charter,
    exceptions: Schedule,
    adhoc: Sequence[AdhocMeeting],
    *,
    series: str | None = None,
    now: datetime,
    revisions: Mapping[str, int] | None = None,
    stamps: Mapping[str, datetime] | None = None,
) -> bytes:
    """The feed of every meeting (``series=None``) or of one series or ad-hoc call by id.

    ``revisions`` maps a series or ad-hoc id to its revision counter (SEQUENCE; default 0),
    ``stamps`` to when it was last revised (DTSTAMP; default ``now``).
    The feed is public: a private ad-hoc call (a confidential rollout's go/no-go) is not in it.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    adhoc = [a for a in adhoc if not a.private]
    revisions, stamps = revisions or {}, stamps or {}

    def stamp(ident: str) -> datetime:
        return stamps.get(ident, now).astimezone(UTC)

    meetings = [m for m in charter.meetings if series in (None, m.id)]
    calls = sorted((a for a in adhoc if series in (None, a.id)), key=lambda a: (a.starts_at, a.id))
    if series is not None and not meetings and not calls:
        known = ", ".join([m.id for m in charter.meetings] + [a.id for a in adhoc])
        raise ValueError(f"no meeting called {series!r}; known: {known}")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", charter.charter.name)
    zones = sorted({m.timezone for m in meetings} | {a.timezone for a in calls})
    for name in zones:
        if _tz(name) is not UTC:
            cal.add_component(vtimezone(name))
    for meeting in meetings:
        for event in _series_events(
            charter, meeting, exceptions, stamp(meeting.id), revisions.get(meeting.id, 0)
        ):
            cal.add_component(event)
    for call in calls:
        cal.add_component(_adhoc_event(charter, call, stamp(call.id), revisions.get(call.id, 0)))
    ics: bytes = cal.to_ical()
    return ics
