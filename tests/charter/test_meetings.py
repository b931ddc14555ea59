"""Occurrences, exceptions, reminders and the misfire policy (charter.meetings)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from charter.load import load_charter
from charter.meeting_timers import Reminder, due_timers, mark_handled, reminders_for
from charter.meetings import (
    AdhocMeeting,
    MeetingError,
    Occurrence,
    Schedule,
    clashes,
    exists_locally,
    find_occurrence,
    heir,
    is_ambiguous,
    is_instance,
    nominal_occurrence,
    occurrences,
    parse_key,
    planned_start,
    superseded,
)
from charter.model import Charter, Meeting
from charter.rrules import local_rule

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def reference_text() -> str:
    default = Path(__file__).resolve().parents[3] / "shared"
    shared = Path(os.environ.get("CHARTERBOT_SHARED_DIR") or default)
    return (shared / "charter" / "reference-charter.yaml").read_text(encoding="utf-8")


def reference_charter() -> Charter:
    return Charter.model_validate(yaml.safe_load(reference_text()))


@pytest.fixture(scope="module")
def charter() -> Charter:
    return reference_charter()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def meeting(rrule: str, start: str, zone: str, **extra: object) -> Meeting:
    return Meeting.model_validate(
        {"id": "m", "title": "M", "rrule": rrule, "start": start, "timezone": zone}
        | {"duration": "60m"}
        | extra
    )


def starts(occs: list[Occurrence]) -> list[datetime]:
    return [o.starts_at for o in occs]


@pytest.mark.parametrize(
    ("after", "keys", "utc_starts"),
    [
        # Spring: Berlin moves to CEST on 2026-03-29; 15:00 local goes from 14:00Z to 13:00Z.
        (
            utc(2026, 3, 10),
            ["core-sync@2026-03-19T15:00", "core-sync@2026-04-02T15:00"],
            [utc(2026, 3, 19, 14), utc(2026, 4, 2, 13)],
        ),
        # Autumn: back to CET on 2026-10-25; 15:00 local goes from 13:00Z to 14:00Z.
        (
            utc(2026, 10, 10),
            ["core-sync@2026-10-15T15:00", "core-sync@2026-10-29T15:00"],
            [utc(2026, 10, 15, 13), utc(2026, 10, 29, 14)],
        ),
    ],
)
def test_core_sync_stays_at_berlin_wall_clock(
    charter: Charter, after: datetime, keys: list[str], utc_starts: list[datetime]
) -> None:
    """The reference core-sync stays at 15:00 Berlin across DST; its UTC hour moves."""
    core = charter.meeting("core-sync")
    assert core is not None
    occs = occurrences(core, after, count=2)
    assert [o.key for o in occs] == keys
    assert starts(occs) == utc_starts
    assert [(o.local_start.hour, o.local_start.minute) for o in occs] == [(15, 0), (15, 0)]
    assert all(o.local_start.tzinfo == BERLIN for o in occs)
    assert [o.ends_at - o.starts_at for o in occs] == [timedelta(minutes=90)] * 2


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        ("Europe/Berlin", "2026-03-22T10:00", [(3, 22, 9), (3, 29, 8), (4, 5, 8)]),
        ("Europe/Berlin", "2026-10-18T10:00", [(10, 18, 8), (10, 25, 9), (11, 1, 9)]),
        ("America/New_York", "2026-03-01T10:00", [(3, 1, 15), (3, 8, 14), (3, 15, 14)]),
        ("America/New_York", "2026-10-25T10:00", [(10, 25, 14), (11, 1, 15), (11, 8, 15)]),
    ],
)
def test_weekly_ten_oclock_on_both_sides_of_dst(
    zone: str, start: str, expected: list[tuple[int, int, int]]
) -> None:
    """A weekly Sunday 10:00 meeting is at 10:00 local before, on and after the change day."""
    weekly = meeting("FREQ=WEEKLY;BYDAY=SU", start, zone)
    occs = occurrences(weekly, utc(2026, 1, 1), count=3)
    assert starts(occs) == [utc(2026, m, d, h) for m, d, h in expected]
    assert {o.local_start.strftime("%H:%M") for o in occs} == {"10:00"}


@pytest.mark.parametrize(
    ("zone", "start", "expected_utc", "shown_local"),
    [
        # 02:30 does not exist on 2026-03-29 in Berlin: read with the offset before the gap
        # (+01:00), so it happens at 01:30Z, shown as 03:30 CEST (RFC 5545 §3.3.5).
        (
            "Europe/Berlin",
            "2026-03-28T02:30",
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)],
            ["02:30", "03:30", "02:30"],
        ),
        (
            "America/New_York",
            "2026-03-07T02:30",
            [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)],
            ["02:30", "03:30", "02:30"],
        ),
        # 02:30 happens twice on 2026-10-25 in Berlin: the first (CEST, 00:30Z) is meant.
        (
            "Europe/Berlin",
            "2026-10-24T02:30",
            [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
            ["02:30", "02:30", "02:30"],
        ),
    ],
)
def test_nonexistent_and_ambiguous_local_times(
    zone: str, start: str, expected_utc: list[datetime], shown_local: list[str]
) -> None:
    """Gap times shift forward with the pre-gap offset; repeated times take the first; keys stay."""
    daily = meeting("FREQ=DAILY", start, zone)
    occs = occurrences(daily, utc(2026, 1, 1), count=3)
    assert starts(occs) == expected_utc
    assert [o.local_start.strftime("%H:%M") for o in occs] == shown_local
    assert [o.key[-5:] for o in occs] == ["02:30"] * 3  # the key keeps the nominal time


def test_security_sync_first_tuesday_17_utc(charter: Charter) -> None:
    """The monthly security-sync is on the first Tuesday at 17:00 UTC, all year."""
    sec = charter.meeting("security-sync")
    assert sec is not None
    occs = occurrences(sec, utc(2026, 1, 1), until=utc(2026, 12, 31))
    days = [(1, 6), (2, 3), (3, 3), (4, 7), (5, 5), (6, 2), (7, 7), (8, 4), (9, 1), (10, 6)]
    days += [(11, 3), (12, 1)]
    assert starts(occs) == [utc(2026, m, d, 17) for m, d in days]


def test_window_edges(charter: Charter) -> None:
    """start_after is exclusive, until is inclusive."""
    core = charter.meeting("core-sync")
    assert core is not None
    occs = occurrences(core, utc(2026, 3, 19, 14), until=utc(2026, 4, 16, 13))
    assert [o.key for o in occs] == ["core-sync@2026-04-02T15:00", "core-sync@2026-04-16T15:00"]


def test_rule_with_count_ends() -> None:
    """A finite RRULE stops even when more occurrences are asked for; aware starts work too."""
    finite = meeting("FREQ=DAILY;COUNT=2", "2026-05-01T09:00:00+02:00", "Europe/Berlin")
    occs = occurrences(finite, utc(2026, 1, 1), count=5)
    assert [o.key for o in occs] == ["m@2026-05-01T09:00", "m@2026-05-02T09:00"]


@pytest.mark.parametrize(
    ("until", "last"),
    [
        # RFC 5545: next to a DTSTART with a zone, UNTIL is in UTC. The 2026-04-02 call is at
        # 15:00 CEST = 13:00Z, so an UNTIL of 13:00Z still includes it (UNTIL is inclusive) …
        ("UNTIL=20260402T130000Z", "2026-04-02"),
        ("until=20260402t130000z", "2026-04-02"),  # rule parts are case-insensitive
        # … a second earlier it does not (read as Berlin time, 12:59:59Z would be 14:59:59).
        ("UNTIL=20260402T125959Z", "2026-03-19"),
        # A floating UNTIL is a Berlin wall-clock time, as before; so is a date (its midnight).
        ("UNTIL=20260402T150000", "2026-04-02"),
        ("UNTIL=20260402T145959", "2026-03-19"),
        ("UNTIL=20260402", "2026-03-19"),
    ],
)
def test_until_in_utc_is_read_in_the_meetings_zone(until: str, last: str) -> None:
    """An RRULE ending with a UTC UNTIL (as calendar tools and RFC 5545 write it) expands up
    to that instant, not to the same digits on the meeting's wall clock."""
    core = meeting(f"FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;{until}", "2026-03-05T15:00", "Europe/Berlin")
    occs = occurrences(core, utc(2026, 3, 1), count=10)
    assert occs[-1].key == f"m@{last}T15:00"
    assert is_instance(core, datetime(2026, 3, 19, 15)) is True


def test_a_charter_with_a_utc_until_loads() -> None:
    """The reference charter's core-sync ending with ``UNTIL=…Z`` loads (it used to be refused
    with "RRULE UNTIL values must be specified in UTC") and stops at that instant."""
    text = reference_text()
    rule = 'rrule: "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH'
    assert rule in text
    loaded = load_charter(text.replace(rule, rule + ";UNTIL=20261231T235959Z"))
    core = loaded.charter.meeting("core-sync")
    assert core is not None
    occs = occurrences(core, utc(2026, 12, 1), count=5)
    assert [o.key for o in occs] == ["core-sync@2026-12-10T15:00", "core-sync@2026-12-24T15:00"]


@pytest.mark.parametrize(
    ("rule", "zone", "expected"),
    [
        ("FREQ=DAILY;UNTIL=20261231T235959Z", BERLIN, "FREQ=DAILY;UNTIL=20270101T005959"),
        ("RRULE:FREQ=DAILY;UNTIL=20260701T120000Z;COUNT=2", NEW_YORK,
         "RRULE:FREQ=DAILY;UNTIL=20260701T080000;COUNT=2"),
        ("FREQ=DAILY;UNTIL=20260701T120000", BERLIN, "FREQ=DAILY;UNTIL=20260701T120000"),
        ("FREQ=DAILY", UTC, "FREQ=DAILY"),
        ("FREQ=DAILY;UNTIL=09990101T000000Z", timezone(timedelta(hours=1)),
         "FREQ=DAILY;UNTIL=09990101T010000"),  # a year before 1000 keeps four digits
    ],
)  # fmt: skip
def test_local_rule(rule: str, zone: tzinfo, expected: str) -> None:
    assert local_rule(rule, zone) == expected


@pytest.mark.parametrize(
    ("until", "zone"),
    [
        ("UNTIL=20261399T000000Z", "Europe/Berlin"),  # no such month or day
        ("UNTIL=99991231T235959Z", "Pacific/Kiritimati"),  # past the year 9999 locally
    ],
)
def test_an_unusable_utc_until_is_refused_with_a_reason(until: str, zone: str) -> None:
    broken = meeting(f"FREQ=DAILY;{until}", "2026-01-01T10:00", zone)
    with pytest.raises(MeetingError, match="is not an RFC 5545 RRULE"):
        occurrences(broken, utc(2026, 1, 1), count=1)


A, B, C, D = (f"core-sync@2026-{d}T15:00" for d in ("03-19", "04-02", "04-16", "04-30"))


@pytest.mark.parametrize(
    ("schedule", "window", "expected"),
    [
        (Schedule(cancelled=frozenset({B})), {"count": 2},
         [(C, utc(2026, 4, 16, 13)), (D, utc(2026, 4, 30, 13))]),
        # moved later: keeps its key, appears at the new time
        (Schedule(moved={B: utc(2026, 4, 3, 9)}), {"count": 2},
         [(B, utc(2026, 4, 3, 9)), (C, utc(2026, 4, 16, 13))]),
        # moved earlier past another instance: ordered by the new time
        (Schedule(moved={C: utc(2026, 3, 31, 10)}), {"count": 2},
         [(C, utc(2026, 3, 31, 10)), (B, utc(2026, 4, 2, 13))]),
        # moved from before the window into it
        (Schedule(moved={A: utc(2026, 3, 27, 10)}), {"count": 2},
         [(A, utc(2026, 3, 27, 10)), (B, utc(2026, 4, 2, 13))]),
        # moved from after `until` into the window
        (Schedule(moved={C: utc(2026, 4, 1, 8)}), {"until": utc(2026, 4, 10)},
         [(C, utc(2026, 4, 1, 8)), (B, utc(2026, 4, 2, 13))]),
        # moved out of the window
        (Schedule(moved={B: utc(2026, 5, 20, 9)}), {"until": utc(2026, 4, 10)}, []),
        # another meeting's exceptions do not apply
        (Schedule(cancelled=frozenset({"security-sync@2026-04-07T17:00"})), {"count": 1},
         [(B, utc(2026, 4, 2, 13))]),
    ],
)  # fmt: skip
def test_schedule_exceptions(
    charter: Charter,
    schedule: Schedule,
    window: dict[str, object],
    expected: list[tuple[str, datetime]],
) -> None:
    """Cancelled keys are skipped; moved keys keep their key and take their new time."""
    core = charter.meeting("core-sync")
    assert core is not None
    occs = occurrences(core, utc(2026, 3, 25), schedule=schedule, **window)  # type: ignore[arg-type]
    assert [(o.key, o.starts_at) for o in occs] == expected
    assert all(o.moved == (o.key in schedule.moved) for o in occs)
    assert all(o.local_start == o.starts_at.astimezone(BERLIN) for o in occs)


def adhoc(**extra: object) -> AdhocMeeting:
    fields: dict[str, object] = {
        "id": "adhoc-7",
        "title": "Go/no-go",
        "starts_at": utc(2027, 3, 1, 14),
        "duration": timedelta(minutes=30),
        "timezone": "Europe/Berlin",
        "reminders": (timedelta(hours=1),),
    }
    return AdhocMeeting(**(fields | extra))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "after", "until", "keys"),
    [
        (adhoc(), utc(2027, 1, 1), None, ["adhoc-7@2027-03-01T15:00"]),
        (adhoc(), utc(2027, 1, 1), utc(2027, 3, 1, 14), ["adhoc-7@2027-03-01T15:00"]),
        (adhoc(), utc(2027, 1, 1), utc(2027, 2, 1), []),
        (adhoc(), utc(2027, 3, 1, 14), None, []),
        (adhoc(cancelled=True), utc(2027, 1, 1), None, []),
    ],
)
def test_adhoc_is_a_single_occurrence(
    call: AdhocMeeting, after: datetime, until: datetime | None, keys: list[str]
) -> None:
    """An ad-hoc call is one occurrence, keyed by its local time, unless cancelled."""
    occs = occurrences(call, after, count=3, until=until)
    assert [o.key for o in occs] == keys
    assert all(o.ends_at - o.starts_at == timedelta(minutes=30) for o in occs)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda c: occurrences(c, datetime(2026, 1, 1), count=1), "timezone-aware"),
        (lambda c: occurrences(c, utc(2026, 1, 1)), "needs count or until"),
        (lambda c: occurrences(c, utc(2026, 1, 1), count=0), "count must be at least 1"),
        (lambda c: occurrences(meeting("FREQ=SOMETIMES", "2026-01-01T10:00", "UTC"),
                               utc(2026, 1, 1), count=1), "is not an RFC 5545 RRULE"),
        (lambda c: occurrences(meeting("FREQ=DAILY", "2026-01-01T10:00", "Mars/Base"),
                               utc(2026, 1, 1), count=1), "unknown time zone 'Mars/Base'"),
        (lambda c: Schedule(cancelled=frozenset({"core-sync"})), "not an occurrence key"),
        (lambda c: Schedule(cancelled=frozenset({"@2026-01-01T10:00"})), "not an occurrence key"),
        (lambda c: Schedule(moved={"core-sync@2026-13-01T10:00": utc(2026, 1, 1)}),
         "not an occurrence key"),
        (lambda c: Schedule(moved={B: datetime(2026, 4, 3, 9)}), "the new time of " + B),
        (lambda c: Schedule(cancelled=frozenset({B}), moved={B: utc(2026, 4, 3)}),
         "both cancelled and moved"),
        (lambda c: adhoc(id="Bad Id"), "is not a meeting id"),
        (lambda c: adhoc(starts_at=datetime(2027, 3, 1, 14)), "timezone-aware"),
        (lambda c: adhoc(first_start=datetime(2027, 3, 1, 14)), "the first start of adhoc-7"),
        (lambda c: adhoc(timezone="Europe/Berln"), "unknown time zone"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_a_reason(charter: Charter, build: object, message: str) -> None:
    """Naive times, open-ended windows, bad rules, zones, keys and ids get actionable errors."""
    core = charter.meeting("core-sync")
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        build(core)  # type: ignore[operator]
    assert issubclass(MeetingError, ValueError)


def test_keys_and_local_time_helpers(charter: Charter) -> None:
    """Keys parse back; instance, gap and overlap checks agree with the zone's rules."""
    core = charter.meeting("core-sync")
    assert core is not None
    assert parse_key("core-sync@2026-04-02T15:00") == ("core-sync", datetime(2026, 4, 2, 15))
    assert is_instance(core, datetime(2026, 4, 2, 15))
    assert not is_instance(core, datetime(2026, 3, 26, 15))  # the off week
    assert not exists_locally(datetime(2026, 3, 29, 2, 30), BERLIN)
    assert exists_locally(datetime(2026, 10, 25, 2, 30), BERLIN)
    assert is_ambiguous(datetime(2026, 10, 25, 2, 30), BERLIN)
    assert not is_ambiguous(datetime(2026, 3, 29, 2, 30), BERLIN)
    assert not is_ambiguous(datetime(2026, 7, 1, 12), NEW_YORK)


def test_reminders_for_a_series_occurrence(charter: Charter) -> None:
    """Each reminder offset and the agenda post become timers keyed by the occurrence."""
    core = charter.meeting("core-sync")
    assert core is not None
    occ = occurrences(core, utc(2026, 3, 25), count=1)[0]
    got = [(r.key, r.fires_at, r.series, r.kind) for r in reminders_for(occ, core)]
    assert got == [
        (f"{B}/agenda", utc(2026, 3, 31, 13), f"{B}/agenda", "agenda"),
        (f"{B}/remind-1d", utc(2026, 4, 1, 13), "core-sync/remind-1d", "reminder"),
        (f"{B}/remind-1h", utc(2026, 4, 2, 12), "core-sync/remind-1h", "reminder"),
    ]
    assert {r.occurrence_key for r in reminders_for(occ, core)} == {B}


def test_moving_an_occurrence_rearms_its_reminders(charter: Charter) -> None:
    """A moved occurrence's reminders fire relative to the new time, under new keys."""
    core = charter.meeting("core-sync")
    assert core is not None
    schedule = Schedule(moved={B: utc(2026, 4, 3, 9)})
    occ = occurrences(core, utc(2026, 3, 25), count=1, schedule=schedule)[0]
    hour = [r for r in reminders_for(occ, core) if r.series == "core-sync/remind-1h"]
    assert [(r.key, r.fires_at) for r in hour] == [
        (f"{B}/remind-1h@moved-20260403T0900Z", utc(2026, 4, 3, 8))
    ]


def test_adhoc_reminders_without_agenda() -> None:
    """An ad-hoc call with no agenda_before gets only its reminders."""
    call = adhoc()
    got = reminders_for(call.occurrence(), call)
    assert [(r.key, r.fires_at) for r in got] == [
        ("adhoc-7@2027-03-01T15:00/remind-1h", utc(2027, 3, 1, 13))
    ]


def test_a_moved_adhoc_call_keeps_the_key_of_its_first_start() -> None:
    """Moved a day later, an ad-hoc call keeps the key of its first local start (its agenda
    issue and items stay with it) and, like a moved series instance, its reminders are re-armed
    for the new time under new keys (the ones fired for the old time do not hide them)."""
    assert not adhoc().occurrence().moved
    call = adhoc(starts_at=utc(2027, 3, 2, 9), first_start=utc(2027, 3, 1, 14))
    occ = call.occurrence()
    assert (occ.key, occ.starts_at, occ.moved) == (
        "adhoc-7@2027-03-01T15:00",
        utc(2027, 3, 2, 9),
        True,
    )
    assert occ.local_start == utc(2027, 3, 2, 9).astimezone(BERLIN)
    assert planned_start(occ) == utc(2027, 3, 1, 14)
    assert [(r.key, r.fires_at) for r in reminders_for(occ, call)] == [
        ("adhoc-7@2027-03-01T15:00/remind-1h@moved-20270302T0900Z", utc(2027, 3, 2, 8))
    ]


def test_each_call_s_agenda_post_is_judged_on_its_own_grace() -> None:
    """Back from an outage (Mar 10 12:00 to Mar 11 22:00 UTC), a daily call whose agenda is
    posted 48h ahead: the agendas of the Mar 12 and Mar 13 calls both fell due and neither call
    has started, so both are posted (agenda posts coalesce per occurrence); the missed "starts
    in 1h" reminders still coalesce per meeting, and none is sent late."""
    daily = meeting(
        "FREQ=DAILY", "2026-01-01T16:00", "America/New_York", agenda_before="48h", reminders=["1h"]
    )
    now = utc(2026, 3, 11, 22)
    occs = occurrences(daily, utc(2026, 3, 10, 12), until=now + timedelta(hours=48))
    found = [t for o in occs for t in reminders_for(o, daily)]
    handled = {"m@2026-03-10T16:00/agenda": utc(2026, 3, 8, 20)}
    handled["m@2026-03-11T16:00/agenda"] = utc(2026, 3, 9, 20)
    posts = due_timers([t for t in found if t.kind == "agenda"], now, handled, timedelta(hours=48))
    assert [t.key for t in posts.fire] == ["m@2026-03-12T16:00/agenda", "m@2026-03-13T16:00/agenda"]
    assert posts.missed == ()
    reminders = [t for t in found if t.kind == "reminder"]
    assert {t.series for t in reminders} == {"m/remind-1h"}
    late = due_timers(reminders, now, handled, timedelta(minutes=10))
    assert (late.fire, [t.key for t in late.missed]) == (
        (),
        ["m@2026-03-10T16:00/remind-1h", "m@2026-03-11T16:00/remind-1h"],
    )


@pytest.mark.parametrize(
    ("key", "schedule", "expected"),
    [
        (B, Schedule(), (utc(2026, 4, 2, 13), False)),
        (B, Schedule(moved={B: utc(2026, 4, 3, 9)}), (utc(2026, 4, 3, 9), True)),
        # a cancelled one is still found, at its planned time (its agenda says it is cancelled)
        (B, Schedule(cancelled=frozenset({B})), (utc(2026, 4, 2, 13), False)),
        ("core-sync@2026-03-26T15:00", Schedule(), None),  # the off week
        ("core-sync@2026-04-02T16:00", Schedule(), None),  # not the series' hour (amended)
        ("security-sync@2026-04-07T17:00", Schedule(), None),  # another meeting's key
    ],
)  # fmt: skip
def test_find_occurrence_wherever_it_now_falls(
    charter: Charter, key: str, schedule: Schedule, expected: tuple[datetime, bool] | None
) -> None:
    """An occurrence is found by its key at its new time if moved, cancelled or not; a key the
    series does not produce finds nothing."""
    core = charter.meeting("core-sync")
    assert core is not None
    occ = find_occurrence(core, key, schedule)
    assert (occ and (occ.starts_at, occ.moved)) == expected
    assert occ is None or (occ.key, planned_start(occ)) == (key, utc(2026, 4, 2, 13))


def test_find_an_adhoc_call_s_occurrence() -> None:
    """An ad-hoc call has one occurrence: found by its key (its first start once moved)."""
    call = adhoc(starts_at=utc(2027, 3, 5, 9), first_start=utc(2027, 3, 1, 14))
    occ = find_occurrence(call, "adhoc-7@2027-03-01T15:00")
    assert occ is not None and occ.starts_at == utc(2027, 3, 5, 9)
    assert find_occurrence(call, "adhoc-7@2027-03-05T10:00") is None


AMENDED = meeting("FREQ=WEEKLY;BYDAY=TH", "2026-01-01T16:00", "Europe/Berlin")  # was 15:00
TWICE = meeting("FREQ=DAILY;BYHOUR=9,16", "2026-01-01T09:00", "UTC")  # two calls a day
MIDNIGHT = meeting("FREQ=DAILY", "2026-01-01T00:00", "UTC")  # a call at 00:00 every day


@pytest.mark.parametrize(
    ("series", "keys", "expected"),
    [
        (AMENDED, ["m@2026-04-02T15:00"], "m@2026-04-02T15:00"),
        (AMENDED, [], None),
        (AMENDED, ["m@2026-04-02T16:00"], None),  # its own
        (AMENDED, ["m@2026-04-01T15:00"], None),  # another day
        (AMENDED, ["other@2026-04-02T15:00"], None),  # another meeting
        (AMENDED, ["m@2026-04-02T09:00", "m@2026-04-02T15:00"], "m@2026-04-02T15:00"),  # nearest
        (AMENDED, ["m@2026-04-02T17:00", "m@2026-04-02T15:00"], "m@2026-04-02T15:00"),  # tie
        (TWICE, ["m@2026-04-02T09:00"], None),  # still a call of the series: not stale
        (TWICE, ["m@2026-04-02T09:00", "m@2026-04-02T17:00"], "m@2026-04-02T17:00"),
        (TWICE, ["m@2026-04-02T10:00"], None),  # the morning call's: nearer 09:00
        (TWICE, ["m@2026-04-02T12:30"], None),  # as near both: the earlier call's
        (TWICE, ["m@2026-04-02T10:00", "m@2026-04-02T17:00"], "m@2026-04-02T17:00"),
    ],
)  # fmt: skip
def test_an_amended_series_takes_over_the_stale_agenda_of_the_same_day(
    series: Meeting, keys: list[str], expected: str | None
) -> None:
    """The call of a day takes over the agenda posted for that day at an hour the series no
    longer holds: the nearest one (the earlier on a tie); never a call the series still has,
    another day's or another meeting's, nor one nearer another call of that day."""
    occ = occurrences(series, utc(2026, 4, 2, 10), count=1)[0]
    assert occ.key == "m@2026-04-02T16:00"
    assert superseded(series, occ, keys) == expected


@pytest.mark.parametrize(
    ("series", "key", "expected"),
    [
        (AMENDED, "m@2026-04-02T15:00", datetime(2026, 4, 2, 16)),
        (AMENDED, "m@2026-04-02T16:00", None),  # still an instance
        (AMENDED, "m@2026-04-01T15:00", None),  # no call that day (a Wednesday)
        (TWICE, "m@2026-04-02T17:00", datetime(2026, 4, 2, 16)),
        (TWICE, "m@2026-04-02T10:00", datetime(2026, 4, 2, 9)),
        (TWICE, "m@2026-04-02T12:30", datetime(2026, 4, 2, 9)),  # a tie: the earlier
        (MIDNIGHT, "m@2026-04-02T23:00", datetime(2026, 4, 2, 0)),  # not the next midnight
    ],
)  # fmt: skip
def test_the_heir_of_a_stale_key_is_the_nearest_call_of_its_day(
    series: Meeting, key: str, expected: datetime | None
) -> None:
    """A key the series no longer produces goes to the nearest instance of its local day
    (the earlier on a tie); none when it is an instance or its day has no call."""
    assert heir(series, key) == expected


def test_a_removed_call_keeps_its_nominal_occurrence() -> None:
    """An amendment removed the call of ``key``: its occurrence is still where its key says."""
    occ = nominal_occurrence(AMENDED, "m@2026-04-02T15:00")
    assert (occ.key, occ.starts_at, occ.moved) == ("m@2026-04-02T15:00", utc(2026, 4, 2, 13), False)
    assert occ.ends_at - occ.starts_at == AMENDED.duration


def hourly(series: str, first: datetime, n: int) -> list[Reminder]:
    times = [first + timedelta(hours=i) for i in range(n)]
    return [Reminder(f"{series}@{t:%H%M}", t, series, kind="tick") for t in times]


TICKS = hourly("tick", utc(2026, 5, 1, 10), 5)  # 10:00 … 14:00
CALL = Reminder("call/remind-1h", utc(2026, 5, 1, 13), "call/remind-1h")


@pytest.mark.parametrize(
    ("now", "last", "grace", "fire", "missed"),
    [
        # 3 hours down across an hourly timer (last ran 10:00, back at 13:05): fires once.
        (utc(2026, 5, 1, 13, 5), {"tick": utc(2026, 5, 1, 10)}, timedelta(minutes=10),
         ["tick@1300"], ["tick@1100", "tick@1200"]),
        # on time
        (utc(2026, 5, 1, 11), {"tick": utc(2026, 5, 1, 10)}, timedelta(0), ["tick@1100"], []),
        # already handled: nothing again
        (utc(2026, 5, 1, 11, 30), {"tick": utc(2026, 5, 1, 11)}, timedelta(hours=1), [], []),
        # never fired before: only the latest due one fires
        (utc(2026, 5, 1, 10, 30), {}, timedelta(hours=1), ["tick@1000"], []),
        # later than grace: recorded as missed, not sent late
        (utc(2026, 5, 1, 12, 20), {"tick": utc(2026, 5, 1, 12)}, timedelta(minutes=15),
         [], []),
        (utc(2026, 5, 1, 13, 20), {"tick": utc(2026, 5, 1, 12)}, timedelta(minutes=15),
         [], ["tick@1300"]),
        # exactly at the grace limit still fires
        (utc(2026, 5, 1, 13, 15), {"tick": utc(2026, 5, 1, 12)}, timedelta(minutes=15),
         ["tick@1300"], []),
    ],
)  # fmt: skip
def test_misfire_policy(
    now: datetime,
    last: dict[str, datetime],
    grace: timedelta,
    fire: list[str],
    missed: list[str],
) -> None:
    """Backlogs coalesce to the latest timer; a timer later than grace is missed, not late."""
    due = due_timers(TICKS, now, last, grace)
    assert [t.key for t in due.fire] == fire
    assert [t.key for t in due.missed] == missed


def test_series_coalesce_independently_and_restarts_never_duplicate() -> None:
    """Each series has its own backlog; handling advances it so a re-run fires nothing."""
    now = utc(2026, 5, 1, 13, 30)
    due = due_timers([*TICKS, CALL], now, {"call/remind-1h": utc(2026, 4, 1)}, timedelta(hours=1))
    assert [t.key for t in due.fire] == ["call/remind-1h", "tick@1300"]
    assert [t.key for t in due.missed] == ["tick@1000", "tick@1100", "tick@1200"]
    last = mark_handled({"call/remind-1h": utc(2026, 4, 1), "other": utc(2030, 1, 1)}, due)
    assert last == {
        "call/remind-1h": utc(2026, 5, 1, 13),
        "tick": utc(2026, 5, 1, 13),
        "other": utc(2030, 1, 1),
    }
    for _restart in range(10):
        again = due_timers([*TICKS, CALL], now, last, timedelta(hours=1))
        assert (again.fire, again.missed) == ((), ())
        last = mark_handled(last, again)
    with pytest.raises(ValueError, match="timezone-aware"):
        due_timers(TICKS, datetime(2026, 5, 1), {}, timedelta(0))


def test_mark_handled_never_moves_a_series_back() -> None:
    """A stale entry handled out of order does not rewind last_fired."""
    old = Reminder("tick@0900", utc(2026, 5, 1, 9), "tick")
    due = due_timers([old], utc(2026, 5, 1, 9), {}, timedelta(0))
    assert mark_handled({"tick": utc(2026, 5, 1, 12)}, due) == {"tick": utc(2026, 5, 1, 12)}


def _occ(key: str, start_h: int, end_h: int) -> Occurrence:
    day = datetime(2026, 4, 2, tzinfo=UTC)
    start, end = day + timedelta(hours=start_h), day + timedelta(hours=end_h)
    return Occurrence(key.split("@")[0], key, start, end, start)


@pytest.mark.parametrize(
    ("start_h", "end_h", "skip", "expected"),
    [
        (13, 14, None, ["a@1", "b@1"]),  # overlaps both, listed by start
        (12, 13, None, []),  # ends as a@1 starts
        (15, 16, None, []),  # starts as b@1 ends
        (14, 15, None, ["b@1"]),
        (10, 20, "a@1", ["b@1"]),  # the call being moved does not clash with itself
    ],
)
def test_clashes(start_h: int, end_h: int, skip: str | None, expected: list[str]) -> None:
    others = [_occ("b@1", 13, 15), _occ("a@1", 13, 14)]
    day = datetime(2026, 4, 2, tzinfo=UTC)
    found = clashes(day + timedelta(hours=start_h), day + timedelta(hours=end_h), others, skip=skip)
    assert [o.key for o in found] == expected
