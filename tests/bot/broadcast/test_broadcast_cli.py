"""``charterbot outbox list`` and ``charterbot outbox retry``."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot import relay_fanout
from bot.cli import app
from charter.subscriptions import Destination
from storage import deliveries
from storage.db import session_scope
from storage.models.broadcast import DeliveryRow
from storage.models.core import OutboxRow
from tests.bot.broadcast.support import NOW, announce, enqueue

RUNNER = CliRunner()


def _setup(engine: Engine) -> None:
    enqueue(engine, announce("decision"))
    with session_scope(engine) as session:
        deliveries.fan_out(
            session, 1, [Destination("slack", "CA"), Destination("slack", "CB")], NOW
        )
        deliveries.mark_failed(session, 1, "slack: channel_not_found")


def test_list_shows_pending_and_failed_with_age_and_error(
    sqlite_engine: Engine, sqlite_url: str
) -> None:
    """Both outbox items and deliveries are listed with status, age and the last error."""
    _setup(sqlite_engine)
    result = RUNNER.invoke(app, ["outbox", "list", "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "o1\tannounce\tpending" in result.output
    assert "d1\tslack:CA\tfailed" in result.output and "channel_not_found" in result.output
    assert "d2\tslack:CB\tpending" in result.output


def test_list_shows_skipped_deliveries_as_such_one_line_per_destination(
    sqlite_engine: Engine, sqlite_url: str
) -> None:
    """Deliveries to a platform not configured here are skipped, not failed: one line per
    destination (how many, the newest id, why), apart from the real failures."""
    enqueue(sqlite_engine, announce("decision"), announce("vote"))
    dests = [Destination("slack", "CA"), Destination("discord", "D1")]
    with session_scope(sqlite_engine) as session:
        deliveries.fan_out(session, 1, dests, NOW)
        deliveries.fan_out(session, 2, dests, NOW)
        deliveries.mark_failed(session, 2, "discord: 403 Missing Access")
    for delivery in (1, 3):
        relay_fanout.skip(sqlite_engine, delivery, "slack is not configured here; not sent")
    result = RUNNER.invoke(app, ["outbox", "list", "--database-url", sqlite_url])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line for line in lines if "\tskipped\t" in line] == [
        "d3\tslack:CA\tskipped\tcount=2\t-\tslack is not configured here; not sent"
    ]
    assert "d2\tdiscord:D1\tfailed" in result.output and "d1\t" not in result.output
    with session_scope(sqlite_engine) as session:
        assert session.get(DeliveryRow, 1).status == "skipped"  # type: ignore[union-attr]
        assert not session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()


def test_retry_failed_requeues_with_fresh_attempts(sqlite_engine: Engine, sqlite_url: str) -> None:
    """`retry --failed` puts failed deliveries back to pending with zero attempts."""
    _setup(sqlite_engine)
    result = RUNNER.invoke(app, ["outbox", "retry", "--failed", "--database-url", sqlite_url])
    assert result.exit_code == 0 and "requeued 1" in result.output
    with session_scope(sqlite_engine) as session:
        row = session.exec(select(DeliveryRow).where(DeliveryRow.id == 1)).one()
        assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)


def test_retry_needs_ids_or_failed_and_rejects_bad_ids(sqlite_url: str) -> None:
    """No arguments or a malformed id exit 2 with the accepted forms."""
    assert RUNNER.invoke(app, ["outbox", "retry", "--database-url", sqlite_url]).exit_code == 2
    bad = RUNNER.invoke(app, ["outbox", "retry", "x9", "--database-url", sqlite_url])
    assert bad.exit_code == 2 and "d12" in bad.output


def test_retry_names_an_id_that_is_not_there(sqlite_engine: Engine, sqlite_url: str) -> None:
    """An unknown id is named (exit 1), beside whatever else was requeued."""
    _setup(sqlite_engine)
    result = RUNNER.invoke(app, ["outbox", "retry", "o999999", "--database-url", sqlite_url])
    assert result.exit_code == 1
    assert (result.stderr, result.stdout) == ("no outbox item o999999\n", "requeued 0\n")
    result = RUNNER.invoke(app, ["outbox", "retry", "d1", "d77", "--database-url", sqlite_url])
    assert result.exit_code == 1
    assert (result.stderr, result.stdout) == ("no delivery d77\n", "requeued 1\n")


def _skipped_on_discord(engine: Engine) -> None:
    enqueue(engine, announce("decision"))
    with session_scope(engine) as session:
        deliveries.fan_out(session, 1, [Destination("discord", "123")], NOW)
    relay_fanout.skip(engine, 1, "discord is not configured here (no credentials); not sent")


def test_retry_of_a_delivery_skipped_for_an_unconfigured_platform(
    sqlite_engine: Engine, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requeued while Discord is still not configured, it would be skipped again: it is left
    as it is and the reply says why; once configured, it is requeued."""
    _skipped_on_discord(sqlite_engine)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    result = RUNNER.invoke(app, ["outbox", "retry", "d1", "--database-url", sqlite_url])
    assert (result.exit_code, result.stdout) == (1, "requeued 0\n")
    assert result.stderr == (
        "d1 is not requeued: discord is not configured here (set DISCORD_TOKEN),"
        " so the relay would skip it again\n"
    )
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(DeliveryRow.status)).all() == ["skipped"]
    monkeypatch.setenv("DISCORD_TOKEN", "discord-test-token")
    result = RUNNER.invoke(app, ["outbox", "retry", "d1", "--database-url", sqlite_url])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "requeued 1\n", "")
