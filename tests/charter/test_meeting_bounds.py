"""Meeting rules are expanded in bounded time (charter.meetings): a rule dateutil would repeat
forever or scan to the year 9999 is refused, the first instance is found by a bounded search,
and one expansion looks at no more than SCAN_LIMIT instances."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dateutil.rrule import rrulestr

from charter import meetings
from charter.meetings import MeetingError, is_instance, occurrences
from charter.model import Meeting
from charter.rrules import first_instance, rule_problem

START = datetime(2026, 1, 6, 17, 0)
NEVER_MOVES = "INTERVAL={} never moves on to the next meeting; use 1 or more"
PICKS_NOTHING = (
    "BYSETPOS picks nothing: each period of this rule holds {}, so no meeting would ever happen"
)

PROBLEMS = [
    ("weekly", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", None),
    ("interval zero", "FREQ=WEEKLY;INTERVAL=0", NEVER_MOVES.format(0)),
    ("interval negative", "FREQ=MONTHLY;INTERVAL=-3", NEVER_MOVES.format(-3)),
    (
        "interval zero, second rule",
        "RRULE:FREQ=DAILY\nRRULE:FREQ=DAILY;INTERVAL=0",
        NEVER_MOVES.format(0),
    ),
    (
        "interval zero, exrule",
        "RRULE:FREQ=DAILY\nEXRULE:FREQ=DAILY;INTERVAL=0",
        NEVER_MOVES.format(0),
    ),
    ("rdate only", "RDATE:20260107T170000", None),
    (
        "easter",
        "FREQ=YEARLY;BYEASTER=0",
        "BYEASTER is not part of RFC 5545 (calendar apps cannot follow it); remove it",
    ),
    ("secondly setpos", "FREQ=SECONDLY;BYSETPOS=2", PICKS_NOTHING.format("1 time")),
    ("secondly last", "FREQ=SECONDLY;BYSETPOS=-1", None),
    (
        "minutely setpos",
        "FREQ=MINUTELY;BYSECOND=0,30;BYSETPOS=3,-3",
        PICKS_NOTHING.format("2 times"),
    ),
    ("minutely one of them fits", "FREQ=MINUTELY;BYSECOND=0,30;BYSETPOS=3,2", None),
    ("hourly setpos", "FREQ=HOURLY;BYSETPOS=2", PICKS_NOTHING.format("1 time")),
    ("hourly within", "FREQ=HOURLY;BYMINUTE=0,20,40;BYSETPOS=-3", None),
    ("daily setpos is searched, not judged here", "FREQ=DAILY;BYSETPOS=2", None),
]


@pytest.mark.parametrize(
    ("rule", "problem"), [r[1:] for r in PROBLEMS], ids=[r[0] for r in PROBLEMS]
)
def test_rule_problem(rule: str, problem: str | None) -> None:
    """What dateutil would loop on (or scan to 9999 second by second) is named, and only that."""
    assert rule_problem(rrulestr(rule, dtstart=START)) == problem


FIRST = [
    ("monthly", "FREQ=MONTHLY;BYDAY=1TU", START, datetime(2026, 1, 6, 17, 0)),
    (
        "weekly from a wednesday",
        "FREQ=WEEKLY;BYDAY=TH",
        datetime(2026, 1, 7, 9),
        datetime(2026, 1, 8, 9),
    ),
    ("leap day", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", START, datetime(2028, 2, 29, 17, 0)),
    ("from a leap day", "FREQ=YEARLY", datetime(2028, 2, 29, 9), datetime(2028, 2, 29, 9)),
    ("no such day", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", START, None),
    ("no such day, daily", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", START, None),
    ("no such day, per second", "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30", START, None),
    ("setpos past a day", "FREQ=DAILY;BYSETPOS=2", START, None),
    ("count zero", "FREQ=DAILY;COUNT=0", START, None),
    ("until before", "FREQ=DAILY;UNTIL=20200101T000000", START, None),
    ("until after", "FREQ=WEEKLY;BYDAY=FR;UNTIL=20260110T000000", START, datetime(2026, 1, 9, 17)),
    ("until just short", "FREQ=WEEKLY;BYDAY=FR;UNTIL=20260109T165959", START, None),
    # UNTIL lies past 9999 once moved by the 400-year cycles: it cannot end the search early.
    (
        "until far ahead",
        "FREQ=YEARLY;BYMONTH=3;UNTIL=29990101T000000",
        START,
        datetime(2026, 3, 6, 17),
    ),
    # A start past 9599 is searched where it is, up to the year 9999.
    ("late start", "FREQ=YEARLY", datetime(9700, 5, 1, 8), datetime(9700, 5, 1, 8)),
    ("late start, none", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", datetime(9700, 5, 1, 8), None),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("rule", "start", "expected"), [r[1:] for r in FIRST], ids=[r[0] for r in FIRST]
)
def test_first_instance_is_a_bounded_search(
    rule: str, start: datetime, expected: datetime | None
) -> None:
    """The first instance is dateutil's own, searched over at least 400 years and no more than
    800 (the calendar repeats every 400 years), so a rule that never matches answers at once."""
    parsed = rrulestr(rule, dtstart=start)
    assert first_instance(parsed) == expected
    if expected is not None:
        assert parsed.after(start, inc=True) == expected  # the same as the unbounded search


def call(rule: str) -> Meeting:
    """A meeting built in code: nothing has run `charter check` on its rule."""
    return Meeting.model_validate(
        {"id": "m", "title": "M", "rrule": rule, "start": "2026-01-06T17:00", "duration": "1h"}
    )


LOOPING = [
    ("interval zero", "FREQ=WEEKLY;INTERVAL=0", NEVER_MOVES.format(0)),
    ("interval zero, daily", "FREQ=DAILY;INTERVAL=0", NEVER_MOVES.format(0)),
    ("setpos past a second", "FREQ=SECONDLY;BYSETPOS=2", PICKS_NOTHING.format("1 time")),
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("rule", "message"), [r[1:] for r in LOOPING], ids=[r[0] for r in LOOPING])
def test_expansion_refuses_a_rule_that_would_never_end(rule: str, message: str) -> None:
    """A rule that slipped past `charter check` is refused by name, never expanded forever."""
    after = datetime(2026, 1, 1, tzinfo=UTC)
    for expand in (
        lambda: occurrences(call(rule), after, count=3),
        lambda: occurrences(call(rule), after, until=datetime(2026, 2, 1, tzinfo=UTC)),
        lambda: is_instance(call(rule), datetime(2026, 1, 13, 17, 0)),
    ):
        with pytest.raises(MeetingError) as caught:
            expand()
        assert str(caught.value) == f"meeting m: {rule!r}: {message}"


@pytest.mark.timeout(20)
def test_one_expansion_looks_at_a_bounded_number_of_instances(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A window holding more instances than SCAN_LIMIT is refused rather than walked."""
    monkeypatch.setattr(meetings, "SCAN_LIMIT", 50)
    after, until = datetime(2026, 1, 6, tzinfo=UTC), datetime(2026, 1, 6, 1, tzinfo=UTC)
    assert occurrences(call("FREQ=MINUTELY"), after, until=until) == []  # all before the start
    with pytest.raises(MeetingError, match="gives more than 50 meetings in one window"):
        occurrences(call("FREQ=MINUTELY"), after, until=datetime(2026, 1, 7, tzinfo=UTC))
    assert len(occurrences(call("FREQ=MINUTELY"), after, count=40)) == 40
