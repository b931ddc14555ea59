"""What the inbox holds of each release already (for :mod:`bot.github.poll_releases`).

Rules:
- A ``release`` delivery *holds* a release when the worker acts on it: what
  ``bot.github.events.parse_event`` makes a ``ReleaseEvent`` of (``published``, and ``edited``
  with a changed body of a release that is not a draft), from a webhook or a poll alike (their
  payloads have one shape). ``created``, ``released``, a name-only edit or a malformed
  delivery hold nothing.
- What it holds: the ready lines of its body, as (proposal, stage) with the stage lowercased
  (``on_release`` reads them so), and the body itself; of several deliveries of one release,
  the lines are their union and the body the latest stored one's (the inbox's order).
- Only deliveries stored since ``since`` are read: a release's deliveries all come after its
  publication (less the clocks' slack the caller allows), so older rows cannot be about it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from bot.github.events import RELEASE_LINE, MalformedEvent, ReleaseEvent, parse_event
from storage.models.core import InboxRow

SOURCE = "github"
EVENT = "release"

Line = tuple[int, str]  # (proposal, stage lowercased)


@dataclass
class Held:
    """What the inbox holds of one release (see the module rules)."""

    lines: set[Line] = field(default_factory=set)
    body: str = ""


def ready_lines(body: str) -> set[Line]:
    """The (proposal, stage) of each ready line of ``body``, as ``on_release`` reads them."""
    return {(int(n), stage.lower()) for n, stage in RELEASE_LINE.findall(body)}


def held(session: Session, since: datetime) -> dict[tuple[str, str], Held]:
    """(repository lowercased, release id) → what the deliveries stored since ``since`` hold."""
    rows = session.exec(
        select(InboxRow.body)
        .where(InboxRow.source == SOURCE, InboxRow.event == EVENT)
        .where(col(InboxRow.received_at) >= since)
        .order_by(col(InboxRow.id))
    ).all()
    found: dict[tuple[str, str], Held] = {}
    for body in rows:
        try:
            payload = json.loads(body)
            event = parse_event(EVENT, payload)
            release = str(payload["release"]["id"])
        except (ValueError, TypeError, KeyError, MalformedEvent):  # malformed: holds nothing
            continue
        if isinstance(event, ReleaseEvent):
            entry = found.setdefault((event.repo.lower(), release), Held())
            entry.lines |= ready_lines(event.body)
            entry.body = event.body
    return found
