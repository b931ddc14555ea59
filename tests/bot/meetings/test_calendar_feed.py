"""The calendar feeds served by the app, round-tripped through icalendar."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar

from bot.bootstrap import Runtime, build
from bot.clock import FixedClock
from bot.http import create_app
from bot.settings import Settings
from tests.bot.meetings.conftest import COORDINATOR

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'cal.db'}")
    rt = build(settings, clock=FixedClock(NOW))
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(rt, run_background=False)),
        base_url="http://bot",
    )
    yield rt, client
    await client.aclose()
    rt.engine.dispose()


def events(body: bytes) -> dict[tuple[str, str], dict[str, object]]:
    """(UID, RECURRENCE-ID or '') → the event's properties, after a parse/serialise round trip."""
    cal = Calendar.from_ical(Calendar.from_ical(body).to_ical())
    out = {}
    for ev in cal.walk("VEVENT"):
        rid = ev.get("RECURRENCE-ID")
        key = (str(ev["UID"]), "" if rid is None else rid.dt.isoformat())
        ex = ev.get("EXDATE")
        exdates = ex if isinstance(ex, list) else ([] if ex is None else [ex])
        out[key] = {
            "sequence": int(ev["SEQUENCE"]),
            "status": str(ev["STATUS"]),
            "start": ev["DTSTART"].dt,
            "exdate": [d.dt for x in exdates for d in x.dts],
        }
    return out


def _without_dtstamp(body: bytes) -> bytes:
    return re.sub(rb"DTSTAMP:[0-9TZ]+\r\n", b"", body)


async def test_the_feeds_are_valid_stable_and_follow_changes(
    app: tuple[Runtime, httpx.AsyncClient],
) -> None:
    """/calendar.ics holds every series with stable UIDs and Berlin's VTIMEZONE; regenerating it
    changes nothing but DTSTAMP; a cancellation adds EXDATE and a CANCELLED override and raises
    SEQUENCE; ad-hoc calls and single series have their own feeds; unknown ids are a 404."""
    rt, client = app
    first = await client.get("/calendar.ics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin" in first.content
    rt.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    again = await client.get("/calendar.ics")
    assert again.content != first.content  # DTSTAMP moved …
    assert _without_dtstamp(again.content) == _without_dtstamp(first.content)  # … nothing else
    before = events(first.content)
    core = "core-sync.meridian-net.upgrades@charterbot"
    assert set(before) == {(core, ""), ("security-sync.meridian-net.upgrades@charterbot", "")}
    assert before[(core, "")]["sequence"] == 0

    assert rt.gov.run_sync("meeting cancel core-sync", COORDINATOR, NOW).ok
    after = events((await client.get("/calendar.ics")).content)
    nominal = datetime(2026, 4, 2, 15, 0)
    assert after[(core, "")]["sequence"] == 1
    assert [d.replace(tzinfo=None) for d in after[(core, "")]["exdate"]] == [nominal]  # type: ignore[union-attr]
    [(uid, rid)] = [k for k in after if k[1]]
    assert (uid, after[(uid, rid)]["status"]) == (core, "CANCELLED")

    preview = rt.gov.run_sync('meeting schedule "Fork retro" 2026-03-25 15:00Z', COORDINATOR, NOW)
    token = re.search(r"confirm (\S+)", "\n".join(str(s) for line in preview.lines for s in line))
    assert token is not None
    assert rt.gov.run_sync(f"confirm {token.group(1)}", COORDINATOR, NOW).ok
    one = await client.get("/calendar/call-20260325-1500.ics")
    assert one.status_code == 200
    assert list(events(one.content)) == [
        ("call-20260325-1500.meridian-net.upgrades@charterbot", "")
    ]
    series = events((await client.get("/calendar/security-sync.ics")).content)
    assert list(series) == [("security-sync.meridian-net.upgrades@charterbot", "")]
    missing = await client.get("/calendar/nope.ics")
    assert missing.status_code == 404 and "core-sync" in missing.text


def test_install_mounts_the_routes_and_the_leader_only_scheduler(tmp_path: Path) -> None:
    """bootstrap's optional-area hook installs the meetings area: the calendar routes, the
    scheduler that follows leadership, and the command handlers."""
    from charter import commands as c

    rt = build(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"), clock=FixedClock(NOW))
    try:
        paths = {r.path for r in rt.extras["routes"]}
        assert {"/calendar.ics", "/calendar/{series}.ics"} <= paths
        assert "meetings_scheduler" in rt.extras and rt.extras["startup"]
        assert rt.gov.handler_for(c.Confirm(token="abcd")) is not None
    finally:
        rt.engine.dispose()
