"""GitHub events → the service: the entry point for every stored GitHub delivery.

Rules:
- Only issue and comment events from the charter's repository (its name compared in any case,
  as GitHub does) are read: issues as :mod:`bot.github.issue_events` says, comments as
  :mod:`bot.github.comments` says. Any other event goes to the areas that registered for it
  (``Governance.dispatch_event``).
- A delivery waits in the inbox, then runs once (:func:`processor`): a webhook payload is
  parsed as GitHub sent it; a polled issue or comment is stored as JSON of the event the poller
  built (:func:`encode_polled`), so it waits and runs like a webhook delivery.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.github.comments import handle_comment
from bot.github.events import CommentEvent, IssueEvent, parse_event
from bot.github.issue_events import handle_issue
from storage.inbox import InboxEvent

if TYPE_CHECKING:
    from bot.service import Governance


def handle_event(gov: Governance, session: Session, event: object, now: datetime) -> None:
    if isinstance(event, IssueEvent):
        if _in_charter_repo(gov, event.repo_full_name):
            handle_issue(gov, session, event, now)
    elif isinstance(event, CommentEvent):
        if _in_charter_repo(gov, event.repo):
            handle_comment(gov, session, event, now)
    else:
        gov.dispatch_event(session, event, now)


def _in_charter_repo(gov: Governance, repo_name: str) -> bool:
    return repo_name.lower() == gov.charter.github.repository.lower()


def processor(gov: Governance) -> Callable[[Session, InboxEvent, datetime], None]:
    """The inbox processor for stored GitHub deliveries (webhook payloads, polled events)."""

    def process(session: Session, row: InboxEvent, now: datetime) -> None:
        event: object = (
            decode_polled(row.event, row.body)
            if row.source == "poll"
            else parse_event(row.event, json.loads(row.body))
        )
        if event is not None:
            handle_event(gov, session, event, now)

    return process


_POLLED = {"issues": IssueEvent, "issue_comment": CommentEvent}


def encode_polled(event: IssueEvent | CommentEvent) -> bytes:
    """A polled event as JSON, so it waits in the inbox like a webhook delivery."""
    data = {k: getattr(event, k) for k in event.__dataclass_fields__}
    return json.dumps(
        data, default=lambda v: v.isoformat() if isinstance(v, datetime) else v
    ).encode()


def decode_polled(event_name: str, body: bytes) -> IssueEvent | CommentEvent | None:
    """The event :func:`encode_polled` stored; None for an event a poll does not make."""
    cls = _POLLED.get(event_name)
    if cls is None:
        return None
    data = json.loads(body)
    for key in ("created_at", "updated_at"):
        if isinstance(data.get(key), str):
            data[key] = datetime.fromisoformat(data[key])
    if "labels" in data:
        data["labels"] = tuple(data["labels"])
    event: IssueEvent | CommentEvent = cls(**data)
    return event
