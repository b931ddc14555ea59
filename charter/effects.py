"""What a decision asks the world to do, as data.

Rules never act: they return effects, and the application delivers them (the outbox for
announcements and platform writes, the audit log for records, the caller for replies).
Every payload here is JSON-safe (str, int, bool, None, lists, dicts of those) so it can be
stored in the outbox and hashed into the audit log. Platform ids are always strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from charter.model import AnnounceKind

JSON = Mapping[str, Any]


@dataclass(frozen=True)
class Audit:
    """Append an audit entry in the same transaction as the change."""

    kind: str  # e.g. "vote-cast", "proposal-decided", "command-refused"
    subject: str  # e.g. "proposal:42", "rollout:42", "incident:7"
    payload: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class Announce:
    """Tell subscribers of ``kind`` (the charter's announce table plus subscriptions)."""

    kind: AnnounceKind
    title: str
    text: str
    proposal: int | None = None
    track: str | None = None
    clients: tuple[str, ...] = ()
    severity: str | None = None
    confidential: bool = False
    data: JSON = field(default_factory=dict)


@dataclass(frozen=True)
class SyncTracking:
    """Re-render the proposal's tracking message on every surface (edited only if changed)."""

    proposal: int


@dataclass(frozen=True)
class SetLabels:
    """Make the proposal's GitHub labels reflect its state (adds ours, removes stale ones)."""

    proposal: int
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Comment:
    """Post a new comment on the proposal's GitHub issue (decision notes, refusals)."""

    proposal: int
    body: str
    key: str = ""  # stable idempotency key: the same key is posted once


@dataclass(frozen=True)
class Notify:
    """Notify the members of charter roles (escalations, overrides), once per ``key``."""

    roles: tuple[str, ...]
    text: str
    key: str


@dataclass(frozen=True)
class Reply:
    """The answer to the person who issued a command (ephemeral in chat, a comment on GitHub)."""

    text: str
    ok: bool = True


Effect = Audit | Announce | SyncTracking | SetLabels | Comment | Notify | Reply
