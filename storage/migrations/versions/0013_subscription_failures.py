"""Subscriptions count the deliveries their destination refused in a row.

A subscription whose destination is gone (a deleted channel, a bounced address, a webhook
answering 404) is removed after three refusals in a row. Counting on the row itself, rather than
reading back its deliveries, counts only what the destination refused (not a platform the bot
has no credentials for) and starts every new subscription at zero, whatever id it was given.

Revision ID: 0013_subscription_failures
Revises: 0012_inbox_next_attempt
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_subscription_failures"
down_revision = "0012_inbox_next_attempt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscription") as batch:
        batch.add_column(
            sa.Column("failures_in_a_row", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("subscription") as batch:
        batch.drop_column("failures_in_a_row")
