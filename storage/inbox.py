"""The inbox: every event accepted from outside, stored before it is acknowledged.

Rules:
- ``accept`` inserts ``(source, key)`` at most once; a redelivery (GitHub reuses the delivery id,
  Slack reuses the event id) finds the row and changes nothing. It returns whether the row is new.
- Where a key names one event (``same_body=True``: a GitHub delivery id), a second body under a
  stored key is not a redelivery but another event: ``accept`` raises :class:`KeyReused` and
  stores nothing, so the caller can refuse it rather than drop it. The bodies are the same when
  equal as bytes or, both being JSON, as parsed values (a delivery the reconciler fetched from
  GitHub's API is stored re-encoded, and GitHub's own redelivery of it must stay a duplicate).
  Other keys may be reused by design (a polled release's key, whose body changes with its
  edits; a chat command's journal key) and are not compared.
- An event is processed in the same transaction that marks it processed, so a crash either
  leaves it pending (processed again on restart) or done, never half-done.
- A processing failure is retried with backoff (``backoff``) counted from that failure, not
  from receipt: an event first processed late still gets its full series of spaced retries.
  After ``MAX_ATTEMPTS`` it stays failed and is listed by ``failed()`` for an operator, never
  silently dropped.
- A journalled chat command (a source the worker does not process) is held by a lease in the
  same column (``next_attempt_at``): its live handler renews it (``extend_leases``); only once
  it ran out may another process take the command over (``stranded``, then ``take_over``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models.core import InboxRow
from storage.times import aware

MAX_ATTEMPTS = 5


def accept(
    session: Session,
    *,
    source: str,
    key: str,
    event: str,
    body: bytes,
    now: datetime,
    processed: bool = False,
    lease_until: datetime | None = None,
    same_body: bool = False,
) -> bool:
    """Store an event once. True when it was new, False for a duplicate delivery.

    ``processed=True`` records a key that needs no processing (a dedupe marker);
    ``lease_until`` holds the new row for its live handler until then; ``same_body=True``
    raises :class:`KeyReused` when the key is stored with another body (see the rules)."""
    values = {
        "source": source,
        "key": key,
        "event": event,
        "body": body,
        "received_at": now,
        "attempts": 0,
        "processed_at": now if processed else None,
        "next_attempt_at": lease_until,
    }
    is_pg = session.get_bind().dialect.name == "postgresql"
    connection = session.connection()
    # RETURNING yields a row only when this call inserted it (rowcount is driver-dependent).
    if connection.execute(_ACCEPT[is_pg], values).first() is not None:
        return True
    if same_body:
        stored = connection.execute(_BODY, {"source": source, "key": key}).scalar_one()
        if not same_event(stored, body):
            raise KeyReused(source, key)
    return False


class KeyReused(ValueError):
    """``key`` is stored for ``source`` with another body: it names another event."""

    def __init__(self, source: str, key: str) -> None:
        super().__init__(f"{source} key {key!r} is stored already with another body")
        self.source, self.key = source, key


def same_event(stored: bytes, body: bytes) -> bool:
    """Whether two bodies are the same event: equal bytes, or equal JSON values (an event
    re-encoded with other spacing, key order or escapes is the same event)."""
    if stored == body:
        return True
    try:
        return bool(json.loads(stored) == json.loads(body))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return False


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """A stored event as the worker processes it: a plain, read-only copy of its inbox row.

    Not an ORM object: building a table model (validation, attribute instrumentation) for every
    claimed row cost more than processing a vote did.
    """

    id: int
    source: str
    key: str
    event: str
    body: bytes
    received_at: datetime
    attempts: int
    next_attempt_at: datetime | None


_TABLE: sa.Table = InboxRow.__table__  # type: ignore[attr-defined]
# Built once, so each delivery's insert is only bound and run (by PostgreSQL?).
_ACCEPT = {
    is_pg: dml.insert(_TABLE)
    .on_conflict_do_nothing(index_elements=["source", "key"])
    .returning(_TABLE.c.id)
    for is_pg, dml in ((True, postgresql), (False, sqlite))
}
_BODY = sa.select(_TABLE.c.body).where(
    _TABLE.c.source == sa.bindparam("source"), _TABLE.c.key == sa.bindparam("key")
)
_EVENT_COLUMNS = tuple(_TABLE.c[field.name] for field in fields(InboxEvent))
_CLAIM_ONE = (
    sa.select(*_EVENT_COLUMNS)
    .where(_TABLE.c.id == sa.bindparam("row_id"))
    .where(_TABLE.c.processed_at.is_(None))
)
_CLAIM = (
    sa.select(*_EVENT_COLUMNS)
    .where(_TABLE.c.id > sa.bindparam("after"))
    .where(_TABLE.c.processed_at.is_(None))
    .where(_TABLE.c.attempts < MAX_ATTEMPTS)
    .where(_TABLE.c.source.in_(sa.bindparam("sources", expanding=True)))
    .order_by(_TABLE.c.id)
    .limit(sa.bindparam("limit"))
)
_DONE = _TABLE.update().where(_TABLE.c.id == sa.bindparam("row_id"))


def pending(session: Session, *, now: datetime, limit: int = 100) -> Sequence[InboxRow]:
    """Unprocessed events in arrival order, skipping ones waiting for a retry or failed."""
    stmt = (
        select(InboxRow)
        .where(col(InboxRow.processed_at).is_(None))
        .where(InboxRow.attempts < MAX_ATTEMPTS)
        .order_by(col(InboxRow.id))
        .limit(limit)
    )
    rows = session.exec(stmt).all()
    return [r for r in rows if retry_due(r, now)]


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 2^attempts s, at most 5 minutes."""
    return timedelta(seconds=min(300, 2**attempts))


def retry_due(row: InboxEvent | InboxRow, now: datetime) -> bool:
    """True for a new event, or a failed one whose backoff since its last failure is over
    (a row that failed before failures were dated: since its receipt)."""
    if row.attempts == 0:
        return True
    if row.next_attempt_at is None:
        return aware(row.received_at) + backoff(row.attempts) <= now
    return aware(row.next_attempt_at) <= now


def claim(session: Session, row_id: int) -> InboxEvent | None:
    """Lock one pending row for processing (PostgreSQL skips rows another replica holds)."""
    stmt = _CLAIM_ONE
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = session.connection().execute(stmt, {"row_id": row_id}).first()
    return None if row is None else InboxEvent(*row)


def claim_batch(
    session: Session, *, after: int, limit: int, sources: Sequence[str]
) -> list[InboxEvent]:
    """Unprocessed, not failed events with ids above ``after``, in arrival order, locked for
    processing (PostgreSQL skips rows another replica holds). Whether a retry is due yet is
    the caller's question (``retry_due``), so it can move its cursor past those that are not.

    The rows come back as plain :class:`InboxEvent` values, read with one Core query: the
    worker only reads them, and the events' savepoints never have to track them.
    """
    stmt = _CLAIM
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    params = {"after": after, "limit": limit, "sources": list(sources)}
    result = session.connection().execute(stmt, params)
    return [InboxEvent(*row) for row in result]


def mark_done(session: Session, row_id: int, now: datetime) -> None:
    """Mark an event processed (one UPDATE, no ORM flush); commit it with the event's effects."""
    session.connection().execute(_DONE, {"row_id": row_id, "processed_at": now, "error": None})


def record_failure(session: Session, row_id: int, error: str, *, now: datetime) -> None:
    """Count a failed attempt made at ``now`` and schedule the next one a backoff later
    (in its own transaction, after the failed one rolled back)."""
    stmt = select(InboxRow.attempts).where(col(InboxRow.id) == row_id)
    attempts = session.exec(stmt).one() + 1
    session.execute(
        sa.update(InboxRow)
        .where(col(InboxRow.id) == row_id)
        .values(attempts=attempts, error=error[:2000], next_attempt_at=now + backoff(attempts))
    )


def failed(session: Session) -> Sequence[InboxRow]:
    stmt = (
        select(InboxRow)
        .where(col(InboxRow.processed_at).is_(None))
        .where(InboxRow.attempts >= MAX_ATTEMPTS)
        .order_by(col(InboxRow.id))
    )
    return session.exec(stmt).all()


def known_keys(session: Session, source: str, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` the inbox holds for ``source``."""
    if not keys:
        return set()
    stmt = select(InboxRow.key).where(InboxRow.source == source).where(col(InboxRow.key).in_(keys))
    return set(session.exec(stmt).all())


def counts(session: Session) -> dict[str, int]:
    total = session.exec(select(sa.func.count()).select_from(InboxRow)).one()
    open_ = session.exec(
        select(sa.func.count()).select_from(InboxRow).where(col(InboxRow.processed_at).is_(None))
    ).one()
    return {"total": int(total), "pending": int(open_)}


def stranded(session: Session, *, source: str, now: datetime, lease: timedelta) -> list[InboxRow]:
    """Unprocessed rows of ``source`` whose lease ran out by ``now`` (a row stored without a
    lease: received more than ``lease`` ago)."""
    lease_over = sa.or_(
        col(InboxRow.next_attempt_at) <= now,
        sa.and_(col(InboxRow.next_attempt_at).is_(None), col(InboxRow.received_at) < now - lease),
    )
    stmt = (
        select(InboxRow)
        .where(InboxRow.source == source)
        .where(col(InboxRow.processed_at).is_(None))
        .where(lease_over)
        .order_by(col(InboxRow.id))
    )
    return list(session.exec(stmt).all())


def take_over(session: Session, *, source: str, key: str, now: datetime, until: datetime) -> bool:
    """Lease the unprocessed row ``(source, key)`` until ``until`` if its lease ran out by
    ``now``. False when it did not (a live handler renewed it) or another process took it first:
    the lease is compared and set in one UPDATE."""
    result = session.execute(
        sa.update(InboxRow)
        .where(col(InboxRow.source) == source)
        .where(col(InboxRow.key) == key)
        .where(col(InboxRow.processed_at).is_(None))
        .where(
            sa.or_(col(InboxRow.next_attempt_at).is_(None), col(InboxRow.next_attempt_at) <= now)
        )
        .values(next_attempt_at=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def extend_leases(session: Session, *, source: str, keys: Sequence[str], until: datetime) -> None:
    """Renew the leases of the still unprocessed rows ``keys`` of ``source`` to ``until``."""
    session.execute(
        sa.update(InboxRow)
        .where(col(InboxRow.source) == source)
        .where(col(InboxRow.key).in_(keys))
        .where(col(InboxRow.processed_at).is_(None))
        .values(next_attempt_at=until)
    )


def finish(
    session: Session, *, source: str, key: str, now: datetime, error: str | None = None
) -> None:
    """Mark the row ``(source, key)`` processed (with ``error`` when it could not be)."""
    session.execute(
        sa.update(InboxRow)
        .where(col(InboxRow.source) == source)
        .where(col(InboxRow.key) == key)
        .values(processed_at=now, error=error)
    )
