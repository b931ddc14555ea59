"""Poll mode (`CHARTERBOT_GITHUB_MODE=poll`): webhooks without a public URL.

Rules:
- Each poll lists issues updated at or after the watermark, conditionally (`If-None-Match`):
  an unchanged repository answers 304, which costs nothing against the rate limit.
- For each changed issue, its comments updated since the watermark are listed the same way
  (GitHub's `since` is inclusive, so the boundary issue comes back next time; its comments'
  ETag then still matches and answers 304).
- The result is the same neutral events webhooks give, with synthetic stable delivery ids
  (`poll:issue:<n>:<updated_at>`, `poll:comment:<id>:<updated_at>`), so the pipeline's
  delivery dedupe makes overlapping polls harmless. An issue event is emitted only when the
  issue itself changed (title, body, labels, state) — a new comment alone bumps `updated_at`
  but is not an issue edit, as with webhooks. An `edited` issue event names in `changes` which
  of title and body changed (as a webhook's `changes` does; the old values are not kept, so
  they are empty), so edits after voting opened are recorded in poll mode too, and a label
  change alone names neither.
- Deleted comments cannot be seen by polling; webhooks are the way to react to deletions.
- Check runs in the clients' repositories are read after each poll by
  ``bot.github.poll_checks`` (only those a rollout gate waits on), and their releases by
  ``bot.github.poll_releases`` (only while a rollout they are in is under way).
- Nor can a poll tell who edited a comment (the API names only its author): a polled edit is
  read as the author's own, so an edit by a collaborator recasts the author's vote, where a
  webhook's ``sender`` lets the bot ignore it (``bot.github.edits_by_others``).
- State (watermark, ETags, issue fingerprints) is returned for the caller to persist; this
  module touches no storage. Start with `PollState.starting_at(now)` to skip history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.github.events import (
    Delivery,
    comment_event_from_snapshot,
    issue_event_from_snapshot,
)
from bot.github.wire import format_time, parse_time
from bot.ports import CommentSnapshot, GitHubGateway, IssueSnapshot


@dataclass(frozen=True)
class PollState:
    watermark: datetime | None = None
    issues_etag: str | None = None
    comment_etags: Mapping[int, str] = field(default_factory=dict, hash=False)
    # issue number → "<state>:<digest of title, body, labels>:<title digest>:<body digest>"
    issues_seen: Mapping[int, str] = field(default_factory=dict, hash=False)

    @classmethod
    def starting_at(cls, now: datetime) -> PollState:
        return cls(watermark=now)

    def to_json(self) -> dict[str, Any]:
        return {
            "watermark": None if self.watermark is None else format_time(self.watermark),
            "issues_etag": self.issues_etag,
            "comment_etags": {str(k): v for k, v in self.comment_etags.items()},
            "issues_seen": {str(k): v for k, v in self.issues_seen.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PollState:
        watermark = data.get("watermark")
        return cls(
            watermark=None if watermark is None else parse_time(watermark),
            issues_etag=data.get("issues_etag"),
            comment_etags={int(k): str(v) for k, v in (data.get("comment_etags") or {}).items()},
            issues_seen={int(k): str(v) for k, v in (data.get("issues_seen") or {}).items()},
        )


@dataclass(frozen=True)
class PollResult:
    deliveries: tuple[Delivery, ...]
    state: PollState


class Poller:
    """Turns conditional list requests into webhook-equivalent deliveries."""

    def __init__(self, gateway: GitHubGateway) -> None:
        self._gateway = gateway

    async def poll(self, state: PollState) -> PollResult:
        issues, issues_etag = await self._gateway.list_issues_since(
            state.watermark, state.issues_etag
        )
        deliveries: list[Delivery] = []
        comment_etags = dict(state.comment_etags)
        seen = dict(state.issues_seen)
        for issue in sorted(issues, key=lambda i: (i.updated_at, i.number)):
            mark = _fingerprint(issue)
            if seen.get(issue.number) != mark:
                deliveries.append(self._issue_delivery(issue, seen.get(issue.number), state))
                seen[issue.number] = mark
            comments, etag = await self._gateway.list_comments_since(
                issue.number, state.watermark, comment_etags.get(issue.number)
            )
            if etag is not None:
                comment_etags[issue.number] = etag
            deliveries.extend(self._comment_delivery(c) for c in comments)
        watermark = max((i.updated_at for i in issues), default=state.watermark)
        if state.watermark is not None and watermark is not None:
            watermark = max(watermark, state.watermark)
        new_state = PollState(watermark, issues_etag, comment_etags, seen)
        return PollResult(tuple(deliveries), new_state)

    def _issue_delivery(
        self, issue: IssueSnapshot, previous: str | None, state: PollState
    ) -> Delivery:
        action = _issue_action(issue, previous, state)
        event = issue_event_from_snapshot(issue, action=action, repo=self._gateway.charter_repo)
        if action == "edited":
            event = replace(event, changes=_changes(previous, issue))
        delivery_id = f"poll:issue:{issue.number}:{format_time(issue.updated_at)}"
        return Delivery(delivery_id, "issues", event)

    def _comment_delivery(self, comment: CommentSnapshot) -> Delivery:
        action = "created" if comment.updated_at == comment.created_at else "edited"
        event = comment_event_from_snapshot(comment, action=action, repo=self._gateway.charter_repo)
        delivery_id = f"poll:comment:{comment.comment_id}:{format_time(comment.updated_at)}"
        return Delivery(delivery_id, "issue_comment", event)


def _issue_action(issue: IssueSnapshot, previous: str | None, state: PollState) -> str:
    """Best reconstruction of the webhook action from two snapshots."""
    if previous is None:
        is_new = state.watermark is None or issue.created_at >= state.watermark
        if is_new:
            return "opened" if issue.state == "open" else "closed"
        return "edited"
    was = previous.split(":", 1)[0]
    if was != issue.state:
        return "closed" if issue.state == "closed" else "reopened"
    return "edited"


def _fingerprint(issue: IssueSnapshot) -> str:
    content = json.dumps([issue.title, issue.body, sorted(issue.labels)], ensure_ascii=False)
    return f"{issue.state}:{_digest(content)}:{_digest(issue.title)}:{_digest(issue.body)}"


def _changes(previous: str | None, issue: IssueSnapshot) -> dict[str, str]:
    """Which of title and body differ from the last seen fingerprint (none when unknown)."""
    parts = (previous or "").split(":")
    if len(parts) < 4:  # never seen, or a fingerprint from before digests were kept per field
        return {}
    changed = {"title": parts[2] != _digest(issue.title), "body": parts[3] != _digest(issue.body)}
    return {name: "" for name, differs in changed.items() if differs}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
