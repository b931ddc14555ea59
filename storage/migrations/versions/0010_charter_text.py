"""The text of every adopted charter version (``charter_text``).

A proposal is decided by the charter version in force when it was opened (the reference
charter: an amendment "takes effect for proposals opened after it"), so the bot keeps the text
of each version it enforced. Empty at first: the running charter's text is stored at start.

Revision ID: 0010_charter_text
Revises: 0009_comment_voted_at
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_charter_text"
down_revision = "0009_comment_voted_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charter_text",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_charter_text")),
    )


def downgrade() -> None:
    op.drop_table("charter_text")
