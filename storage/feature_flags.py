"""The feature-flag registry of rollouts: each client's flags, on or off, and who switched them.

Rules:
- A flag is registered (state ``on``) once per proposal × client × name, when the rollout
  starts; registering it again changes nothing.
- Switching a flag records who switched it, why and when, on the flag's own row (the audit log
  keeps the history).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models.rollouts import FlagRow


def register_flag(
    session: Session, proposal: int, client: str, name: str, *, by: str, at: datetime
) -> bool:
    """Add a registry entry (state ``on``); False when it is already there."""
    if session.get(FlagRow, (proposal, client, name)) is not None:
        return False
    session.add(
        FlagRow(
            proposal=proposal,
            client=client,
            name=name,
            state="on",
            changed_at=at,
            changed_by=by,
            reason="registered when the rollout started",
        )
    )
    return True


def flags(session: Session, *, name: str | None = None) -> list[FlagRow]:
    stmt = select(FlagRow).order_by(col(FlagRow.name), col(FlagRow.proposal), col(FlagRow.client))
    if name is not None:
        stmt = stmt.where(FlagRow.name == name)
    return list(session.exec(stmt).all())


def switch_flag(
    session: Session, row: FlagRow, state: str, *, by: str, reason: str, at: datetime
) -> None:
    row.state, row.changed_by, row.reason, row.changed_at = state, by, reason, at
    session.add(row)
