"""``charterbot outbox …``: see what is waiting or failed, and requeue it.

``outbox list`` shows pending, sending and failed outbox items and per-destination deliveries
with their age and last error; deliveries ``skipped`` because their platform is not configured
here (``bot.relay_fanout.skip``: not failures) follow, one line per destination with how many
and the newest id, so a deployment without, say, Slack is not a wall of errors.
``outbox retry <id>…`` requeues outbox items (``o12``) or
deliveries (``d34``; a bare number means a delivery); ``outbox retry --failed`` requeues every
failed item and delivery. An id that names nothing, or something already sent, is said so on
stderr. A skipped delivery whose platform is still not configured (in this environment's
settings, the relay's) is not requeued: the relay would skip it again; stderr says so and which
setting would configure it. Exit codes: 0 done; 1 nothing requeued or an id named nothing;
2 bad input, settings or database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlmodel import Session, col, select

from bot.cli.db_cmd import DatabaseUrl, open_engine
from bot.cli.startup import load_settings
from bot.relay_fanout import SKIPPED
from bot.settings import Settings
from storage import deliveries, outbox
from storage.db import read_scope, session_scope
from storage.models.broadcast import DeliveryRow
from storage.models.core import OutboxRow
from storage.times import aware

outbox_app = typer.Typer(
    name="outbox", help="Announcements waiting for delivery.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(outbox_app, name="outbox")


def _age(then: datetime, now: datetime) -> str:
    seconds = int((now - aware(then)).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@outbox_app.command("list")
def list_items(database_url: DatabaseUrl = None) -> None:
    """Pending and failed items with their age and last error."""
    now = datetime.now(UTC)
    with open_engine(database_url) as engine, read_scope(engine) as session:
        items = outbox.listing(session)
        rows = deliveries.listing(session)
        lines = [
            f"o{r.id}\t{r.kind}\t{r.status}\tattempts={r.attempts}\tage={_age(r.created_at, now)}"
            f"\t{r.last_error or ''}"
            for r in items
        ]
        lines += [
            f"d{r.id}\t{r.destination}\t{r.status}\tattempts={r.attempts}"
            f"\tage={_age(r.created_at, now)}\t{r.last_error or ''}"
            for r in rows
            if r.status != SKIPPED
        ]
        lines += _skipped([r for r in rows if r.status == SKIPPED])
    if not lines:
        typer.echo("nothing pending or failed")
        return
    typer.echo("id\twhat\tstatus\tattempts\tage\tlast error")
    for line in lines:
        typer.echo(line)


def _skipped(rows: Sequence[DeliveryRow]) -> list[str]:
    """One line per destination of the skipped deliveries: how many, the newest, and why."""
    by_destination: dict[str, list[DeliveryRow]] = {}
    for row in rows:
        by_destination.setdefault(row.destination, []).append(row)
    return [
        f"d{newest.id}\t{destination}\t{SKIPPED}\tcount={len(found)}\t-\t{newest.last_error or ''}"
        for destination, found in by_destination.items()
        for newest in [max(found, key=lambda r: r.id or 0)]
    ]


def _split(ids: list[str]) -> tuple[list[int], list[int]]:
    items: list[int] = []
    rows: list[int] = []
    for raw in ids:
        kind, digits = (raw[0], raw[1:]) if raw[:1] in ("o", "d") else ("d", raw)
        if not digits.isdigit():
            typer.echo(
                f"error: {raw!r} is not an id; write d12 (delivery) or o7 (outbox item)", err=True
            )
            raise typer.Exit(2)
        (items if kind == "o" else rows).append(int(digits))
    return items, rows


def not_requeued(
    prefix: str, noun: str, ids: Sequence[int], status: Mapping[int, str]
) -> tuple[list[str], list[str]]:
    """Which of ``ids`` will not be requeued, given the ``status`` of those that exist: those
    that name nothing, and those sent already, one line each (``prefix``, ``noun``: the kind)."""
    unknown = [f"no {noun} {prefix}{number}" for number in ids if number not in status]
    sent = [
        f"{prefix}{number} was sent already; there is nothing to retry"
        for number in ids
        if status.get(number) == "sent"
    ]
    return unknown, sent


# The setting that gives the relay a sender for each platform (bot.senders.factory); a webhook
# needs none.
_SENDER_SETTING = {
    "slack": ("SLACK_BOT_TOKEN", "slack_bot_token"),
    "discord": ("DISCORD_TOKEN", "discord_token"),
    "email": ("CHARTERBOT_SMTP_URL", "smtp_url"),
}


def still_skipped(session: Session, ids: Sequence[int], settings: Settings) -> dict[int, str]:
    """The skipped deliveries among ``ids`` whose platform still has no sender here, each with
    the line saying why it is not requeued."""
    rows = session.exec(
        select(DeliveryRow.id, DeliveryRow.platform)
        .where(col(DeliveryRow.id).in_(list(ids)))
        .where(DeliveryRow.status == SKIPPED)
    )
    found: dict[int, str] = {}
    for number, platform in rows:
        setting, field = _SENDER_SETTING.get(platform, ("", ""))
        if number is not None and field and getattr(settings, field) is None:
            found[number] = (
                f"d{number} is not requeued: {platform} is not configured here (set {setting}),"
                " so the relay would skip it again"
            )
    return found


def _statuses(session: Session, table: Any, ids: Sequence[int]) -> dict[int, str]:
    rows = session.exec(select(table.id, table.status).where(col(table.id).in_(list(ids))))
    return {number: status for number, status in rows}


@outbox_app.command("retry")
def retry(
    ids: Annotated[
        list[str] | None, typer.Argument(help="d<id> deliveries, o<id> outbox items")
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Requeue everything that failed.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Requeue items now, with fresh attempts."""
    if not ids and not failed:
        typer.echo("error: give ids (d12, o7) or --failed", err=True)
        raise typer.Exit(2)
    items, rows = _split(ids or [])
    now = datetime.now(UTC)
    settings = load_settings() if rows else None
    with open_engine(database_url) as engine, session_scope(engine) as session:
        unknown, sent = not_requeued(
            "o", "outbox item", items, _statuses(session, OutboxRow, items)
        )
        more_unknown, more_sent = not_requeued(
            "d", "delivery", rows, _statuses(session, DeliveryRow, rows)
        )
        skipped = still_skipped(session, rows, settings) if settings is not None else {}
        rows = [number for number in rows if number not in skipped]
        count = 0
        if failed or items:
            count += outbox.requeue(session, ids=items, failed=failed, now=now)
        if failed or rows:
            count += deliveries.requeue(session, ids=rows, failed=failed, now=now)
    for line in (*unknown, *more_unknown, *sent, *more_sent, *skipped.values()):
        typer.echo(line, err=True)
    typer.echo(f"requeued {count}")
    if count == 0 or unknown or more_unknown:
        raise typer.Exit(1)
