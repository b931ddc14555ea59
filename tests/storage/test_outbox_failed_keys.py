"""Outbox keys after a failure: a coalescing ``:pending`` key is freed so new work can queue,
while the failed row stays listed (for ``charterbot outbox list/retry``); an idempotency key
(no ``:pending``) keeps holding, so a re-processed event still never queues a second copy."""

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


def _fail_now(session: Session, row: OutboxRow) -> None:
    outbox.mark_failed(session, row, "permanent: 422")


def _fail_by_id(session: Session, row: OutboxRow) -> None:
    outbox.finish(session, row.id, NOW, error="permanent: 410", counted=True)


def _retry_until_failed(session: Session, row: OutboxRow) -> None:
    while row.status != "failed":
        outbox.mark_retry(session, row, NOW, "502 Bad Gateway")


def _retry_by_id_until_failed(session: Session, row: OutboxRow) -> None:
    while row.status != "failed":
        outbox.begin_attempt(session, row.id)
        outbox.retry_later(session, row.id, NOW, "502 Bad Gateway", None, counted=True)


FAILURES = [
    pytest.param(_fail_now, id="mark_failed"),
    pytest.param(_fail_by_id, id="finish-with-error"),
    pytest.param(_retry_until_failed, id="retries-exhausted"),
    pytest.param(_retry_by_id_until_failed, id="retries-exhausted-by-id"),
]


def _rows(engine: Engine) -> list[tuple[str | None, str, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).order_by(OutboxRow.id)).all()  # type: ignore[arg-type]
        return [(r.key, r.status, r.last_error) for r in rows]


def _enqueue_and_fail(engine: Engine, key: str, fail: Callable[[Session, OutboxRow], None]) -> None:
    with session_scope(engine) as session:
        outbox.enqueue(session, kind="sync-github", payload={"proposal": 1}, now=NOW, key=key)
    with session_scope(engine) as session:
        fail(session, session.exec(select(OutboxRow)).one())
    with session_scope(engine) as session:
        outbox.enqueue(session, kind="sync-github", payload={"proposal": 1}, now=NOW, key=key)


@pytest.mark.parametrize("fail", FAILURES)
@pytest.mark.parametrize("key", ["sync-github:1:pending", "agenda-issue:call@2026-12-01:pending"])
def test_a_failed_item_frees_its_coalescing_key(
    engine: Engine, key: str, fail: Callable[[Session, OutboxRow], None]
) -> None:
    _enqueue_and_fail(engine, key, fail)
    (old_key, old_status, old_error), new = _rows(engine)
    assert (old_key, old_status) == (None, "failed") and old_error, "history kept, key freed"
    assert new == (key, "pending", None), "the next change queues under the key again"
    with session_scope(engine) as session:
        assert [r.status for r in outbox.listing(session)] == ["failed", "pending"]


@pytest.mark.parametrize("fail", FAILURES)
def test_an_idempotency_key_still_holds_after_a_failure(
    engine: Engine, fail: Callable[[Session, OutboxRow], None]
) -> None:
    _enqueue_and_fail(engine, "create-issue:incident-review:1", fail)
    assert [status for _, status, _ in _rows(engine)] == ["failed"]


@pytest.mark.parametrize(
    ("counted", "tries"),
    [
        pytest.param(True, outbox.MAX_ATTEMPTS, id="counted-once"),
        pytest.param(False, outbox.MAX_ATTEMPTS // 2, id="twice"),
    ],
)
def test_a_counted_try_is_not_counted_again(engine: Engine, counted: bool, tries: int) -> None:
    """``begin_attempt`` counts a try; recording its outcome with ``counted=True`` does not."""
    with session_scope(engine) as session:
        outbox.enqueue(session, kind="comment", payload={}, now=NOW, key=None)
    made = 0
    while _rows(engine)[0][1] != "failed":
        with session_scope(engine) as session:
            row_id = session.exec(select(OutboxRow.id)).one()
            outbox.begin_attempt(session, row_id)
            outbox.retry_later(session, row_id, NOW, "502", None, counted=counted)
        made += 1
    assert made == tries
