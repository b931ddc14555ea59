"""The record of what people did about a proposal: its audit entries and its issue's commenters.

Rules:
- Only entries whose subject is the proposal (``proposal:<n>``) count as acts on it: commands,
  refused ones too, and issue events; oldest first.
- A deleted comment's author does not count as a commenter.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from storage.models.audit import AuditEntry
from storage.models.core import CommentRow
from storage.times import aware


@dataclass(frozen=True)
class Act:
    """One audit entry about a proposal, as far as who did what: the actor as the log writes
    it (a verified login, else ``surface:id``), the entry's kind and, for a command the rules
    refused, which command (``payload.command``)."""

    actor: str
    kind: str
    command: str | None = None


def audit_lines(session: Session, subjects: Sequence[str], *, limit: int = 500) -> list[str]:
    """The audit entries about ``subjects``, oldest first, one readable line each."""
    stmt = (
        select(AuditEntry)
        .where(col(AuditEntry.subject).in_(list(subjects)))
        .order_by(col(AuditEntry.seq))
        .limit(limit)
    )
    return [
        f"{aware(e.at):%Y-%m-%d %H:%M} UTC #{e.seq} {e.kind} ({e.subject}) by {e.actor}"
        for e in session.exec(stmt).all()
    ]


def acts_on(session: Session, proposals: Collection[int]) -> dict[int, list[Act]]:
    """What the audit log records people doing about each of ``proposals`` (entries with subject
    ``proposal:<n>``: commands, refused ones too, issue events), oldest first; a proposal with
    no entry is left out."""
    subjects = {f"proposal:{n}": n for n in proposals}
    found: dict[int, list[Act]] = {}
    if not subjects:
        return found
    stmt = (
        select(
            col(AuditEntry.subject),
            col(AuditEntry.actor),
            col(AuditEntry.kind),
            col(AuditEntry.payload),
        )
        .where(col(AuditEntry.subject).in_(list(subjects)))
        .order_by(col(AuditEntry.seq))
    )
    for subject, actor, kind, payload in session.exec(stmt).all():
        command = json.loads(payload).get("command") if kind == "command-refused" else None
        act = Act(actor, kind, command if isinstance(command, str) else None)
        found.setdefault(subjects[subject], []).append(act)
    return found


def commenters(session: Session, proposal: int) -> list[str]:
    """Logins that commented on a proposal's issue (the watchdogs count them as responses)."""
    stmt = (
        select(CommentRow.author)
        .where(CommentRow.proposal == proposal)
        .where(col(CommentRow.deleted).is_(False))
        .distinct()
    )
    return list(session.exec(stmt).all())
