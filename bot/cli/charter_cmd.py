"""``charterbot charter …``: check a charter file, show what it means, print its JSON Schema.

FILE defaults to ``CHARTERBOT_CHARTER`` from the settings (the environment, then ``.env``), else
the bundled example charter, as ``serve`` reads them; the summary line then says which file it
was. Exit codes: 0 when the charter loads; 1 when it cannot be read or has problems; 2 when a
setting is unusable. Problems go to stdout, one ``file:line:column: path: message`` line each
(editors and CI annotate from them); the one-line summary of a failure goes to stderr.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.charter_file import CharterUnreadable, read_charter
from charter.load import CharterInvalid, LoadedCharter, json_schema
from charter.model import Charter, DrillRequirement, Track
from charter.votes import seats

charter_app = typer.Typer(
    name="charter", help="Check and explain charter files.", no_args_is_help=True
)

CharterPath = Annotated[
    Path | None,
    typer.Argument(
        help="The charter file (default: CHARTERBOT_CHARTER, from the environment or .env, else"
        " the bundled example).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(charter_app, name="charter")


@charter_app.command()
def check(file: CharterPath = None) -> None:
    """Load FILE and report every problem at once, or one line saying what it holds."""
    path, origin = _charter_file(file)
    charter = _load_or_exit(path).charter
    which = "" if origin is None else f" ({origin})"
    typer.echo(f"ok: {charter.charter.name} v{charter.version} — {_summary(charter)}{which}")


@charter_app.command()
def show(file: CharterPath = None) -> None:
    """Explain FILE as tables: clients, roles, tracks, stages, meetings, announcements."""
    path, origin = _charter_file(file)
    loaded = _load_or_exit(path)
    if origin is not None and origin.startswith(EXAMPLE):
        typer.echo(f"note: showing {origin}", err=True)
    console = Console(highlight=False)
    for table in _tables(loaded):
        console.print(table)


@charter_app.command()
def schema() -> None:
    """Print the charter's JSON Schema (point your editor at it for completion and checks)."""
    typer.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))


EXAMPLE = "the bundled example charter"


def _charter_file(file: Path | None) -> tuple[Path, str | None]:
    """FILE, else the charter the settings name, else the bundled example (as ``serve`` reads
    them); with which file it is and why, when FILE did not give it."""
    if file is not None:
        return file, None
    from bot.charter_file import example_charter_path
    from bot.cli.startup import load_settings

    named = load_settings().charter
    if named is None:
        path = example_charter_path()
        return path, f"{EXAMPLE} {path}: no FILE given and CHARTERBOT_CHARTER is not set"
    return named, f"from CHARTERBOT_CHARTER: {named}"


def _load_or_exit(file: Path) -> LoadedCharter:
    try:
        return read_charter(file)
    except CharterUnreadable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except CharterInvalid as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        count = _plural(len(exc.problems), "problem")
        typer.echo(f"{file}: {count}; the charter was not loaded", err=True)
        raise typer.Exit(1) from None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _summary(charter: Charter) -> str:
    counts = (
        (len(charter.clients), "client"),
        (len(charter.tracks), "track"),
        (len(charter.rollout.stages), "stage"),
        (len(charter.meetings), "meeting"),
    )
    return ", ".join(_plural(n, noun) for n, noun in counts)


# -- tables -------------------------------------------------------------------------------------


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column)
    return table


def _add(table: Table, *cells: object) -> None:
    """Add a row of plain text (never rich markup: ids like [clients] must show as written)."""
    table.add_row(*(Text("—" if c in (None, "", False) else str(c)) for c in cells))


def _names(values: tuple[str, ...]) -> str:
    return ", ".join(values)


def _duration(value: object) -> str | None:
    """Days, hours or minutes as charters are usually written (``7d`` rather than ``1w``)."""
    if not isinstance(value, timedelta):
        return None
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _seats(track: Track, charter: Charter) -> str:
    """``clients (5) + security-council (3) = 8 seats``, counted by the voting rules' seats."""
    table = seats(track, charter)
    parts = [
        (entry, sum(1 for s in table if s.id.startswith(_seat_prefix(entry))))
        for entry in track.electorate
    ]
    listed = " + ".join(f"{entry} ({count})" for entry, count in parts)
    return f"{listed} = {_plural(len(table), 'seat')}"


def _seat_prefix(entry: str) -> str:
    return "client:" if entry == "clients" else f"role:{entry}:"


def _tables(loaded: LoadedCharter) -> list[Table]:
    return [
        _about(loaded),
        _clients(loaded.charter),
        _roles(loaded.charter),
        _tracks(loaded.charter),
        _stages(loaded.charter),
        _rollout_rules(loaded.charter),
        _meetings(loaded.charter),
        _channels(loaded.charter),
        _announce(loaded.charter),
        _escalation(loaded.charter),
    ]


def _about(loaded: LoadedCharter) -> Table:
    meta, github = loaded.charter.charter, loaded.charter.github
    table = _table(f"{meta.name} (version {meta.version})", "setting", "value")
    _add(table, "file", loaded.source)
    _add(table, "sha256", loaded.sha256)
    _add(table, "time zone", meta.timezone)
    _add(table, "proposals", f"issues in {github.repository} labelled {github.proposal_label}")
    return table


def _clients(charter: Charter) -> Table:
    table = _table("Clients", "id", "name", "language", "repository", "maintainers")
    for c in charter.clients:
        _add(table, c.id, c.name, c.language, c.repository, _names(c.maintainers))
    return table


def _roles(charter: Charter) -> Table:
    table = _table("Roles", "role", "members")
    for role, members in charter.roles.items():
        _add(table, role, _names(members))
    return table


def _tracks(charter: Charter) -> Table:
    """One column per track, one row per rule, so the tracks read side by side."""
    names = list(charter.tracks)
    table = _table("Tracks", "rule", *names)
    tracks = [charter.tracks[n] for n in names]
    rows: list[tuple[str, list[object]]] = [
        ("review", [_duration(t.review) for t in tracks]),
        ("voting", [_duration(t.voting) for t in tracks]),
        ("electorate", [_seats(t, charter) for t in tracks]),
        ("quorum", [f"{t.quorum:.0%} of seats vote" for t in tracks]),
        ("approval", [f"{t.approval:.0%} of approve + reject" for t in tracks]),
        ("veto", [_names(t.veto) for t in tracks]),
        ("confirm", [_duration(t.confirm) for t in tracks]),
        ("lazy consensus", [_duration(t.lazy_consensus) for t in tracks]),
        ("activation ≥", [_duration(t.min_activation_after_decision) for t in tracks]),
        ("confidential", ["yes" if t.confidential else "no" for t in tracks]),
        (
            "author votes",
            ["yes" if t.author_may_vote else "no: author_may_vote false" for t in tracks],
        ),
    ]
    for label, cells in rows:
        _add(table, label, *cells)
    return table


def _rollout_rules(charter: Charter) -> Table:
    rollout, incidents = charter.rollout, charter.incidents
    risk, first = rollout.risk, rollout.stages[0].id if rollout.stages else "the first stage"
    table = _table("Rollout and incident rules", "rule", "value")
    pause = rollout.pause_on_incident
    _add(table, "pause", pause and f"an incident of {pause} or worse pauses the rollouts it names")
    limit = risk.pause_above
    _add(table, "risk limit", limit is not None and (
        f"likelihood x impact (each 1..{risk.scale}) above {limit} needs an override "
        f"to advance past {first}"
    ))  # fmt: skip
    _add(table, "overrides", _names(rollout.override_roles) or "nobody")
    _add(table, "severities", f"{_names(incidents.severities)} (worst first)")
    _add(table, "incident roles", _names(incidents.roles))
    _add(table, "incident review", _duration(incidents.review_within))
    return table


def _stages(charter: Charter) -> Table:
    columns = ("#", "stage", "soak", "ready", "checks", "blocked by", "go/no-go", "drill")
    table = _table("Rollout stages", *columns)
    for number, s in enumerate(charter.rollout.stages, start=1):
        blocked = f"{s.block_on_incident} or worse" if s.block_on_incident else None
        go = "call" if s.go_no_go_meeting else None
        _add(table, number, s.id, _duration(s.soak), s.require_ready, _names(s.require_checks),
             blocked, go, _drill(s.require_drill))  # fmt: skip
    return table


def _drill(required: DrillRequirement | None) -> str | None:
    """A stage's ``require_drill`` as its gate asks it: "drill on canary within 30m"."""
    if required is None:
        return None
    return f"drill on {required.stage} within {_duration(required.recover_within)}"


def _meetings(charter: Charter) -> Table:
    columns = ("id", "title", "rrule", "first", "zone", "length", "agenda", "reminders", "to")
    table = _table("Meetings", *columns)
    for m in charter.meetings:
        reminders = ", ".join(str(_duration(r)) for r in m.reminders)
        first = m.start.isoformat(timespec="minutes")
        _add(table, m.id, m.title, m.rrule, first, m.timezone, _duration(m.duration),
             _duration(m.agenda_before), reminders, _names(m.announce_to))  # fmt: skip
    return table


def _channels(charter: Charter) -> Table:
    table = _table("Channels", "channel", "platform", "address", "private")
    for name, channel in charter.channels.items():
        _add(table, name, channel.platform, channel.address, "yes" if channel.private else "no")
    return table


def _announce(charter: Charter) -> Table:
    table = _table("Announcements", "event", "channels")
    for kind, channels in charter.announce.items():
        _add(table, kind, _names(channels))
    return table


def _escalation(charter: Charter) -> Table:
    table = _table("Escalation", "when", "after", "notify")
    for rule in charter.escalation:
        _add(table, rule.when, _duration(rule.after), _names(rule.notify))
    return table
