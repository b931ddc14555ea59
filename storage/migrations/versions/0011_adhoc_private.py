"""Ad-hoc calls can be private (``adhoc_meeting.private``).

A go/no-go call for a confidential rollout whose proposal is not disclosed must not be announced
on public channels, posted as a public agenda issue or listed on public pages; its row says so.
Rows already stored are public, as they were treated until now.

Revision ID: 0011_adhoc_private
Revises: 0010_charter_text
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_adhoc_private"
down_revision = "0010_charter_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("adhoc_meeting") as batch:
        batch.add_column(
            sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("adhoc_meeting") as batch:
        batch.drop_column("private")
