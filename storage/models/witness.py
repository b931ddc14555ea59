"""Audit heads witnessed on GitHub (storage.audit_witness).

Rules:
- One row per period in which the audit head was posted: ``period_start`` is UNIQUE, so a
  period is witnessed at most once, whatever restarts or replicas do.
- The row is written, with its outbox item, in the transaction that decided to post; the
  comment's issue, id and link are filled in when GitHub has it, before the item is marked
  sent. A row without ``comment_id`` is a post still on its way.
- Witness posts are not audited: an audit entry per post would change the head it witnesses.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class AuditWitnessRow(SQLModel, table=True):
    __tablename__ = "audit_witness"

    id: int | None = Field(default=None, primary_key=True)
    period_start: datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False, unique=True)
    )
    seq: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    queued_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    issue_number: int | None = Field(default=None)
    comment_id: str | None = Field(default=None)
    comment_url: str | None = Field(default=None)
    posted_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True)
    )
