"""The text of every charter version the bot has enforced (storage.charters)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class CharterTextRow(SQLModel, table=True):
    """One row per charter version: the text last adopted under that version number.

    A proposal is decided by the charter version in force when it was opened, so the bot
    keeps each version's text; its sha256 is the one the ``charter-adopted`` audit entry
    recorded, so anyone can check the stored text against the log.
    """

    __tablename__ = "charter_text"

    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    sha256: str
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    adopted_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
