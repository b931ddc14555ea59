"""`charterbot meetings list`: the next calls in UTC and local time, with stored changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from typer.testing import CliRunner

from bot.cli import meetings_cmd
from charter.meetings import occurrences
from storage import meetings as store, migrate
from storage.db import make_engine, session_scope
from storage.models.meetings import AdhocMeetingRow
from tests.bot.meetings.conftest import charter_with

app = typer.Typer()
meetings_cmd.register(app)


def invoke(*args: str) -> tuple[int, list[str], str]:
    result = CliRunner().invoke(app, ["meetings", "list", *args])
    return result.exit_code, result.stdout.splitlines(), result.stderr


def test_lists_utc_and_local_times_with_stored_changes(tmp_path: Path) -> None:
    """Lines are in start order, each UTC time converted to --tz; an ad-hoc call is listed and a
    cancelled occurrence is not."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    now = datetime.now(UTC)
    soon = (now + timedelta(hours=1)).replace(second=0, microsecond=0)
    charter = charter_with().charter
    core = charter.meeting("core-sync")
    assert core is not None
    [next_core] = occurrences(core, now, count=1)
    with session_scope(engine) as session:
        session.add(
            AdhocMeetingRow(
                id="call-soon",
                title="Hotfix call",
                starts_at=soon,
                duration_seconds=1800,
                created_by="t",
                created_at=now,
            )
        )
        store.set_exception(
            session, key=next_core.key, meeting_id="core-sync", moved_to=None, by="t", now=now
        )
    engine.dispose()
    code, lines, _ = invoke("--next", "4", "--tz", "America/New_York", "--database-url", url)
    assert code == 0
    assert lines[0] == "start (UTC)\tstart (America/New_York)\tlength\ttitle\tkey zone\tkey"
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == 4
    assert rows[0][2:4] == ["30m", "Hotfix call"]
    assert next_core.key not in [r[-1] for r in rows]
    starts = [datetime.strptime(r[0], "%a %Y-%m-%d %H:%MZ").replace(tzinfo=UTC) for r in rows]
    assert starts == sorted(starts)
    for start, row in zip(starts, rows, strict=True):
        assert row[1] == start.astimezone(ZoneInfo("America/New_York")).strftime(
            "%a %Y-%m-%d %H:%M %Z"
        )


def test_bad_zone_is_refused_with_the_reason(tmp_path: Path) -> None:
    """An unknown --tz exits 2 and names an accepted form."""
    code, _, err = invoke(
        "--tz", "Mars/Olympus", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert code == 2
    assert "unknown time zone 'Mars/Olympus'" in err


def test_without_a_database_the_charters_series_are_listed(tmp_path: Path) -> None:
    """No database file yet: the charter's own series are listed, with a note saying why, and
    no empty database file is left behind."""
    path = tmp_path / "charterbot.db"
    code, lines, err = invoke("--next", "3", "--database-url", f"sqlite:///{path}")
    assert code == 0
    assert f"note: no database at {path}" in err
    assert len(lines) == 4 and lines[0].startswith("start (UTC)")
    assert not path.exists()


def test_each_key_is_listed_with_the_zone_it_is_written_in(tmp_path: Path) -> None:
    """An ad-hoc call scheduled from Tokyo has a key in Tokyo time, which neither start column
    (UTC, the charter's zone) shows: the line names the zone of each key."""
    url = f"sqlite:///{tmp_path / 'zones.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    now = datetime.now(UTC)
    soon = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    with session_scope(engine) as session:
        session.add(
            AdhocMeetingRow(
                id="call-tokyo",
                title="Tokyo call",
                starts_at=soon,
                duration_seconds=1800,
                timezone="Asia/Tokyo",
                created_by="t",
                created_at=now,
            )
        )
    engine.dispose()
    code, lines, _ = invoke("--next", "3", "--tz", "UTC", "--database-url", url)
    assert code == 0
    assert lines[0].endswith("\ttitle\tkey zone\tkey")
    rows = {row[-3]: row[-2:] for row in (line.split("\t") for line in lines[1:])}
    tokyo = soon.astimezone(ZoneInfo("Asia/Tokyo"))
    assert rows["Tokyo call"] == ["Asia/Tokyo", f"call-tokyo@{tokyo:%Y-%m-%dT%H:%M}"]
    assert rows["Core client sync"][0] == "Europe/Berlin"
