"""Meeting timers handled (reminders, agenda posts): the exactly-once guard and its memory.

Rules:
- :func:`claim_timer` is the exactly-once guard: ``INSERT … ON CONFLICT DO NOTHING`` on the
  UNIQUE timer key, in the caller's transaction. It returns True only to the one transaction
  that inserted the row; whatever that transaction also writes (the reminder's outbox item, the
  agenda post) commits or rolls back with it. On PostgreSQL a concurrent insert of the same key
  waits for the first transaction and then conflicts, so two replicas cannot both fire.
- :func:`last_fired` is the misfire policy's memory: per timer series, the ``fires_at`` of the
  latest timer handled (fired or missed); see :func:`charter.meeting_timers.due_timers`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from charter.meeting_timers import Reminder
from storage.models.meetings import FiredTimerRow
from storage.times import aware


def claim_timer(session: Session, timer: Reminder, outcome: str, now: datetime) -> bool:
    """Record ``timer`` as fired or missed; True only for the transaction that recorded it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(FiredTimerRow)
        .values(
            timer_key=timer.key,
            series=timer.series,
            occurrence_key=timer.occurrence_key,
            kind=timer.kind,
            outcome=outcome,
            fires_at=timer.fires_at,
            handled_at=now,
        )
        .on_conflict_do_nothing(index_elements=["timer_key"])
        .returning(col(FiredTimerRow.id))
    )
    # RETURNING, not rowcount: an ORM-enabled insert does not report rowcount on PostgreSQL.
    return session.execute(stmt).first() is not None


def last_fired(session: Session) -> dict[str, datetime]:
    series = col(FiredTimerRow.series)
    stmt = sa.select(series, sa.func.max(col(FiredTimerRow.fires_at))).group_by(series)
    return {name: aware(at) for name, at in session.execute(stmt).all()}


def fired_timers(
    session: Session, *, kind: str | None = None, since: datetime | None = None
) -> list[FiredTimerRow]:
    stmt = select(FiredTimerRow).order_by(col(FiredTimerRow.fires_at), col(FiredTimerRow.id))
    if kind is not None:
        stmt = stmt.where(FiredTimerRow.kind == kind)
    if since is not None:
        stmt = stmt.where(col(FiredTimerRow.fires_at) >= since)
    return list(session.exec(stmt).all())


def handled_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` recorded (fired or missed): by the UNIQUE key, so a caller asking about
    a few timers reads a few rows, however many were handled before."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), _KEYS_PER_QUERY):
        chunk = wanted[start : start + _KEYS_PER_QUERY]
        stmt = select(FiredTimerRow.timer_key).where(col(FiredTimerRow.timer_key).in_(chunk))
        found.update(session.exec(stmt).all())
    return found


_KEYS_PER_QUERY = 500  # well under SQLite's bound-parameter limit
