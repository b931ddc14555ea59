"""Check results remember the branch or tag their run was started for (GitHub's head_branch).

A client that reports readiness by publishing a release names a tag, not a commit; the
workflow run its tag push started carries that tag as ``head_branch``. Nullable: older rows
and check runs without one keep matching by commit only.

Revision ID: 0008_check_head_branch
Revises: 0007_audit_rowid
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_check_head_branch"
down_revision = "0007_audit_rowid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("check_result") as batch:
        batch.add_column(sa.Column("head_branch", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check_result") as batch:
        batch.drop_column("head_branch")
