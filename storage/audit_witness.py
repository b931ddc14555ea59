"""Audit heads witnessed on GitHub: the posts (``audit_witness``) and the issue they go to.

Rules:
- :func:`queue` records a head to post for a period and queues its outbox item (kind
  ``audit-witness``, idempotency key ``audit-witness:<period>``) in the caller's transaction:
  the post is durable before it is attempted, and a period is queued at most once (the row's
  UNIQUE ``period_start``, the item's key).
- :func:`last` is the latest head queued (posted or on its way): what the next period compares
  the head with. A head whose post failed for good (its outbox item ``failed``) is not on its
  way: it does not count, so the next period queues the head again even if the log stood
  still (``charterbot outbox retry`` of the failed item makes it count again).
  :func:`last_posted` is the latest one GitHub holds (dashboard, CLI).
- The issue the bot opened itself is remembered in ``kv_state`` (``audit-witness-issue``):
  ``{"opening_since": ISO}`` once its creation was first attempted, ``{"number": N}`` once
  created. A retry after ``opening_since`` looks for the issue by its marker before creating
  one, so a crash between GitHub's answer and recording it never opens a second issue.
- Nothing here appends to the audit log (a post would change the head it witnesses).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, or_, select

from storage import outbox, state
from storage.models.core import OutboxRow
from storage.models.meetings import FiredTimerRow
from storage.models.witness import AuditWitnessRow
from storage.times import aware

OUTBOX_KIND = "audit-witness"
ISSUE_KEY = "audit-witness-issue"


def period_key(period_start: datetime) -> str:
    """The period's name in keys: ``2026-11-28T00:00:00Z``."""
    return aware(period_start).strftime("%Y-%m-%dT%H:%M:%SZ")


def timer_handled(session: Session, timer_key: str) -> bool:
    """Whether the period's timer row (``fired_timer``) exists: the period was looked at."""
    stmt = select(FiredTimerRow.id).where(FiredTimerRow.timer_key == timer_key)
    return session.exec(stmt).first() is not None


def queue(
    session: Session, *, period_start: datetime, seq: int, digest: str, body: str, now: datetime
) -> None:
    """Record the head to witness for ``period_start`` and queue its post."""
    row = AuditWitnessRow(period_start=period_start, seq=seq, hash=digest, queued_at=now)
    session.add(row)
    session.flush()
    payload = {"witness": row.id, "seq": seq, "hash": digest, "body": body}
    key = f"{OUTBOX_KIND}:{period_key(period_start)}"
    outbox.enqueue(session, kind=OUTBOX_KIND, payload=payload, now=now, key=key)


@dataclass(frozen=True)
class Witnessed:
    """A head GitHub holds: which, when posted, where."""

    seq: int
    hash: str
    posted_at: datetime
    issue_number: int
    comment_url: str


def last(session: Session) -> tuple[int, str] | None:
    """(seq, hash) of the latest head queued, posted or on its way (see the module rules)."""
    stmt = select(AuditWitnessRow).order_by(col(AuditWitnessRow.period_start).desc())
    for row in session.exec(stmt).all():  # one row a period; mostly the first is it
        if not _failed(session, row.period_start):
            return row.seq, row.hash
    return None


def _failed(session: Session, period_start: datetime) -> bool:
    """Whether the period's post failed for good (its outbox item, by its key)."""
    key = f"{OUTBOX_KIND}:{period_key(period_start)}"
    stmt = select(OutboxRow.status).where(OutboxRow.key == key)
    return session.exec(stmt).first() == "failed"


def last_posted(session: Session) -> Witnessed | None:
    """The latest head GitHub holds, its time in UTC."""
    stmt = (
        select(AuditWitnessRow)
        .where(col(AuditWitnessRow.comment_id).is_not(None))
        .order_by(col(AuditWitnessRow.period_start).desc())
        .limit(1)
    )
    row = session.exec(stmt).first()
    if row is None or row.posted_at is None or row.issue_number is None:
        return None
    # In UTC: PostgreSQL gives a timestamptz in the session's TimeZone, which need not be UTC.
    at = aware(row.posted_at).astimezone(UTC)
    return Witnessed(row.seq, row.hash, at, row.issue_number, row.comment_url or "")


def mark_posted(
    session: Session, witness_id: int, *, issue: int, comment_id: str, url: str, now: datetime
) -> None:
    row = session.get(AuditWitnessRow, witness_id)
    if row is not None:
        row.issue_number, row.comment_id, row.comment_url = issue, comment_id, url
        row.posted_at = now
        session.add(row)


def due_posts(session: Session, now: datetime, limit: int = 20) -> Sequence[OutboxRow]:
    """The witness posts due now, oldest first."""
    stmt = (
        select(OutboxRow)
        .where(OutboxRow.kind == OUTBOX_KIND)
        .where(col(OutboxRow.status).in_(("pending", "sending")))
        .where(or_(col(OutboxRow.next_attempt_at).is_(None), col(OutboxRow.next_attempt_at) <= now))
        .order_by(col(OutboxRow.id))
        .limit(limit)
    )
    return session.exec(stmt).all()


# -- the issue the bot opened itself ----------------------------------------------------------


def issue(session: Session) -> tuple[int | None, datetime | None]:
    """(the issue's number, or None; when its creation was first attempted, or None)."""
    saved = state.get(session, ISSUE_KEY) or {}
    since = saved.get("opening_since")
    return saved.get("number"), datetime.fromisoformat(since) if since else None


def opening_issue(session: Session, now: datetime) -> datetime:
    """Note that the issue is about to be created (kept from the first attempt); returns when
    its creation was first attempted."""
    _, since = issue(session)
    if since is None:
        since = now
        state.put(session, ISSUE_KEY, {"opening_since": since.isoformat()}, now)
    return since


def remember_issue(session: Session, number: int, now: datetime) -> None:
    state.put(session, ISSUE_KEY, {"number": number}, now)
