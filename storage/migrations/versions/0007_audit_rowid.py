"""Audit log on SQLite: ``seq`` becomes the table's rowid.

SQLite makes a column the rowid only when it is declared exactly ``INTEGER PRIMARY KEY``;
``BIGINT`` (0001_audit) left a hidden rowid plus a separate primary-key index on ``seq``, so
every append maintained one index more and every scan in ``seq`` order (verification, export)
paid a B-tree lookup per row. SQLite's INTEGER holds 64 bits, the same range as BIGINT.

SQLite cannot change a column's type in place: the table is rebuilt (rows copied in ``seq``
order) and its index and append-only triggers are recreated, all in the migration's one
transaction. PostgreSQL keeps BIGINT: nothing to do there.

Revision ID: 0007_audit_rowid
Revises: 0006_notify
"""

from __future__ import annotations

from alembic import op

revision = "0007_audit_rowid"
down_revision = "0006_notify"
branch_labels = None
depends_on = None

COLUMNS = "seq, at, actor, kind, subject, payload, charter_version, prev_hash, hash, canonical"
TRIGGERS = tuple(
    f"CREATE TRIGGER audit_entry_no_{name.lower()} BEFORE {name} ON audit_entry "
    f"BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: {name} refused'); END"
    for name in ("UPDATE", "DELETE")
)


def _rebuild(seq_type: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"""CREATE TABLE audit_entry_rebuilt (
        seq {seq_type} NOT NULL,
        at DATETIME NOT NULL,
        actor TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        payload TEXT NOT NULL,
        charter_version INTEGER,
        prev_hash VARCHAR(64) NOT NULL,
        hash VARCHAR(64) NOT NULL,
        canonical TEXT NOT NULL,
        CONSTRAINT pk_audit_entry PRIMARY KEY (seq),
        CONSTRAINT uq_audit_entry_prev_hash UNIQUE (prev_hash),
        CONSTRAINT uq_audit_entry_hash UNIQUE (hash))"""
    )
    op.execute(
        f"INSERT INTO audit_entry_rebuilt ({COLUMNS}) "
        f"SELECT {COLUMNS} FROM audit_entry ORDER BY seq"
    )
    # Dropping the table drops its triggers and index without firing anything.
    op.execute("DROP TABLE audit_entry")
    op.execute("ALTER TABLE audit_entry_rebuilt RENAME TO audit_entry")
    op.execute("CREATE INDEX ix_audit_entry_kind_seq ON audit_entry (kind, seq)")
    for statement in TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    _rebuild("INTEGER")


def downgrade() -> None:
    _rebuild("BIGINT")
