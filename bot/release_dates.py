"""When a GitHub release's readiness report counts from: the pure rule
(:func:`charter.release_time.report_time`) with what only storage knows.

Rules:
- A rollout keeps no time of a plain ``advance`` (its soak clocks and overrides keep theirs),
  so the latest ``stage-entered`` audit entry of the rollout (``rollout:<n>``, written in the
  transaction that moved it) is passed as ``entered``: a release report is never dated before
  the rollout last entered a stage. The audit entry's time is when that was handled, at or
  after what the rollout recorded for it: a later floor, never an earlier one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from charter.release_time import report_time
from charter.rollout_facts import Rollout
from storage.models.audit import AuditEntry
from storage.times import aware

STAGE_ENTERED = "stage-entered"


def last_stage_entry(session: Session, proposal: int) -> datetime | None:
    """When the audit log last records the rollout of ``proposal`` entering a stage."""
    stmt = (
        select(func.max(col(AuditEntry.at)))
        .where(col(AuditEntry.kind) == STAGE_ENTERED)
        .where(col(AuditEntry.subject) == f"rollout:{proposal}")
    )
    found = session.exec(stmt).one()
    return None if found is None else aware(found)


def release_report_at(
    session: Session, rollout: Rollout, published: datetime | None, received: datetime
) -> datetime:
    """The moment a release report of ``rollout`` counts from (see the rules)."""
    return report_time(published, received, rollout, last_stage_entry(session, rollout.proposal))
