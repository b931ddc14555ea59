"""Audit log on SQLite: REPLACE cannot remove entries.

SQLite's ``REPLACE INTO`` and ``INSERT OR REPLACE`` resolve a primary-key or unique conflict by
deleting the conflicting row first, and that deletion fires no DELETE trigger: the append-only
triggers of 0001_audit were bypassed, an entry silently rewritten or dropped. A BEFORE INSERT
trigger runs before the conflict is resolved, so it refuses any insert that would collide with
an existing row's seq, prev_hash or hash; an ordinary append collides with none of them (and a
plain INSERT that collides, refused by the unique constraints anyway, is now refused here).

PostgreSQL has no REPLACE; ``INSERT … ON CONFLICT DO UPDATE`` fires its row UPDATE trigger, which
0001_audit already refuses: nothing to do there.

Revision ID: 0014_audit_no_replace
Revises: 0013_subscription_failures
"""

from __future__ import annotations

from alembic import op

revision = "0014_audit_no_replace"
down_revision = "0013_subscription_failures"
branch_labels = None
depends_on = None

TRIGGER = (
    "CREATE TRIGGER audit_entry_no_replace BEFORE INSERT ON audit_entry "
    "WHEN EXISTS (SELECT 1 FROM audit_entry WHERE seq = NEW.seq "
    "OR prev_hash = NEW.prev_hash OR hash = NEW.hash) "
    "BEGIN SELECT RAISE(ABORT, "
    "'audit_entry is append-only: INSERT or REPLACE over an existing entry refused'); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_replace")
