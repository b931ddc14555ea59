"""What people report and decide about a rollout's stages: readiness reports and go/no-go.

Rules:
- Readiness reports are appended to ``ready_report`` as well as kept in the rollout's
  aggregate (:mod:`storage.rollouts`), so the inventory across every rollout is one query.
- Go/no-go decisions are appended to ``go_no_go``, and read back in the order they were made.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from charter.gates import GoNoGo
from charter.rollout_facts import ReadyReport
from storage.models.rollouts import GoNoGoRow, ReadyReportRow
from storage.times import aware


def add_ready_report(session: Session, proposal: int, report: ReadyReport, source: str) -> None:
    session.add(
        ReadyReportRow(
            proposal=proposal,
            client=report.client,
            stage=report.stage,
            version=report.version,
            ref=report.ref,
            notes=report.notes,
            reported_by=report.reported_by,
            source=source,
            at=report.at,
        )
    )


def ready_reports(
    session: Session, *, proposal: int | None = None
) -> list[tuple[int, ReadyReport]]:
    """(proposal, report) in the order they were made; every proposal when ``proposal`` is None."""
    stmt = select(ReadyReportRow).order_by(col(ReadyReportRow.at), col(ReadyReportRow.id))
    if proposal is not None:
        stmt = stmt.where(ReadyReportRow.proposal == proposal)
    return [
        (
            r.proposal,
            ReadyReport(r.client, r.stage, r.version, r.ref, r.notes, r.reported_by, aware(r.at)),
        )
        for r in session.exec(stmt).all()
    ]


def record_go_no_go(session: Session, decision: GoNoGo, note: str = "") -> None:
    session.add(
        GoNoGoRow(
            proposal=decision.proposal,
            stage=decision.stage,
            decision=decision.decision,
            by=decision.by,
            note=note,
            at=decision.at,
        )
    )


def go_no_go(session: Session, proposal: int) -> tuple[GoNoGo, ...]:
    stmt = select(GoNoGoRow).where(GoNoGoRow.proposal == proposal).order_by(col(GoNoGoRow.id))
    return tuple(
        GoNoGo(r.proposal, r.stage, "go" if r.decision == "go" else "no-go", r.by, aware(r.at))
        for r in session.exec(stmt).all()
    )
