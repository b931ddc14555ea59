"""Feedback requests (``feedback_request``): who was asked for feedback on a proposal, by whom,
and when and how they answered (charter.feedback). Empty at first.

Revision ID: 0016_feedback_requests
Revises: 0015_audit_witness
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_feedback_requests"
down_revision = "0015_audit_witness"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(), nullable=False),
        sa.Column("asked_by", sa.String(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_how", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_request")),
    )
    op.create_index(
        op.f("ix_feedback_request_proposal"), "feedback_request", ["proposal"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_request_proposal"), table_name="feedback_request")
    op.drop_table("feedback_request")
