"""Per-destination deliveries of announcements: fan-out, claim, record, retry, reconcile.

Rules:
- ``fan_out`` inserts one row per destination; ``(outbox_id, destination)`` is unique so
  re-running it after a crash adds nothing.
- A delivery moves pending → sending (``claim``) → message id recorded (``record_id``) → sent.
  The id is committed before the row is marked sent, so after a crash ``reconcile`` finds
  ``sending`` rows with an id (delivered: mark sent, never resend) and without one (not
  known to be delivered: back to pending, retried). A duplicate is possible only when the
  process dies after the platform answered and before ``record_id`` committed.
- Transient failures back off (storage.outbox.backoff: exponential with jitter, Retry-After
  wins); a rate limit (429) does not use up an attempt. Permanent failures stop at once. After
  ``MAX_ATTEMPTS`` transient failures (a day or two: storage.outbox's policy) a delivery is
  given up: ``failed``, and ``mark_retry`` says so, for the relay to warn and tell the
  coordinators; ``requeue`` (``charterbot outbox retry``) revives it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, or_, select

from charter.subscriptions import Destination
from storage.models.broadcast import DeliveryRow, SubscriptionRow
from storage.models.core import OutboxRow
from storage.outbox import MAX_ATTEMPTS, backoff


@dataclass(frozen=True)
class Job:
    """A claimed delivery with what is needed to send it, detached from any session."""

    id: int
    outbox_id: int
    platform: str
    address: str
    lang: str
    zone: str
    subscription_id: int | None
    attempts: int
    kind: str  # the outbox item's kind (announce | digest)
    payload: str  # the outbox item's JSON payload

    @property
    def destination(self) -> str:
        return f"{self.platform}:{self.address}"


def fan_out(
    session: Session, outbox_id: int, destinations: Iterable[Destination], now: datetime
) -> int:
    """Insert a pending delivery per destination (idempotent); returns how many were new."""
    rows = [
        {
            "outbox_id": outbox_id,
            "destination": d.key,
            "platform": d.platform,
            "address": d.address,
            "lang": d.lang,
            "zone": d.zone,
            "subscription_id": d.subscription,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for d in destinations
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(DeliveryRow).values(rows)
    stmt = stmt.on_conflict_do_nothing(index_elements=["outbox_id", "destination"])
    # Counted with RETURNING: rowcount of a multi-row insert is -1 on psycopg.
    return len(session.execute(stmt.returning(col(DeliveryRow.id))).all())


def claim(
    session: Session, now: datetime, limit: int = 1000, per_destination: int | None = None
) -> list[Job]:
    """Mark due pending deliveries ``sending`` and return them (oldest first).

    ``per_destination`` caps how many go to one destination in this claim, so a slow channel
    (Slack's 1 message per second) never holds up a round for everyone else. Two relays that
    claim at once (replicas that both think they lead, briefly) never get the same row: on
    PostgreSQL the rows are locked as they are read and rows another claim holds are skipped;
    SQLite has one writer at a time.
    """
    due = or_(col(DeliveryRow.next_attempt_at).is_(None), col(DeliveryRow.next_attempt_at) <= now)
    stmt = (
        select(DeliveryRow, OutboxRow.kind, OutboxRow.payload)
        .join(OutboxRow, col(OutboxRow.id) == col(DeliveryRow.outbox_id))
        .where(DeliveryRow.status == "pending")
        .where(due)
        .order_by(col(DeliveryRow.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=DeliveryRow)
    jobs: list[Job] = []
    taken: dict[str, int] = {}
    for row, kind, payload in session.exec(stmt).all():
        taken[row.destination] = taken.get(row.destination, 0) + 1
        if per_destination is not None and taken[row.destination] > per_destination:
            continue
        row.status = "sending"
        session.add(row)
        jobs.append(
            Job(
                row.id or 0,
                row.outbox_id,
                row.platform,
                row.address,
                row.lang,
                row.zone,
                row.subscription_id,
                row.attempts,
                kind,
                payload,
            )
        )
    return jobs


def _row(session: Session, delivery_id: int) -> DeliveryRow:
    row = session.get(DeliveryRow, delivery_id)
    if row is None:
        raise LookupError(f"delivery {delivery_id} does not exist")
    return row


def record_id(session: Session, delivery_id: int, message_id: str) -> None:
    session.execute(
        sa.update(DeliveryRow)
        .where(col(DeliveryRow.id) == delivery_id)
        .values(platform_message_id=message_id)
    )


def mark_sent(session: Session, delivery_id: int, now: datetime) -> None:
    """Mark the delivery sent; its subscription's destination works, so its count of refusals
    in a row starts again (storage.subscriptions.refused)."""
    session.execute(
        sa.update(DeliveryRow)
        .where(col(DeliveryRow.id) == delivery_id)
        .values(status="sent", sent_at=now, last_error=None)
    )
    of_delivery = select(DeliveryRow.subscription_id).where(col(DeliveryRow.id) == delivery_id)
    session.execute(
        sa.update(SubscriptionRow)
        .where(col(SubscriptionRow.id) == of_delivery.scalar_subquery())
        .where(col(SubscriptionRow.failures_in_a_row) != 0)
        .values(failures_in_a_row=0)
    )


def mark_retry(
    session: Session,
    delivery_id: int,
    now: datetime,
    error: str,
    retry_after: float | None = None,
    *,
    rate_limited: bool = False,
) -> bool:
    """Back to pending after a delay; returns False when attempts ran out (now failed: given
    up)."""
    row = _row(session, delivery_id)
    row.last_error = error[:2000]
    if not rate_limited:
        row.attempts += 1
    if row.attempts >= MAX_ATTEMPTS:
        row.status, row.next_attempt_at = "failed", None
        session.add(row)
        return False
    row.status = "pending"
    row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, retry_after))
    session.add(row)
    return True


def mark_failed(session: Session, delivery_id: int, error: str) -> DeliveryRow:
    row = _row(session, delivery_id)
    row.attempts += 1
    row.status, row.last_error, row.next_attempt_at = "failed", error[:2000], None
    session.add(row)
    return row


def reconcile(session: Session, now: datetime) -> tuple[int, int]:
    """After a restart: ``sending`` with an id → sent; without → pending. (sent, retried)."""
    sent = session.execute(
        sa.update(DeliveryRow)
        .where(col(DeliveryRow.status) == "sending")
        .where(col(DeliveryRow.platform_message_id).is_not(None))
        .values(status="sent", sent_at=now)
    )
    retried = session.execute(
        sa.update(DeliveryRow)
        .where(col(DeliveryRow.status) == "sending")
        .values(status="pending", next_attempt_at=now)
    )
    return int(sent.rowcount), int(retried.rowcount)  # type: ignore[attr-defined]


def listing(session: Session, *, include_sent: bool = False) -> Sequence[DeliveryRow]:
    stmt = select(DeliveryRow).order_by(col(DeliveryRow.id))
    if not include_sent:
        stmt = stmt.where(col(DeliveryRow.status) != "sent")
    return session.exec(stmt).all()


def of_outbox(session: Session, outbox_id: int) -> Sequence[DeliveryRow]:
    stmt = select(DeliveryRow).where(DeliveryRow.outbox_id == outbox_id)
    return session.exec(stmt.order_by(col(DeliveryRow.id))).all()


def requeue(
    session: Session, *, ids: Sequence[int] = (), failed: bool = False, now: datetime
) -> int:
    """Put failed (or the given) deliveries back to pending with fresh attempts."""
    cond = col(DeliveryRow.status) == "failed" if failed else col(DeliveryRow.id).in_(list(ids))
    result = session.execute(
        sa.update(DeliveryRow)
        .where(cond)
        .where(col(DeliveryRow.status) != "sent")
        .values(status="pending", attempts=0, next_attempt_at=now, last_error=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def next_due(session: Session) -> datetime | None:
    stmt = select(sa.func.min(DeliveryRow.next_attempt_at)).where(DeliveryRow.status == "pending")
    value: datetime | None = session.exec(stmt).one()
    return value


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Deliveries waiting (``pending``, ``sending``: both counted as pending) and ``failed``,
    by platform: {(platform, "pending" | "failed"): count} (for metrics)."""
    state = sa.case((col(DeliveryRow.status) == "failed", "failed"), else_="pending")
    stmt = (
        select(DeliveryRow.platform, state, sa.func.count())
        .where(col(DeliveryRow.status).in_(("pending", "sending", "failed")))
        .group_by(DeliveryRow.platform, state)
    )
    found: dict[tuple[str, str], int] = {}
    for platform, status, count in session.exec(stmt).all():
        found[platform, status] = found.get((platform, status), 0) + int(count)
    return found


def unfinished(session: Session) -> int:
    stmt = select(sa.func.count()).where(col(DeliveryRow.status).in_(("pending", "sending")))
    return int(session.exec(stmt).one())
