"""GitHub comments remember when their vote was cast (``voted_at``).

Votes used to be dated by a comment's last edit, so fixing a typo in an old vote comment
recast that vote as the seat's latest and silently replaced a later one. Rows already stored
take their ``updated_at`` (what they were dated by until now); new rows take their creation
time, and only an edit that changes the vote moves it.

Revision ID: 0009_comment_voted_at
Revises: 0008_check_head_branch
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_comment_voted_at"
down_revision = "0008_check_head_branch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gh_comment") as batch:
        batch.add_column(sa.Column("voted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE gh_comment SET voted_at = updated_at")
    with op.batch_alter_table("gh_comment") as batch:
        batch.alter_column("voted_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("gh_comment") as batch:
        batch.drop_column("voted_at")
