"""The outbox: effects waiting for delivery, written in the transaction that caused them.

Rules:
- ``enqueue`` with a ``key`` is idempotent: the same key is stored once, so a re-processed event
  or a repeated timer never queues a second copy.
- A relay takes due items, delivers them, and records the platform's message id *before* it
  marks an item sent; after a crash an item found in ``sending`` with a message id is sent
  (reconciled), without one it is retried. So a duplicate is possible only when the process dies
  between the platform's answer and recording its id.
- Retries back off exponentially with jitter, honouring a platform's ``Retry-After``; permanent
  failures stop retrying and stay listed as failed. The policy (shared with subscriber
  deliveries, storage.deliveries) rides out a realistic outage: the n-th failed try waits
  2^n s, at most ``MAX_WAIT`` (1 h), times a jitter of 0.5–1; an item is given up after
  ``MAX_ATTEMPTS`` (60) tries, i.e. about 24.5–49 h after the first (``give_up_after``). A given
  up item is ``failed``, like a permanent failure, and ``charterbot outbox retry`` revives it.
- A coalescing key (one ending in ``:pending``: at most one such item waits at a time) is freed
  as soon as its item is taken for sending (``mark_sending``, ``begin_attempt``), in that same
  transaction: the relay renders what it sends from the state read *then*, so a change
  committed while the call is in flight must queue a fresh item, not be folded into one that
  already read the old state. A retried item stays without its key, so two items of one key
  may then wait; each is whole (a sync renders the state current when it is sent; an agenda
  carries its full text, and the tick's refresh re-queues one whose posted text is not the
  current one). A failed item keeps its row, error and attempts (for ``charterbot outbox
  list/retry``).
  An idempotency key (any other key) holds for good, so a re-processed event or a repeated
  timer never queues a second copy.
- One try counts one attempt: a relay that counted it before calling out (``begin_attempt``)
  says so (``counted=True``) when it records the outcome.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, or_, select

from storage.models.core import OutboxRow
from storage.times import aware

# The retry policy (module rules): waits grow to MAX_WAIT; MAX_ATTEMPTS makes the tries span a
# day or two, so an outage of a platform (or of GitHub) for hours loses nothing.
MAX_WAIT = 3600.0
MAX_ATTEMPTS = 60


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: Mapping[str, Any],
    now: datetime,
    key: str | None = None,
    destination: str = "",
) -> None:
    values = {
        "key": key,
        "kind": kind,
        "destination": destination,
        "payload": json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str),
        "status": "pending",
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }
    plain, once = _INSERTS[session.get_bind().dialect.name == "postgresql"]
    session.flush()  # keep the ORM's order: its pending writes go first
    session.connection().execute(plain if key is None else once, values)


_TABLE: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
# Built once (compiled once): (without a key, with a key: stored at most once), by PostgreSQL?
_INSERTS = {
    is_pg: (dml.insert(_TABLE), dml.insert(_TABLE).on_conflict_do_nothing(index_elements=["key"]))
    for is_pg, dml in ((True, postgresql), (False, sqlite))
}


def due(session: Session, *, now: datetime, limit: int = 50) -> Sequence[OutboxRow]:
    stmt = (
        select(OutboxRow)
        .where(col(OutboxRow.status).in_(("pending", "sending")))
        .where(or_(col(OutboxRow.next_attempt_at).is_(None), col(OutboxRow.next_attempt_at) <= now))
        .order_by(col(OutboxRow.id))
        .limit(limit)
    )
    return session.exec(stmt).all()


def payload(row: OutboxRow) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(row.payload)
    return data


def mark_sending(session: Session, row: OutboxRow, message_id: str | None = None) -> None:
    """Taken for sending: its coalescing key is freed now, so a change made while the platform
    is called queues a new item (see the module rules)."""
    row.status = "sending"
    _free_key(row)
    if message_id is not None:
        row.platform_message_id = message_id
    session.add(row)


def mark_sent(session: Session, row: OutboxRow, now: datetime, message_id: str | None) -> None:
    row.status = "sent"
    row.sent_at = now
    _free_key(row)
    if message_id is not None:
        row.platform_message_id = message_id
    session.add(row)


def _free_key(row: OutboxRow) -> None:
    """An item taken for sending (or done) gives up its coalescing key so the next change can
    queue."""
    if row.key is not None and row.key.endswith(":pending"):
        row.key = None


def backoff(
    attempts: int, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds to wait before attempt ``attempts + 1``: Retry-After wins, else 2^n (at most
    ``MAX_WAIT``) times a jitter of 0.5–1."""
    if retry_after is not None:
        return max(0.0, retry_after)
    base = min(MAX_WAIT, 2.0 ** min(attempts, 32))
    return base * (0.5 + (rng or random).random() / 2)


def give_up_after() -> tuple[float, float]:
    """The least and most seconds from the first try to giving up, when every try fails
    without a Retry-After (the waits after tries 1 .. MAX_ATTEMPTS - 1, jitter at its ends)."""
    total = sum(min(MAX_WAIT, 2.0**n) for n in range(1, MAX_ATTEMPTS))
    return total / 2, total


def mark_retry(
    session: Session,
    row: OutboxRow,
    now: datetime,
    error: str,
    retry_after: float | None = None,
    *,
    counted: bool = False,
) -> bool:
    """Retry later, or give up after ``MAX_ATTEMPTS`` tries (``counted``: this try is counted):
    then failed, and False is returned, for the caller to say so."""
    row.attempts += 0 if counted else 1
    row.last_error = error[:2000]
    retrying = row.attempts < MAX_ATTEMPTS
    if retrying:
        row.status = "pending"
        row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, retry_after))
    else:
        _fail(row)
    session.add(row)
    return retrying


def mark_failed(session: Session, row: OutboxRow, error: str, *, counted: bool = False) -> None:
    row.attempts += 0 if counted else 1
    row.last_error = error[:2000]
    _fail(row)
    session.add(row)


def _fail(row: OutboxRow) -> None:
    row.status = "failed"
    row.next_attempt_at = None
    _free_key(row)


def listing(session: Session, *, include_sent: bool = False) -> Sequence[OutboxRow]:
    stmt = select(OutboxRow).order_by(col(OutboxRow.id))
    if not include_sent:
        stmt = stmt.where(col(OutboxRow.status) != "sent")
    return session.exec(stmt).all()


def requeue(
    session: Session, *, ids: Sequence[int] = (), failed: bool = False, now: datetime
) -> int:
    cond = col(OutboxRow.id).in_(list(ids)) if ids else col(OutboxRow.status) == "failed"
    if failed:
        cond = col(OutboxRow.status) == "failed"
    result = session.execute(
        sa.update(OutboxRow)
        .where(cond)
        .where(col(OutboxRow.status) != "sent")
        .values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def backlog(session: Session, now: datetime) -> tuple[int, float]:
    """Pending items and the age in seconds of the oldest (for metrics)."""
    stmt = select(sa.func.count(), sa.func.min(OutboxRow.created_at)).where(
        col(OutboxRow.status).in_(("pending", "sending"))
    )
    count, oldest = session.exec(stmt).one()
    age = (now - aware(oldest)).total_seconds() if oldest is not None else 0.0
    return int(count), age


# -- by id: relays hold only an item's id while they talk to a platform ----------------------


def begin_attempt(session: Session, row_id: int | None) -> None:
    """Count a try *before* calling out, so a crash mid-call leaves a reconcilable item."""
    row = session.get(OutboxRow, row_id)
    if row is not None:
        row.attempts += 1
        mark_sending(session, row)


def finish(
    session: Session,
    row_id: int | None,
    now: datetime,
    *,
    message_id: str | None = None,
    error: str = "",
    counted: bool = False,
) -> None:
    """Mark an item sent (with the platform's message id) or, given ``error``, failed."""
    row = session.get(OutboxRow, row_id)
    if row is None:
        return
    if error:
        mark_failed(session, row, error, counted=counted)
    else:
        mark_sent(session, row, now, message_id)


def retry_later(
    session: Session,
    row_id: int | None,
    now: datetime,
    error: str,
    retry_after: float | None,
    *,
    counted: bool = False,
) -> bool:
    """:func:`mark_retry` by id; False when the item was given up (True if it is gone)."""
    row = session.get(OutboxRow, row_id)
    if row is None:
        return True
    return mark_retry(session, row, now, error, retry_after, counted=counted)
