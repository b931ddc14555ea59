"""Reading the audit log: pages of entries, filtered by subject or kind (newest first)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models.audit import AuditEntry


def entries(
    session: Session,
    *,
    subject: str | None = None,
    kind: str | None = None,
    limit: int = 1000,
    before_seq: int | None = None,
) -> Sequence[AuditEntry]:
    stmt = select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(limit)
    if subject is not None:
        stmt = stmt.where(AuditEntry.subject == subject)
    if kind is not None:
        stmt = stmt.where(AuditEntry.kind == kind)
    if before_seq is not None:
        stmt = stmt.where(col(AuditEntry.seq) < before_seq)
    return session.exec(stmt).all()
