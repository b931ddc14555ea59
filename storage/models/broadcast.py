"""Broadcast tables: subscriptions, e-mail opt-ins, per-destination deliveries, digest queue.

Rules:
- A subscription row holds the filters of one ``/charter subscribe`` as JSON lists; the pure
  model is :class:`charter.subscriptions.Subscription`.
- An e-mail address receives mail only after it is confirmed (double opt-in); the row keeps
  when it was asked and confirmed, and when it unsubscribed.
- An announcement is fanned out into one ``delivery`` row per destination, in one
  transaction; ``(outbox_id, destination)`` is unique, so a re-run of the fan-out adds nothing.
- A delivery records the platform's message id before it is marked sent (see bot.relay).
- Digest subscriptions queue ``digest_item`` rows instead of deliveries; the daily digest
  consumes them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = True, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable, index=index)


class SubscriptionRow(SQLModel, table=True):
    __tablename__ = "subscription"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(index=True)  # slack | discord | email | webhook
    address: str  # channel id, "@<user id>", e-mail address or https URL
    owner: str = Field(index=True)  # "<surface>:<user id>" of who subscribed
    filters: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON object
    lang: str | None = None
    zone: str | None = None
    digest_at: str | None = None  # "HH:MM"
    secret: str | None = None  # webhook signing secret
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    last_digest_at: datetime | None = Field(default=None, sa_column=_ts())
    # Deliveries in a row that this destination refused for good (reset by one sent).
    failures_in_a_row: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )


class EmailOptinRow(SQLModel, table=True):
    __tablename__ = "email_optin"

    address: str = Field(primary_key=True)  # lower-cased
    requested_at: datetime = Field(sa_column=_ts(nullable=False))
    confirmed_at: datetime | None = Field(default=None, sa_column=_ts())
    unsubscribed_at: datetime | None = Field(default=None, sa_column=_ts())


class DeliveryRow(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("outbox_id", "destination", name="uq_delivery_outbox_destination"),
    )

    id: int | None = Field(default=None, primary_key=True)
    outbox_id: int = Field(index=True)
    destination: str  # "<platform>:<address>"
    platform: str
    address: str
    lang: str = "en"
    zone: str = "UTC"
    subscription_id: int | None = None
    status: str = Field(default="pending", index=True)  # pending | sending | sent | failed
    attempts: int = 0
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    platform_message_id: str | None = None
    last_error: str | None = None
    sent_at: datetime | None = Field(default=None, sa_column=_ts())


class DigestItemRow(SQLModel, table=True):
    __tablename__ = "digest_item"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "outbox_id", name="uq_digest_item_sub_outbox"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(index=True)
    outbox_id: int
    queued_at: datetime = Field(sa_column=_ts(nullable=False))
    digest_outbox_id: int | None = None  # the digest that carried it; None while queued
