"""Audit heads witnessed on GitHub (``audit_witness``).

The bot posts the audit head to a GitHub issue once per period when it changed (bot.
audit_witness): GitHub dates the comment and mails it to the issue's watchers, so a truncated
or rewritten log no longer matches a head kept outside the operator's reach. Each post is a
row (one per period: ``period_start`` UNIQUE), not an audit entry, which would change the very
head it witnesses. Empty at first.

Revision ID: 0015_audit_witness
Revises: 0014_audit_no_replace
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_audit_witness"
down_revision = "0014_audit_no_replace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_witness",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issue_number", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.String(), nullable=True),
        sa.Column("comment_url", sa.String(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_witness")),
        sa.UniqueConstraint("period_start", name=op.f("uq_audit_witness_period_start")),
    )


def downgrade() -> None:
    op.drop_table("audit_witness")
