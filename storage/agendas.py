"""Meeting agendas: their GitHub issues, the items people add, and which were posted.

Rules:
- An agenda counts as posted once its timer fired (:func:`posted_agendas`); its GitHub issue
  follows the occurrence's key, which :func:`rekey_agenda` changes when an amended series takes
  over a stale agenda.
- An agenda post waiting for the relay is the outbox item under :func:`pending_key`; taking it
  for sending frees the key (:mod:`storage.outbox`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models.core import OutboxRow
from storage.models.meetings import AgendaIssueRow, AgendaItemRow, FiredTimerRow


def agenda_issue(session: Session, key: str) -> AgendaIssueRow | None:
    return session.get(AgendaIssueRow, key)


def save_agenda_issue(session: Session, key: str, number: int, digest: str, now: datetime) -> None:
    row = session.get(AgendaIssueRow, key)
    if row is None:
        row = AgendaIssueRow(
            occurrence_key=key,
            issue_number=number,
            body_sha256=digest,
            created_at=now,
            updated_at=now,
        )
    row.issue_number, row.body_sha256, row.updated_at = number, digest, now
    session.add(row)


def posted_agendas(
    session: Session, *, keys: Collection[str] = (), prefix: str | None = None
) -> set[str]:
    """Of the occurrence ``keys`` (and of the keys starting with ``prefix``), those whose
    agenda was posted: an agenda timer of theirs fired."""
    stmt = (
        sa.select(col(FiredTimerRow.occurrence_key))
        .where(col(FiredTimerRow.kind) == "agenda")
        .where(col(FiredTimerRow.outcome) == "fired")
    )
    which: list[sa.ColumnElement[bool]] = []
    if keys:
        which.append(col(FiredTimerRow.occurrence_key).in_(sorted(keys)))
    if prefix is not None:
        which.append(col(FiredTimerRow.occurrence_key).startswith(prefix, autoescape=True))
    if not which:
        return set()
    return set(session.execute(stmt.where(sa.or_(*which)).distinct()).scalars())


def posted_since(session: Session, series: str, since: datetime) -> set[str]:
    """The occurrences of the meeting ``series`` whose agenda timer was due at or after
    ``since`` and fired (their agenda was posted), whatever the series' rule now produces."""
    stmt = (
        sa.select(col(FiredTimerRow.occurrence_key))
        .where(col(FiredTimerRow.occurrence_key).startswith(f"{series}@", autoescape=True))
        .where(col(FiredTimerRow.kind) == "agenda")
        .where(col(FiredTimerRow.outcome) == "fired")
        .where(col(FiredTimerRow.fires_at) >= since)
    )
    return set(session.execute(stmt.distinct()).scalars())


def pending_key(occurrence_key: str) -> str:
    """The outbox key of the agenda post of ``occurrence_key`` waiting for the relay."""
    return f"agenda-issue:{occurrence_key}:pending"


def holding_agendas(session: Session, keys: Collection[str], *, items: bool = True) -> set[str]:
    """Of the occurrence ``keys``, those whose agenda still holds something: a GitHub issue, a
    post waiting for the relay or (``items``) items people added. One taken over by another
    occurrence (:func:`rekey_agenda`) holds nothing, though its agenda timer fired."""
    wanted = sorted(keys)
    if not wanted:
        return set()
    issue = col(AgendaIssueRow.occurrence_key)
    found = set(session.execute(sa.select(issue).where(issue.in_(wanted))).scalars())
    posts = {pending_key(k): k for k in wanted}
    waiting = sa.select(col(OutboxRow.key)).where(col(OutboxRow.key).in_(sorted(posts)))
    found.update(posts[k] for k in session.execute(waiting).scalars())
    if items:
        added = col(AgendaItemRow.occurrence_key)
        found.update(session.execute(sa.select(added).where(added.in_(wanted))).scalars())
    return found


def rekey_agenda(session: Session, old: str, new: str, now: datetime) -> bool:
    """Give the agenda of occurrence ``old`` to occurrence ``new``: the items people added and,
    unless ``new`` has one already, its GitHub issue (edited at the next post, as the body
    differs). True when anything moved."""
    items = agenda_items(session, old)
    for item in items:
        item.occurrence_key = new
        session.add(item)
    issue = session.get(AgendaIssueRow, old)
    if issue is not None and session.get(AgendaIssueRow, new) is None:
        session.add(
            AgendaIssueRow(
                occurrence_key=new,
                issue_number=issue.issue_number,
                body_sha256=issue.body_sha256,
                created_at=issue.created_at,
                updated_at=now,
            )
        )
        session.delete(issue)
        return True
    return bool(items)


def waiting_post(session: Session, outbox_key: str) -> OutboxRow | None:
    """The outbox item holding the coalescing key ``outbox_key``: queued and not taken for
    sending yet (taking it frees the key, see :mod:`storage.outbox`), locked until the caller
    commits (a relay taking it meanwhile waits; one that read it just before sends the text it
    read, and the next agenda refresh queues the newer one)."""
    stmt = select(OutboxRow).where(OutboxRow.key == outbox_key).with_for_update()
    return session.exec(stmt).first()


def add_agenda_item(session: Session, key: str, text: str, by: str, now: datetime) -> None:
    session.add(AgendaItemRow(occurrence_key=key, text=text, added_by=by, added_at=now))


def agenda_items(session: Session, key: str) -> list[AgendaItemRow]:
    stmt = select(AgendaItemRow).where(AgendaItemRow.occurrence_key == key)
    return list(session.exec(stmt.order_by(col(AgendaItemRow.id))).all())
