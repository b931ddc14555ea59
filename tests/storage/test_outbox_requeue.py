"""``requeue`` (``charterbot outbox retry``): given ids, exactly those items go back to pending;
``failed=True`` (or no ids) takes every failed item. A sent item is never requeued nor counted:
it went out, and sending it again would be a duplicate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from storage import outbox
from storage.db import session_scope
from storage.models.core import OutboxRow

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
START = ("failed", "failed", "sent", "pending")  # items a, b, c, d as set up


def _items(engine: Engine) -> list[int]:
    """Enqueue items a–d and bring them to START; their ids in that order."""
    with session_scope(engine) as session:
        for n in range(len(START)):
            outbox.enqueue(session, kind="sync-github", payload={"proposal": n}, now=NOW)
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).order_by(OutboxRow.id)).all()  # type: ignore[arg-type]
        for row, status in zip(rows, START, strict=True):
            if status == "failed":
                outbox.mark_failed(session, row, "permanent: 422")
            elif status == "sent":
                outbox.mark_sent(session, row, NOW, "m1")
        return [int(row.id) for row in rows]  # type: ignore[arg-type]


def _statuses(engine: Engine) -> tuple[str, ...]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).order_by(OutboxRow.id)).all()  # type: ignore[arg-type]
        return tuple(row.status for row in rows)


@pytest.mark.parametrize(
    ("which", "failed", "count", "after"),
    [
        pytest.param("ac", False, 1, ("pending", "failed", "sent", "pending"), id="ids-only"),
        pytest.param("a", True, 2, ("pending", "pending", "sent", "pending"), id="all-failed"),
        pytest.param("", False, 2, ("pending", "pending", "sent", "pending"), id="no-ids"),
        pytest.param("c", False, 0, START, id="sent-stays-sent"),
    ],
)
def test_requeue_takes_what_was_asked_and_never_a_sent_item(
    engine: Engine, which: str, failed: bool, count: int, after: tuple[str, ...]
) -> None:
    ids = _items(engine)
    assert _statuses(engine) == START
    chosen = [ids["abcd".index(letter)] for letter in which]
    with session_scope(engine) as session:
        assert outbox.requeue(session, ids=chosen, failed=failed, now=NOW) == count
    assert _statuses(engine) == after
