"""A daily digest fires once per local day, at its slot as an instant: a clock time the day
skips (spring forward) fires at the first instant after the gap, one it shows twice (fall
back) at its first showing. Comparing wall times instead picked a slot still to come inside
the gap, so the digest fired every minute until the clock caught up."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from charter.subscriptions import digest_due, digest_slot

MINUTE = timedelta(minutes=1)


def _walk(digest_at: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """The instants a bot checking every minute from ``start`` to ``end`` sends the digest
    (each send moves ``since`` to it, as :mod:`bot.relay_fanout` does)."""
    fired, since, now = [], start - MINUTE, start
    while now < end:
        if digest_due(digest_at, zone, since, now):
            fired.append(now)
            since = now
        now += MINUTE
    return fired


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("digest_at", "zone", "day", "fires_at"),
    [
        ("02:30", "Europe/Berlin", "2027-03-28", "2027-03-28T01:00"),  # skipped: 03:00 CEST
        ("02:00", "Europe/Berlin", "2027-03-28", "2027-03-28T01:00"),  # the gap's first minute
        ("03:00", "Europe/Berlin", "2027-03-28", "2027-03-28T01:00"),  # right after the gap
        ("02:30", "Europe/Berlin", "2027-10-31", "2027-10-31T00:30"),  # shown twice: 1st, CEST
        ("02:30", "Europe/Berlin", "2027-06-01", "2027-06-01T00:30"),  # a normal day
        ("02:30", "America/New_York", "2027-03-14", "2027-03-14T07:00"),  # 03:00 EDT
        ("01:30", "America/New_York", "2027-11-07", "2027-11-07T05:30"),  # 01:30 EDT
        ("02:15", "Australia/Lord_Howe", "2027-10-03", "2027-10-02T15:30"),  # a 30-minute gap
        ("00:00", "America/Santiago", "2027-09-05", "2027-09-05T04:00"),  # a day from 01:00
    ],
)
def test_a_day_has_one_digest_at_its_slot(
    digest_at: str, zone: str, day: str, fires_at: str
) -> None:
    start = datetime.fromisoformat(f"{day}T00:00").replace(tzinfo=ZoneInfo(zone)) - timedelta(
        hours=12
    )
    fired = _walk(digest_at, zone, start.astimezone(UTC), start.astimezone(UTC) + timedelta(1))
    assert fired == [_utc(fires_at)]
    assert digest_slot(digest_at, zone, date.fromisoformat(day)) == _utc(fires_at)


ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Tokyo",
]


def _transition_days(zone: str, year: int) -> list[date]:
    """The local days of ``year`` on which ``zone``'s UTC offset changes."""
    tz, days = ZoneInfo(zone), []
    noon = datetime(year, 1, 1, 12, tzinfo=UTC)
    for hour in range(0, 366 * 24):
        at, after = noon + timedelta(hours=hour), noon + timedelta(hours=hour + 1)
        if at.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset():
            days.append(after.astimezone(tz).date())
    return days


@st.composite
def _walks(draw: st.DrawFn) -> tuple[str, str, date]:
    zone = draw(st.sampled_from(ZONES))
    clock = (
        f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from([0, 1, 15, 29, 30, 45, 59])):02d}"
    )
    near = _transition_days(zone, 2027) or [date(2027, 6, 1)]
    day = draw(st.one_of(st.sampled_from(near), st.dates(date(2027, 1, 2), date(2027, 12, 28))))
    return clock, zone, day - timedelta(days=draw(st.integers(0, 1)))


@settings(max_examples=40, deadline=None)
@given(_walks())
def test_a_minute_by_minute_walk_fires_once_per_local_day(walk: tuple[str, str, date]) -> None:
    """Walking three local days minute by minute (around a transition, or any days), the
    digest fires exactly once on each, at that day's slot."""
    clock, zone, day = walk
    start = digest_slot("00:00", zone, day).astimezone(UTC)  # the day's first instant
    end = digest_slot("00:00", zone, day + timedelta(days=3)).astimezone(UTC)
    fired = _walk(clock, zone, start, end)
    days = [day + timedelta(days=n) for n in range(3)]
    assert Counter(f.astimezone(ZoneInfo(zone)).date() for f in fired) == Counter(days)
    assert fired == [digest_slot(clock, zone, d) for d in days]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Santiago"])
def test_a_year_walked_minute_by_minute_has_one_digest_a_day(zone: str) -> None:
    """The whole of 2027, with the clock time the spring-forward gap skips."""
    start = digest_slot("00:00", zone, date(2027, 1, 1)).astimezone(UTC)
    end = digest_slot("00:00", zone, date(2028, 1, 1)).astimezone(UTC)
    clock = "02:30" if zone == "Europe/Berlin" else "00:30"
    fired = _walk(clock, zone, start, end)
    assert len(fired) == 365
    assert len({f.astimezone(ZoneInfo(zone)).date() for f in fired}) == 365
