"""Inbox rows say when they may be picked up again (``inbox.next_attempt_at``).

A failed event's backoff ran from its receipt, so an event processed late (a backlog, a
restart) was retried back to back and failed for good within seconds; it now runs from the
last failure. A journalled chat command's live handler holds its row by renewing this lease, so
the replay takes over only commands whose handler is gone. Rows already stored have none: a
failed event's backoff and an open command's lease are then timed from its receipt, as before.

Revision ID: 0012_inbox_next_attempt
Revises: 0011_adhoc_private
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_inbox_next_attempt"
down_revision = "0011_adhoc_private"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("next_attempt_at")
