"""The iCalendar feed (bot.calendar), checked by parsing it back with icalendar."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from dateutil.rrule import rrulestr
from icalendar import Calendar

from bot.calendar import PRODID, calendar_ics, event_uid, vtimezone
from charter.meetings import AdhocMeeting, Schedule, occurrences
from charter.model import Charter


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def charter() -> Charter:
    default = Path(__file__).resolve().parents[3] / "shared"
    shared = Path(os.environ.get("CHARTERBOT_SHARED_DIR") or default)
    text = (shared / "charter" / "reference-charter.yaml").read_text(encoding="utf-8")
    return Charter.model_validate(yaml.safe_load(text))


NOW = utc(2026, 3, 1, 8)
CANCELLED = "core-sync@2026-04-02T15:00"
MOVED = "core-sync@2026-04-16T15:00"
SCHEDULE = Schedule(cancelled=frozenset({CANCELLED}), moved={MOVED: utc(2026, 4, 17, 9)})
CALL = AdhocMeeting(
    "adhoc-1", "Go/no-go #12", utc(2026, 5, 1, 14), timedelta(minutes=30), "America/New_York"
)


def parse(ics: bytes) -> Calendar:
    return Calendar.from_ical(ics)


def events(cal: Calendar, uid: str) -> list[Any]:
    return [e for e in cal.walk("VEVENT") if str(e["UID"]) == uid]


def master(cal: Calendar, uid: str) -> Any:
    (found,) = [e for e in events(cal, uid) if "RECURRENCE-ID" not in e]
    return found


def overrides(cal: Calendar, uid: str) -> dict[datetime, Any]:
    return {e.decoded("RECURRENCE-ID"): e for e in events(cal, uid) if "RECURRENCE-ID" in e}


def test_feed_is_rfc5545_text(charter: Charter) -> None:
    """PRODID, VERSION, CRLF line endings and lines folded at 75 octets."""
    ics = calendar_ics(charter, SCHEDULE, [CALL], now=NOW)
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n")
    assert ics.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in ics.replace(b"\r\n", b"")
    lines = ics.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # the VTIMEZONE RDATE lists fold
    cal = parse(ics)
    assert str(cal["PRODID"]) == PRODID == "-//charterbot//EN"
    assert str(cal["VERSION"]) == "2.0"


def test_one_series_event_per_meeting_with_zone(charter: Charter) -> None:
    """Each series is one VEVENT with RRULE and DTSTART in its zone; VTIMEZONEs cover them."""
    cal = parse(calendar_ics(charter, Schedule(), [CALL], now=NOW))
    core = master(cal, "core-sync.meridian-net.upgrades@charterbot")
    assert core["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert core.decoded("DTSTART") == datetime(2026, 1, 8, 15, tzinfo=ZoneInfo("Europe/Berlin"))
    assert core["RRULE"].to_ical() == b"FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"
    assert core.decoded("DURATION") == timedelta(minutes=90)
    sec = master(cal, "security-sync.meridian-net.upgrades@charterbot")
    assert sec.decoded("DTSTART") == utc(2026, 1, 6, 17)
    assert "TZID" not in sec["DTSTART"].params  # UTC is written with Z
    assert sorted(str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")) == [
        "America/New_York",
        "Europe/Berlin",
    ]
    assert cal.get_missing_tzids() == set()
    assert len(cal.walk("VEVENT")) == 3


def test_uids_are_stable_across_regenerations(charter: Charter) -> None:
    """Regenerating later changes only DTSTAMP: UIDs and every other line stay the same."""
    first = calendar_ics(charter, SCHEDULE, [CALL], now=NOW)
    again = calendar_ics(charter, SCHEDULE, [CALL], now=NOW + timedelta(days=3))
    assert first != again

    def without_stamp(ics: bytes) -> list[bytes]:
        return [line for line in ics.split(b"\r\n") if not line.startswith(b"DTSTAMP")]

    assert without_stamp(first) == without_stamp(again)
    uids = {str(e["UID"]) for e in parse(again).walk("VEVENT")}
    assert uids == {
        event_uid(charter, "core-sync"),
        event_uid(charter, "security-sync"),
        event_uid(charter, "adhoc-1"),
    }
    assert event_uid(charter, "adhoc-1") == "adhoc-1.meridian-net.upgrades@charterbot"
    stamps = {e.decoded("DTSTAMP") for e in parse(again).walk("VEVENT")}
    assert stamps == {NOW + timedelta(days=3)}


def test_dtstamp_is_when_each_series_or_call_was_revised(charter: Charter) -> None:
    """With ``stamps``, DTSTAMP is each series' or call's own revision time, so regenerating
    later gives the same bytes; an id without a stamp falls back to ``now``."""
    stamps = {
        "core-sync": NOW - timedelta(days=2),
        "security-sync": NOW - timedelta(days=9),
        "adhoc-1": NOW - timedelta(hours=1),
    }
    first = calendar_ics(charter, SCHEDULE, [CALL], now=NOW, stamps=stamps)
    again = calendar_ics(charter, SCHEDULE, [CALL], now=NOW + timedelta(days=3), stamps=stamps)
    assert first == again
    by_uid = {str(e["UID"]): e.decoded("DTSTAMP") for e in parse(first).walk("VEVENT")}
    assert by_uid == {event_uid(charter, k): v for k, v in stamps.items()}
    del stamps["security-sync"]
    unknown = calendar_ics(charter, SCHEDULE, [CALL], now=NOW + timedelta(days=3), stamps=stamps)
    by_uid = {str(e["UID"]): e.decoded("DTSTAMP") for e in parse(unknown).walk("VEVENT")}
    assert by_uid[event_uid(charter, "security-sync")] == NOW + timedelta(days=3)


def test_sequence_follows_the_revision_counter(charter: Charter) -> None:
    """SEQUENCE is the stored per-series revision, raised on each change; 0 by default."""
    uid = event_uid(charter, "core-sync")
    seqs = []
    for revision in (1, 2):
        cal = parse(calendar_ics(charter, SCHEDULE, [], now=NOW, revisions={"core-sync": revision}))
        seqs.append({int(e["SEQUENCE"]) for e in events(cal, uid)})
        assert int(master(cal, event_uid(charter, "security-sync"))["SEQUENCE"]) == 0
    assert seqs == [{1}, {2}]


def test_cancelled_and_moved_occurrences(charter: Charter) -> None:
    """Cancelled: EXDATE plus a STATUS:CANCELLED override; moved: an override at the new time."""
    cal = parse(calendar_ics(charter, SCHEDULE, [], now=NOW))
    uid = event_uid(charter, "core-sync")
    berlin = ZoneInfo("Europe/Berlin")
    exdates = [d.dt for d in master(cal, uid)["EXDATE"].dts]
    assert exdates == [datetime(2026, 4, 2, 15, tzinfo=berlin)]
    found = overrides(cal, uid)
    cancelled = found[datetime(2026, 4, 2, 15, tzinfo=berlin)]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    moved = found[datetime(2026, 4, 16, 15, tzinfo=berlin)]
    assert str(moved["STATUS"]) == "CONFIRMED"
    assert moved.decoded("DTSTART") == utc(2026, 4, 17, 9)
    assert moved["DTSTART"].params["TZID"] == "Europe/Berlin"


def expand_feed(cal: Calendar, uid: str, start: datetime, end: datetime) -> list[tuple]:  # type: ignore[type-arg]
    """What a calendar client shows: RRULE from DTSTART, minus EXDATE, overrides applied."""
    event = master(cal, uid)
    dtstart = event.decoded("DTSTART")
    zone = dtstart.tzinfo
    rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=dtstart.replace(tzinfo=None))
    exdates = {d.dt for d in event["EXDATE"].dts} if "EXDATE" in event else set()
    moved = {rid: e for rid, e in overrides(cal, uid).items() if str(e["STATUS"]) != "CANCELLED"}
    shown = []
    for local in rule.between(start.astimezone(zone).replace(tzinfo=None) - timedelta(days=2),
                              end.astimezone(zone).replace(tzinfo=None)):  # fmt: skip
        nominal = local.replace(tzinfo=zone)
        if nominal in exdates:
            continue
        at = moved[nominal].decoded("DTSTART") if nominal in moved else nominal
        at = at.astimezone(UTC)
        if start < at <= end:
            shown.append((at, at + event.decoded("DURATION")))
    return sorted(shown)


@pytest.mark.parametrize("meeting_id", ["core-sync", "security-sync"])
def test_feed_expands_to_the_same_occurrences(charter: Charter, meeting_id: str) -> None:
    """Expanding the parsed RRULE (both DST changes of 2026) reproduces occurrences()."""
    cal = parse(calendar_ics(charter, SCHEDULE, [], now=NOW))
    meeting = charter.meeting(meeting_id)
    assert meeting is not None
    start, end = utc(2026, 1, 1), utc(2026, 12, 31)
    ours = occurrences(meeting, start, until=end, schedule=SCHEDULE)
    assert len(ours) >= 12
    assert expand_feed(cal, event_uid(charter, meeting_id), start, end) == [
        (o.starts_at, o.ends_at) for o in ours
    ]


def test_series_filter_and_adhoc_calls(charter: Charter) -> None:
    """A per-series feed holds only that series; ad-hoc calls are single VEVENTs."""
    only = parse(calendar_ics(charter, SCHEDULE, [CALL], series="security-sync", now=NOW))
    assert {str(e["UID"]) for e in only.walk("VEVENT")} == {event_uid(charter, "security-sync")}
    assert only.walk("VTIMEZONE") == []
    cancelled_call = AdhocMeeting(
        "adhoc-2", "Retro", utc(2026, 5, 2, 9), timedelta(minutes=45), cancelled=True
    )
    calls = parse(calendar_ics(charter, SCHEDULE, [cancelled_call, CALL], series=None, now=NOW))
    (call,) = events(calls, event_uid(charter, "adhoc-1"))
    assert call.decoded("DTSTART") == utc(2026, 5, 1, 14)
    assert call["DTSTART"].params["TZID"] == "America/New_York"
    assert "RRULE" not in call
    assert str(call["STATUS"]) == "CONFIRMED"
    (retro,) = events(calls, event_uid(charter, "adhoc-2"))
    assert str(retro["STATUS"]) == "CANCELLED"
    one = parse(calendar_ics(charter, SCHEDULE, [CALL], series="adhoc-1", now=NOW))
    assert [str(e["UID"]) for e in one.walk("VEVENT")] == [event_uid(charter, "adhoc-1")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"series": "weekly-chat"}, "no meeting called 'weekly-chat'; known: core-sync"),
        ({"now": datetime(2026, 3, 1)}, "timezone-aware"),
        ({"exceptions": Schedule(cancelled=frozenset({"core-sync@2026-03-26T15:00"}))},
         "core-sync@2026-03-26T15:00 is not an occurrence of core-sync"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused(charter: Charter, kwargs: dict[str, Any], message: str) -> None:
    """Unknown series, naive now and exceptions on non-occurrences are errors with reasons."""
    args: dict[str, Any] = {"exceptions": SCHEDULE, "now": NOW} | kwargs
    exceptions = args.pop("exceptions")
    with pytest.raises(ValueError, match=re.escape(message)):
        calendar_ics(charter, exceptions, [], **args)


def test_aware_charter_start_is_written_in_the_meeting_zone(charter: Charter) -> None:
    """A start given with an offset is converted to the meeting's zone for DTSTART."""
    data = charter.model_dump()
    data["meetings"][0]["start"] = "2026-01-08T14:00:00Z"
    shifted = Charter.model_validate(data)
    cal = parse(calendar_ics(shifted, Schedule(), [], series="core-sync", now=NOW))
    core = master(cal, event_uid(charter, "core-sync"))
    assert core.decoded("DTSTART") == datetime(2026, 1, 8, 15, tzinfo=ZoneInfo("Europe/Berlin"))


def with_rule(charter: Charter, rrule: str) -> Charter:
    """The charter with core-sync (Thursdays 15:00 Berlin from 2026-01-08) on ``rrule``."""
    data = charter.model_dump()
    data["meetings"][0]["rrule"] = rrule
    return Charter.model_validate(data)


def client_expansion(event: Any) -> list[datetime]:
    """The UTC starts a calendar app gives a master VEVENT: its RRULE expanded from the
    zoned DTSTART, an aware UNTIL compared as an instant (as RFC 5545 means it)."""
    rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=event.decoded("DTSTART"))
    return [start.astimezone(UTC) for start in rule]


@pytest.mark.parametrize(
    ("until", "written"),
    [
        ("UNTIL=20261231T235959", "UNTIL=20261231T225959Z"),  # floating: Berlin wall clock
        ("UNTIL=20261231", "UNTIL=20261230T230000Z"),  # a date: its midnight in Berlin
        ("UNTIL=20260702T150000", "UNTIL=20260702T130000Z"),  # summer time, the call's own
        ("UNTIL=20261231T140000Z", "UNTIL=20261231T140000Z"),  # UTC already
    ],
)
def test_until_is_the_utc_instant_the_bot_ends_the_series_at(
    charter: Charter, until: str, written: str
) -> None:
    """RFC 5545 3.3.10: next to a DTSTART with a zone, UNTIL is a UTC date-time. The feed
    writes the instant charterbot itself reads the charter's UNTIL as, so a calendar app
    shows exactly the calls the bot holds (a date UNTIL ends the series at the start of that
    day: no call on the 31st)."""
    changed = with_rule(charter, f"FREQ=WEEKLY;BYDAY=TH;{until}")
    cal = parse(calendar_ics(changed, Schedule(), [], series="core-sync", now=NOW))
    event = master(cal, event_uid(charter, "core-sync"))
    assert event["RRULE"].to_ical().decode() == f"FREQ=WEEKLY;{written};BYDAY=TH"
    meeting = changed.meeting("core-sync")
    assert meeting is not None
    ours = occurrences(meeting, utc(2026, 1, 1), until=utc(2027, 12, 31))
    assert client_expansion(event) == [o.starts_at for o in ours]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Jerusalem"])
def test_the_vtimezone_places_every_call_of_an_endless_series(charter: Charter, zone: str) -> None:
    """A client that knows no zones but the feed's VTIMEZONE shows every call of an endless
    weekly 15:00 series at 15:00, past 2038 and centuries on; and the VTIMEZONE stays small
    (changes before 2038 listed, later ones the zone's yearly rules)."""
    data = charter.model_dump()
    data["meetings"][0].update(rrule="FREQ=WEEKLY;BYDAY=TH", timezone=zone)
    changed = Charter.model_validate(data)
    ics = calendar_ics(changed, Schedule(), [], series="core-sync", now=NOW)
    (vtimezone,) = parse(ics).walk("VTIMEZONE")
    assert len(vtimezone.to_ical()) < 4000
    client_zone = vtimezone.to_tz(lookup_tzid=False)  # built from the VTIMEZONE alone
    meeting = changed.meeting("core-sync")
    assert meeting is not None
    for since in (utc(2026, 1, 1), utc(2037, 1, 1), utc(2090, 1, 1), utc(2425, 1, 1)):
        calls = occurrences(meeting, since, until=since + timedelta(days=3 * 366))
        assert len(calls) > 150
        shown = {o.starts_at.astimezone(client_zone).strftime("%a %H:%M") for o in calls}
        assert shown == {"Thu 15:00"}


@pytest.mark.parametrize(
    ("zone", "changes"),
    [
        # Europe/Berlin springs forward at 01:00 UTC (02:00 local), falls back at 01:00 UTC
        ("Europe/Berlin", [utc(2026, 3, 29, 1), utc(2026, 10, 25, 1), utc(2050, 3, 27, 1)]),
        ("America/New_York", [utc(2026, 3, 8, 7), utc(2026, 11, 1, 6), utc(2061, 3, 13, 7)]),
        # Jerusalem: the Friday before the last Sunday of March, the last Sunday of October
        ("Asia/Jerusalem", [utc(2026, 3, 27, 0), utc(2026, 10, 24, 23), utc(2045, 3, 24, 0)]),
        # Cairo ends summer time at 24:00 on the last Thursday: no RRULE gives it, listed
        ("Africa/Cairo", [utc(2026, 10, 29, 21), utc(2300, 10, 25, 21)]),
    ],
)
def test_the_vtimezone_changes_offset_when_the_zone_does(
    zone: str, changes: list[datetime]
) -> None:
    """Around each change of offset the feed's VTIMEZONE, read alone, gives the offset the zone
    has (RFC 5545: an observance starts at the local time before its change, so Berlin's
    spring change is at 02:00 local, not an hour later)."""
    client_zone = vtimezone(zone).to_tz(lookup_tzid=False)
    for change in changes:
        for at in (change - timedelta(minutes=30), change + timedelta(minutes=30)):
            assert (
                at.astimezone(client_zone).utcoffset() == at.astimezone(ZoneInfo(zone)).utcoffset()
            )
        assert (change - timedelta(minutes=30)).astimezone(ZoneInfo(zone)).utcoffset() != (
            change + timedelta(minutes=30)
        ).astimezone(ZoneInfo(zone)).utcoffset()  # a change indeed
