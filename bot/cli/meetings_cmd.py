"""``charterbot meetings list [--next N] [--tz ZONE]``: the next calls, in UTC and local time.

Reads the charter (``--charter``, else ``CHARTERBOT_CHARTER`` from the environment or ``.env``,
else the bundled example) and, when the database is reachable and migrated, its cancellations,
moves and ad-hoc calls. Each line shows the start in UTC and in ``ZONE`` (default: the
charter's zone; one column when that is UTC), the length, the call's own zone and the
occurrence key that commands accept (its time is in the call's zone). Exit codes: 0 done; 2 bad
input or unreadable charter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.db_cmd import DatabaseUrl, missing_database, open_engine

if TYPE_CHECKING:  # the command imports these as it runs, so --help stays quick
    from zoneinfo import ZoneInfo

    from charter.load import LoadedCharter
    from charter.meetings import AdhocMeeting, Occurrence, Schedule
    from charter.model import Meeting

meetings_app = typer.Typer(name="meetings", help="Scheduled calls.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(meetings_app, name="meetings")


@meetings_app.command("list")
def list_calls(
    next_n: Annotated[int, typer.Option("--next", min=1, max=200, help="How many calls.")] = 5,
    tz: Annotated[str | None, typer.Option("--tz", help="Show local times in this zone.")] = None,
    charter: Annotated[
        Path | None,
        typer.Option(
            "--charter",
            help="The charter file (default: CHARTERBOT_CHARTER, else the bundled example).",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The next N calls of every series and ad-hoc call, in UTC and in local time."""
    from charter.meetings import occurrences

    loaded, zone = _charter_and_zone(charter, tz)
    now = datetime.now(UTC)
    schedule, adhoc = _stored_calls(database_url, now)
    found: list[tuple[Occurrence, Meeting | AdhocMeeting]] = []
    calls: list[Meeting | AdhocMeeting] = [*loaded.charter.meetings, *adhoc]
    for call in calls:
        found += [(o, call) for o in occurrences(call, now, count=next_n, schedule=schedule)]
    found.sort(key=lambda pair: (pair[0].starts_at, pair[0].key))
    if not found:
        typer.echo("no calls scheduled")
        return
    _print_calls(found[:next_n], zone)


def _charter_and_zone(charter: Path | None, tz: str | None) -> tuple[LoadedCharter, ZoneInfo]:
    """The charter (the option's, else the setting's, else the bundled example) and the zone
    of local times (``--tz``, else the charter's); exit 2 when either cannot be read."""
    from bot.charter_file import example_charter_path, read_charter
    from bot.cli.startup import load_settings
    from charter.load import CharterInvalid
    from charter.meetings import MeetingError, zone_of

    charter = charter or load_settings().charter
    try:
        loaded = read_charter(charter or example_charter_path())
        zone = zone_of(tz or loaded.charter.charter.timezone)
    except (CharterInvalid, MeetingError, OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    return loaded, zone


def _stored_calls(database_url: str | None, now: datetime) -> tuple[Schedule, list[AdhocMeeting]]:
    """The database's cancellations and moves, and its ad-hoc calls from ``now`` on; none
    (with a note why) when it is missing or not migrated: the charter's series still show."""
    from bot.meetings_calls import adhoc_call
    from charter.meetings import AdhocMeeting, Schedule
    from storage import meetings as store, migrate
    from storage.db import read_scope

    schedule, adhoc = Schedule(), list[AdhocMeeting]()
    missing = missing_database(database_url)
    if missing is not None:
        typer.echo(f"note: no database at {missing}; showing the charter's series only", err=True)
        return schedule, adhoc
    with open_engine(database_url) as engine:
        if migrate.is_current(engine):
            with read_scope(engine) as session:
                schedule = store.schedule(session)
                adhoc = [adhoc_call(r) for r in store.adhoc_rows(session, since=now)]
        else:
            note = "note: database not migrated; showing the charter's series only"
            typer.echo(note, err=True)
    return schedule, adhoc


def _print_calls(found: list[tuple[Occurrence, Meeting | AdhocMeeting]], zone: ZoneInfo) -> None:
    """A header, then one line per call: its start in UTC and in ``zone``, length, title, the
    call's own zone and the key, whose time is in that zone (an ad-hoc call scheduled from
    another zone has a key that matches neither start column)."""
    from charter.model import format_duration

    utc = zone.key in _UTC  # the local column would repeat the UTC one
    typer.echo("start (UTC)" + ("" if utc else f"\tstart ({zone.key})") + _HEAD)
    for occ, call in found:
        local = "" if utc else f"\t{occ.starts_at.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
        typer.echo(
            f"{occ.starts_at:%a %Y-%m-%d %H:%M}Z{local}"
            f"\t{format_duration(occ.ends_at - occ.starts_at)}\t{call.title}"
            f"\t{call.timezone}\t{occ.key}"
        )


_HEAD = "\tlength\ttitle\tkey zone\tkey"
_UTC = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu"})
