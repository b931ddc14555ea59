"""``charterbot outbox list`` and ``charterbot outbox retry``."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from charter.subscriptions import Destination
from storage import deliveries
from storage.db import session_scope
from storage.models.broadcast import DeliveryRow
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
