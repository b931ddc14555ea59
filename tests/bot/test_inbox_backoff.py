"""A failed inbox event is retried with backoff counted from its last failure, not from receipt.

An event first processed long after it arrived (a backlog, a restart) used to be retried back to
back and to fail for good within seconds, although GitHub never redelivers it. Proven on SQLite
and PostgreSQL, for an event that fails alone and for one that fails inside a batch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.pipeline import InboxWorker
from storage import inbox
from storage.db import session_scope
from storage.inbox import InboxEvent

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATE = RECEIVED + timedelta(minutes=10)  # first processed 10 minutes after it arrived


def _accept(engine: Engine, key: str) -> None:
    with session_scope(engine) as session:
        inbox.accept(session, source="github", key=key, event="x", body=b"{}", now=RECEIVED)


@pytest.mark.parametrize("in_a_batch", [False, True], ids=["alone", "in-a-batch"])
def test_retries_are_spaced_from_the_last_failure(engine: Engine, in_a_batch: bool) -> None:
    """Tried every second (the worker's pace): the failures come 2, 4, 8 and 16 s apart, so
    the event gives up only 30 s after its first try, not within the first 5 seconds."""
    _accept(engine, "late")
    tries: list[float] = []

    def flaky(session: Session, row: InboxEvent, now: datetime) -> None:
        if row.key == "late":
            tries.append((now - LATE).total_seconds())
            raise RuntimeError("database is locked (transient)")

    worker = InboxWorker(engine, {"github": flaky})
    for second in range(41):
        if in_a_batch:  # a healthy companion makes the failure one savepoint of a batch
            _accept(engine, f"ok-{second}")
        worker.process_pending(LATE + timedelta(seconds=second))
    assert tries == [0, 2, 6, 14, 30]
    with session_scope(engine) as session:
        [failed] = inbox.failed(session)
        assert failed.attempts == inbox.MAX_ATTEMPTS


def test_a_row_failed_before_failures_were_dated_backs_off_from_receipt() -> None:
    """Rows failed before ``next_attempt_at`` existed keep the old rule (from receipt)."""
    row = InboxEvent(1, "github", "k", "x", b"{}", RECEIVED, attempts=2, next_attempt_at=None)
    assert not inbox.retry_due(row, RECEIVED + timedelta(seconds=3))
    assert inbox.retry_due(row, RECEIVED + timedelta(seconds=4))
