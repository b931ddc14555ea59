"""Per-recipient records of ``notify``/``direct-message`` items (table ``notify_delivery``).

Rules:
- ``start`` writes the target's row as ``sending`` (committed by the caller) before anything is
  sent; ``record_id`` commits the platform's message id; ``mark_sent`` follows. A crash
  leaves either no row (never sent), a ``sending`` row without an id (resend: at least once),
  or one with an id (delivered: never resent).
- ``(outbox_id, target)`` is unique, so a target is recorded once per item however often the
  item is retried.
- Chat identities are matched to logins case-insensitively (GitHub logins are).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from storage.models.core import IdentityLinkRow, OutboxRow
from storage.models.notify import NotifyDeliveryRow
from storage.times import aware


@dataclass(frozen=True)
class Item:
    """A due outbox item, detached from its session."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Record:
    """One target's delivery record, detached from its session."""

    id: int
    target: str
    platform: str
    address: str
    logins: tuple[str, ...]
    status: str
    message_id: str | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status == "sent" or self.message_id is not None


def due_items(session: Session, kinds: Sequence[str], now: datetime, limit: int) -> list[Item]:
    """Pending items of ``kinds`` whose next attempt is due, oldest first."""
    stmt = (
        select(OutboxRow)
        .where(col(OutboxRow.kind).in_(list(kinds)))
        .where(col(OutboxRow.status).in_(("pending", "sending")))
        .where(or_(col(OutboxRow.next_attempt_at).is_(None), col(OutboxRow.next_attempt_at) <= now))
        .order_by(col(OutboxRow.id))
        .limit(limit)
    )
    out = []
    for row in session.exec(stmt).all():
        try:
            data = json.loads(row.payload)
        except ValueError:
            data = None
        payload = data if isinstance(data, dict) else {}
        out.append(Item(row.id or 0, row.kind, payload, row.attempts, aware(row.created_at)))
    return out


def _record(row: NotifyDeliveryRow) -> Record:
    logins = tuple(x for x in row.logins.split(",") if x)
    return Record(
        row.id or 0,
        row.target,
        row.platform,
        row.address,
        logins,
        row.status,
        row.platform_message_id,
        row.last_error,
    )


def records(session: Session, outbox_id: int) -> list[Record]:
    stmt = select(NotifyDeliveryRow).where(NotifyDeliveryRow.outbox_id == outbox_id)
    return [_record(r) for r in session.exec(stmt.order_by(col(NotifyDeliveryRow.id))).all()]


def links_for(session: Session, logins: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """``{lower-cased login: [(surface, surface id), …]}`` for every verified link."""
    wanted = sorted({login.lower() for login in logins})
    out: dict[str, list[tuple[str, str]]] = {login: [] for login in wanted}
    if not wanted:
        return out
    stmt = (
        select(IdentityLinkRow)
        .where(sa.func.lower(IdentityLinkRow.login).in_(wanted))
        .order_by(col(IdentityLinkRow.surface), col(IdentityLinkRow.surface_id))
    )
    for row in session.exec(stmt).all():
        out[row.login.lower()].append((row.surface, row.surface_id))
    return out


def start(
    session: Session,
    *,
    outbox_id: int,
    target: str,
    platform: str,
    address: str,
    logins: Sequence[str],
    now: datetime,
) -> int:
    """The target's row, written as ``sending`` (a failed one is retried: back to sending)."""
    stmt = (
        select(NotifyDeliveryRow)
        .where(NotifyDeliveryRow.outbox_id == outbox_id)
        .where(NotifyDeliveryRow.target == target)
    )
    row = session.exec(stmt).first()
    if row is None:
        row = NotifyDeliveryRow(
            outbox_id=outbox_id,
            target=target,
            platform=platform,
            address=address,
            logins=",".join(logins),
            created_at=now,
        )
    elif row.status == "failed":
        row.status, row.last_error = "sending", None
    session.add(row)
    session.flush()
    return row.id or 0


def _update(session: Session, record_id: int, **values: object) -> None:
    session.execute(
        sa.update(NotifyDeliveryRow).where(col(NotifyDeliveryRow.id) == record_id).values(**values)
    )


def record_id(session: Session, record_id: int, message_id: str) -> None:
    _update(session, record_id, platform_message_id=message_id)


def mark_sent(session: Session, record_id: int, now: datetime) -> None:
    _update(session, record_id, status="sent", sent_at=now, last_error=None)


def mark_failed(session: Session, record_id: int, error: str) -> None:
    _update(session, record_id, status="failed", last_error=error[:2000])


def note_error(session: Session, record_id: int, error: str) -> None:
    """A transient failure: the row stays ``sending`` (resent on the item's next attempt)."""
    _update(session, record_id, last_error=error[:2000])
