"""Coalescing keys while an item is in flight: taking an item for sending frees its ``:pending``
key in the same transaction, so a change committed during the platform call queues a fresh
item; the item in flight can still be retried, failed or sent beside it (no unique clash)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from storage import outbox
from storage.db import session_scope
from storage.models.core import OutboxRow

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SYNC = "sync-github:1:pending"


def _take_by_id(session: Session, row: OutboxRow) -> None:
    outbox.begin_attempt(session, row.id)


def _take(session: Session, row: OutboxRow) -> None:
    outbox.mark_sending(session, row)


TAKE = [pytest.param(_take_by_id, id="begin_attempt"), pytest.param(_take, id="mark_sending")]
Take = Callable[[Session, OutboxRow], None]


def _queue(engine: Engine, key: str) -> None:
    with session_scope(engine) as session:
        outbox.enqueue(session, kind="sync-github", payload={"proposal": 1}, now=NOW, key=key)


def _rows(engine: Engine) -> list[tuple[str | None, str]]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).order_by(OutboxRow.id)).all()  # type: ignore[arg-type]
        return [(r.key, r.status) for r in rows]


def _take_first(engine: Engine, take: Take) -> int | None:
    with session_scope(engine) as session:
        row = session.exec(select(OutboxRow).order_by(OutboxRow.id)).first()  # type: ignore[arg-type]
        assert row is not None
        take(session, row)
        return row.id


@pytest.mark.parametrize("take", TAKE)
@pytest.mark.parametrize("key", [SYNC, "agenda-issue:call@2026-12-01:pending"])
def test_an_item_taken_for_sending_frees_its_coalescing_key(
    engine: Engine, take: Take, key: str
) -> None:
    _queue(engine, key)
    _take_first(engine, take)
    assert _rows(engine) == [(None, "sending")], "freed in the transaction that took it"
    _queue(engine, key)
    _queue(engine, key)  # a second change while the first new item waits: coalesced into it
    assert _rows(engine) == [(None, "sending"), (key, "pending")]


def test_an_idempotency_key_holds_while_sending(engine: Engine) -> None:
    _queue(engine, "create-issue:incident-review:1")
    _take_first(engine, _take_by_id)
    _queue(engine, "create-issue:incident-review:1")
    assert _rows(engine) == [("create-issue:incident-review:1", "sending")]


def _retry(session: Session, row_id: int | None) -> None:
    outbox.retry_later(session, row_id, NOW, "502 Bad Gateway", None, counted=True)


def _fail(session: Session, row_id: int | None) -> None:
    outbox.finish(session, row_id, NOW, error="permanent: 422", counted=True)


def _send(session: Session, row_id: int | None) -> None:
    outbox.finish(session, row_id, NOW, message_id="c-1", counted=True)


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        pytest.param(_retry, "pending", id="retried"),
        pytest.param(_fail, "failed", id="failed"),
        pytest.param(_send, "sent", id="sent"),
    ],
)
def test_the_item_in_flight_ends_beside_the_one_queued_meanwhile(
    engine: Engine, outcome: Callable[[Session, int | None], None], status: str
) -> None:
    """Whatever the call's outcome, the new item keeps the key and the old one needs none."""
    _queue(engine, SYNC)
    row_id = _take_first(engine, _take_by_id)
    _queue(engine, SYNC)  # committed while the platform call is in flight
    with session_scope(engine) as session:
        outcome(session, row_id)
    assert _rows(engine) == [(None, status), (SYNC, "pending")]


def test_a_retried_item_is_taken_again_beside_the_new_one(engine: Engine) -> None:
    """Both wait and both are taken in turn; neither clashes with the key on the way."""
    _queue(engine, SYNC)
    old = _take_first(engine, _take_by_id)
    _queue(engine, SYNC)
    with session_scope(engine) as session:
        _retry(session, old)
        outbox.begin_attempt(session, old)
    with session_scope(engine) as session:
        new = session.exec(select(OutboxRow.id).where(OutboxRow.key == SYNC)).one()
        outbox.begin_attempt(session, new)
    _queue(engine, SYNC)
    assert _rows(engine) == [(None, "sending"), (None, "sending"), (SYNC, "pending")]
