"""What a meeting decided: its outcomes (decisions, action items) and which actions are done.

Rules:
- Outcomes are kept under the occurrence's key, in the order they were recorded.
- Only the owner of an open action item can mark it done (:func:`finish_action`); anything
  else changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models.meetings import MeetingOutcomeRow


def add_outcome(
    session: Session,
    *,
    key: str,
    meeting_id: str,
    kind: str,
    text: str,
    by: str,
    now: datetime,
    owner: str = "",
) -> MeetingOutcomeRow:
    row = MeetingOutcomeRow(
        occurrence_key=key, meeting_id=meeting_id, kind=kind, text=text, owner=owner, by=by, at=now
    )
    session.add(row)
    session.flush()
    return row


def outcomes(session: Session, key: str) -> list[MeetingOutcomeRow]:
    stmt = select(MeetingOutcomeRow).where(MeetingOutcomeRow.occurrence_key == key)
    return list(session.exec(stmt.order_by(col(MeetingOutcomeRow.id))).all())


def open_actions(session: Session) -> list[MeetingOutcomeRow]:
    stmt = (
        select(MeetingOutcomeRow)
        .where(MeetingOutcomeRow.kind == "action")
        .where(col(MeetingOutcomeRow.done).is_(False))
        .order_by(col(MeetingOutcomeRow.id))
    )
    return list(session.exec(stmt).all())


def finish_action(
    session: Session, action_id: int, now: datetime, *, owner: str
) -> MeetingOutcomeRow | None:
    """Mark ``owner``'s open action item done; None (nothing changed) if there is no such item."""
    row = session.get(MeetingOutcomeRow, action_id)
    if row is None or row.kind != "action" or row.done or row.owner != owner:
        return None
    row.done, row.done_at = True, now
    session.add(row)
    return row
