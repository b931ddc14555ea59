"""Per-recipient deliveries of ``notify`` and ``direct-message`` outbox items.

Rules:
- One row per (outbox item, target); ``(outbox_id, target)`` is unique, so a crash in the
  middle of a fan-out never sends twice to a target already done.
- A target is a private message to one linked chat identity, or one fallback message in a
  channel naming the people (``logins``) who could not be reached privately.
- The row is written (``sending``) before the send, the platform's message id is committed
  before the row is marked ``sent``; a ``sending`` row with a message id counts as delivered.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = True) -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


class NotifyDeliveryRow(SQLModel, table=True):
    __tablename__ = "notify_delivery"
    __table_args__ = (
        sa.UniqueConstraint("outbox_id", "target", name="uq_notify_delivery_outbox_target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(index=True)
    target: str  # "dm:<platform>:<address>" or "fallback:<platform>:<address>:<digest>"
    platform: str  # slack | discord | email
    address: str  # "@<user id>" for a person, the channel id or list address for a fallback
    logins: str  # the recipient's login, or the comma-separated logins a fallback names
    status: str = "sending"  # sending | sent | failed
    platform_message_id: str | None = None
    last_error: str | None = None
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_ts())
