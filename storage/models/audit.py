"""The audit log table: an append-only, hash-chained list of decisions.

Rules:
- ``seq`` is 1, 2, 3, … with no gaps, assigned by the appender (never by the database).
- ``canonical`` is the exact text whose UTF-8 bytes were hashed (format: storage.canonical);
  the other columns are copies for querying and must agree with it (verification checks).
- ``prev_hash`` is UNIQUE, so the chain cannot fork; ``hash`` is UNIQUE.
- The table is append-only: migration 0001_audit installs triggers refusing UPDATE, DELETE
  (and TRUNCATE on PostgreSQL); 0007_audit_rowid rebuilds it on SQLite and reinstalls them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_kind_seq", "kind", "seq"),)

    # On SQLite exactly INTEGER, so that seq is the rowid (see migration 0007_audit_rowid).
    seq: int = Field(
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=False,
        )
    )
    at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    subject: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # canonical JSON text
    charter_version: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    prev_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    canonical: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
