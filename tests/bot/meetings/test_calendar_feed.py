"""The calendar feeds served by the app, round-tripped through icalendar."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from icalendar import Calendar
from starlette.applications import Starlette

from bot import meetings_service
from bot.bootstrap import build
from bot.clock import FixedClock
from bot.http import create_app
from bot.messages import plain_text
from bot.runtime import Runtime
from bot.settings import Settings
from charter.load import load_charter
from tests.bot.meetings.conftest import COORDINATOR, charter_with, make_gov
from tests.paths import reference_charter_text

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
            "stamp": ev.decoded("DTSTAMP"),
            "status": str(ev["STATUS"]),
            "start": ev["DTSTART"].dt,
            "exdate": [d.dt for x in exdates for d in x.dts],
        }
    return out


async def test_the_feeds_are_valid_stable_and_follow_changes(
    app: tuple[Runtime, httpx.AsyncClient],
) -> None:
    """/calendar.ics holds every series with stable UIDs and Berlin's VTIMEZONE; regenerating it
    later gives the same bytes (DTSTAMP is when a series was last revised, so the ETag holds); a
    cancellation adds EXDATE and a CANCELLED override, raises SEQUENCE and dates DTSTAMP by
    itself; ad-hoc calls and single series have their own feeds; unknown ids are a 404."""
    rt, client = app
    first = await client.get("/calendar.ics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/calendar")
    assert b"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin" in first.content
    rt.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    again = await client.get("/calendar.ics")
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"]
    before = events(first.content)
    core = "core-sync.meridian-net.upgrades@charterbot"
    assert set(before) == {(core, ""), ("security-sync.meridian-net.upgrades@charterbot", "")}
    version = rt.gov.charter.version  # a series' SEQUENCE: its revision plus the version
    assert before[(core, "")]["sequence"] == version

    cancelled_at = rt.clock.now()
    assert rt.gov.run_sync("meeting cancel core-sync", COORDINATOR, cancelled_at).ok
    after = events((await client.get("/calendar.ics")).content)
    nominal = datetime(2026, 4, 2, 15, 0)
    assert after[(core, "")]["sequence"] == version + 1
    assert before[(core, "")]["stamp"] < cancelled_at == after[(core, "")]["stamp"]
    assert [d.replace(tzinfo=None) for d in after[(core, "")]["exdate"]] == [nominal]  # type: ignore[union-attr]
    [(uid, rid)] = [k for k in after if k[1]]
    assert (uid, after[(uid, rid)]["status"]) == (core, "CANCELLED")

    preview = rt.gov.run_sync('meeting schedule "Fork retro" 2026-03-25 15:00Z', COORDINATOR, NOW)
    token = re.search(r"confirm (\S+)", "\n".join(str(s) for line in preview.lines for s in line))
    assert token is not None
    done = rt.gov.run_sync(f"confirm {token.group(1)}", COORDINATOR, NOW)
    assert done.ok and done.title.startswith("Scheduled call-20260325-1500-")
    call_id = done.title.removeprefix("Scheduled ")
    one = await client.get(f"/calendar/{call_id}.ics")
    assert one.status_code == 200
    assert list(events(one.content)) == [(f"{call_id}.meridian-net.upgrades@charterbot", "")]
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


async def test_exceptions_the_charter_no_longer_matches_are_left_out_of_the_feeds(
    db_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel or move stored before an amendment moved the series (here from 15:00 to 16:00
    Berlin) names no occurrence any more: both feeds still answer 200, without it, and say so in
    the log once; the amendment raised the series' SEQUENCE (its revision plus the version)."""
    monkeypatch.setattr(meetings_service, "_reported_stale", set())  # nothing logged yet
    gov = make_gov(db_url, charter_with(), FixedClock(NOW))
    assert gov.run_sync("meeting cancel core-sync", COORDINATOR, NOW).ok
    token = re.search(
        r"confirm (\S+)",
        plain_text(gov.run_sync("meeting move core-sync@2026-04-16T15:00 2026-04-17 10:00Z",
                                COORDINATOR, NOW)),
    )  # fmt: skip
    assert token and gov.run_sync(f"confirm {token[1]}", COORDINATOR, NOW).ok
    gov.engine.dispose()
    data = yaml.safe_load(reference_charter_text())
    data["charter"]["version"] += 1
    data["meetings"][0]["start"] = "2026-01-08T16:00"
    amended = make_gov(db_url, load_charter(yaml.safe_dump(data, sort_keys=False)), FixedClock(NOW))
    app = Starlette(routes=meetings_service.calendar_routes(amended))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot")
    core = "core-sync.meridian-net.upgrades@charterbot"
    with caplog.at_level(logging.WARNING, logger="charterbot.meetings"):
        for path in ("/calendar.ics", "/calendar/core-sync.ics", "/calendar.ics"):
            answer = await client.get(path)
            assert answer.status_code == 200, answer.text
            found = events(answer.content)
            assert list(found) == [(core, "")] + ([] if "core" in path else [
                ("security-sync.meridian-net.upgrades@charterbot", "")
            ])  # fmt: skip
            assert found[(core, "")]["exdate"] == []
            assert found[(core, "")]["sequence"] == 2 + data["charter"]["version"]
    stale = [r.getMessage() for r in caplog.records if "no longer an occurrence" in r.getMessage()]
    assert len(stale) == 2  # the cancel and the move, once each over three fetches
    assert "core-sync@2026-04-02T15:00" in stale[0] and "core-sync@2026-04-16T15:00" in stale[1]
    await client.aclose()
    amended.engine.dispose()
