"""Core tables: proposals, the comment history, the inbox and outbox, identities, state.

Rules:
- A proposal row keeps indexed columns for queries and the whole aggregate as canonical JSON in
  ``data``; the aggregate is the truth, the columns are derived from it on every save.
- GitHub comments are kept (edits and deletions included) so votes are recomputed from the
  comment history, never patched in place.
- Every event accepted from outside is in ``inbox`` before it is acknowledged; ``(source, key)``
  is unique, which is what makes a redelivered event a no-op.
- Effects wait in ``outbox`` until a relay delivers them; they are written in the same
  transaction as the change that caused them.
- Platform ids are strings (Discord ids exceed 2^53).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = True, index: bool = False) -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable, index=index)


class ProposalRow(SQLModel, table=True):
    __tablename__ = "proposal"

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title: str
    author: str
    track: str = Field(index=True)
    state: str = Field(index=True)
    confidential: bool = False
    disclosed: bool = False
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))
    next_due_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    data: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class CommentRow(SQLModel, table=True):
    __tablename__ = "gh_comment"

    comment_id: str = Field(primary_key=True)
    proposal: int = Field(index=True)
    author: str
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))
    # When the comment's current vote was cast: its creation, or the edit that last changed
    # which way it votes (an edit that leaves the votes alone does not recast them).
    voted_at: datetime = Field(sa_column=_ts(nullable=False))
    deleted: bool = False


class InboxRow(SQLModel, table=True):
    __tablename__ = "inbox"
    __table_args__ = (sa.UniqueConstraint("source", "key", name="uq_inbox_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str  # github | slack | discord | poll
    key: str  # X-GitHub-Delivery, Slack event_id, Discord interaction id, …
    event: str  # e.g. the X-GitHub-Event header
    body: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    received_at: datetime = Field(sa_column=_ts(nullable=False))
    processed_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    attempts: int = 0
    error: str | None = None
    # Not picked up again before this: a failed event's next retry (its backoff runs from the
    # failure), or the lease the live handler of a journalled chat command renews while it runs.
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts())


class OutboxRow(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    key: str | None = Field(default=None, unique=True)  # idempotency: same key, one item
    kind: str  # announce | sync-tracking | labels | comment | notify | direct-message
    destination: str = ""  # resolved channel ("slack:C0…"), or "" until fanned out
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | sending | sent | failed
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    attempts: int = 0
    last_error: str | None = None
    platform_message_id: str | None = None
    sent_at: datetime | None = Field(default=None, sa_column=_ts())


class TrackingMessageRow(SQLModel, table=True):
    """One tracking message per proposal per surface, edited in place only when it changes."""

    __tablename__ = "tracking_message"

    proposal: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    surface: str = Field(primary_key=True)  # github | slack:<channel> | discord:<channel>
    message_id: str
    body_sha256: str
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class IdentityLinkRow(SQLModel, table=True):
    """A chat user proven to be a GitHub login (device flow or a posted one-time code)."""

    __tablename__ = "identity_link"

    surface: str = Field(primary_key=True)  # slack | discord | console
    surface_id: str = Field(primary_key=True)
    login: str = Field(index=True)
    method: str  # device-flow | comment-code | console
    verified_at: datetime = Field(sa_column=_ts(nullable=False))
    timezone: str | None = None


class LinkRequestRow(SQLModel, table=True):
    """A pending proof of identity: a device-flow code, or a one-time code to post on GitHub."""

    __tablename__ = "link_request"

    code: str = Field(primary_key=True)
    surface: str
    surface_id: str
    method: str
    device_code: str | None = None
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    interval_s: int = 5
    claimed_login: str | None = None


class StateRow(SQLModel, table=True):
    """Small named state: poller ETags and watermarks, fired alert keys, adopted charter."""

    __tablename__ = "kv_state"

    key: str = Field(primary_key=True)
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))
