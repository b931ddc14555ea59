"""Delivers the outbox's GitHub items: tracking comments and labels, comments, issues.

Rules:
- ``sync-github``: render the tracking comment from the state current *now* (so a burst of
  changes costs one edit) and edit it only when its text changed; labels follow the state,
  even when the comment step fails. The comment id is stored before the item is marked sent;
  a tracking comment someone deleted (the edit answers 404) is forgotten and posted anew.
- ``comment``: every body carries a hidden marker with the outbox id; before posting a retry,
  the relay looks for that marker, so a crash after GitHub created the comment but before we
  recorded it does not post it twice. A body cut to GitHub's size limit when it was queued
  (``cut``) gets the proposal's page as the full record, when a public URL is set.
- ``agenda-issue``: one GitHub issue per meeting occurrence, created once (found again by its
  hidden ``<!-- charterbot:agenda:<key> -->`` marker after a crash), its number stored before the
  item is marked sent, and edited in place only when the body differs from what it holds.
- Errors: a rate limit, a 5xx, a timeout or no answer is retried with backoff
  (``storage.outbox``); a rate limit the throttle gave up on is retried no sooner than GitHub
  asked, counted from when the refusal was handled (the relay's clock read after the call: the
  throttle may have waited minutes in-call), and the relay calls GitHub for nothing else until
  then. The throttle holds every caller sharing it as well (``bot.github.ratelimit``): a call
  it refused without making (``RateLimitHeld``) is not a try and does not use up an attempt.
  Any other 4xx (404 issue gone, 410, 422 invalid, 401, a 403 without rate-limit meaning)
  cannot succeed by repeating it: the item fails at once with the error recorded, and the
  coordinators get a ``notify`` item in the same transaction.
- Every try counts one attempt, counted before calling out (``outbox.begin_attempt``).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.clock import Clock
from bot.comment_size import point_to
from bot.github.delivery import GitHubDelivery, comment_once
from bot.github.tracking import ALL_STATE_LABELS, MARKER, labels_for, render
from bot.metrics import METRICS
from bot.ports import GitHubError, GitHubGateway
from bot.views import proposal_view
from charter.model import Charter
from storage import (
    agendas as agenda_store,
    feedback as feedback_store,
    outbox,
    proposals as repo,
)
from storage.db import session_scope
from storage.models.core import OutboxRow, TrackingMessageRow
from storage.times import aware

log = logging.getLogger("charterbot.github.relay")

KINDS = ("sync-github", "comment", "agenda-issue")


class GitHubRelay:
    def __init__(
        self,
        engine: object,
        charter: Charter,
        gateway: GitHubGateway,
        public_url: str = "",
        *,
        clock: Clock | None = None,
    ) -> None:
        self._engine = engine
        self._charter = charter
        self._gateway = gateway
        self._public_url = public_url
        self._delivery = GitHubDelivery(
            engine,  # type: ignore[arg-type]
            clock,
            tell=charter,
            log=log,
            noun="github delivery",
        )

    async def run_once(self, now: datetime) -> int:
        return await self._delivery.run(now, self._due, self._deliver)

    def _due(self, now: datetime) -> list[int | None]:
        with session_scope(self._engine) as session:  # type: ignore[arg-type]
            return [r.id for r in outbox.due(session, now=now, limit=200) if r.kind in KINDS]

    async def _deliver(self, row_id: int | None, now: datetime) -> int:
        with session_scope(self._engine) as session:  # type: ignore[arg-type]
            row = session.get(OutboxRow, row_id)
            if row is None or row.status not in ("pending", "sending"):
                return 0
            kind, data, attempts = row.kind, outbox.payload(row), row.attempts
            created = aware(row.created_at)
            outbox.begin_attempt(session, row_id)  # one try, one attempt; see the rules above
        try:
            if kind == "sync-github":
                message_id = await self._sync(int(data["proposal"]), now)
            elif kind == "agenda-issue":
                message_id = await self._agenda_issue(data, created, now)
            else:
                number, body = int(data["proposal"]), str(data["body"])
                if data.get("cut"):
                    body = point_to(body, self._page(number))
                message_id = await comment_once(self._gateway, row_id, number, body, attempts)
        except (GitHubError, OSError) as exc:
            self._delivery.failed(row_id, now, exc, counted=True)
            return 0
        self._delivery.sent(row_id, now, message_id)
        METRICS.delivery_latency.labels(kind="github").observe(
            max(0.0, (now - created).total_seconds())
        )
        return 1

    async def _sync(self, number: int, now: datetime) -> str | None:
        with session_scope(self._engine) as session:  # type: ignore[arg-type]
            stored = repo.load(session, number)
            if stored is None:
                return None
            requests = feedback_store.open_for(session, number)
            view = proposal_view(stored, self._charter, now, requests)
            tracked = session.get(TrackingMessageRow, (number, "github"))
            known = (tracked.message_id, tracked.body_sha256) if tracked else None
        body = render(view, now, self._public_url)
        digest = hashlib.sha256(body.encode()).hexdigest()
        message_id = known[0] if known else None
        if known is None:
            found = await self._gateway.find_comment_with_marker(number, MARKER)
            message_id = found.comment_id if found else None
            digest_matches = found is not None and found.body == body
        else:
            digest_matches = known[1] == digest
        try:
            if message_id is not None and not digest_matches:
                try:
                    await self._gateway.edit_comment(message_id, body)
                except GitHubError as exc:
                    if exc.status != 404:
                        raise
                    message_id = None  # someone deleted it: forget it and post a new one
                    self._forget(number)
            if message_id is None:
                message_id = await self._gateway.create_comment(number, body)
            self._remember(number, message_id, digest, now)
        except (GitHubError, OSError):
            # The labels still follow the state; the comment step is retried or reported.
            try:
                await self._labels(number, view["state"])
            except (GitHubError, OSError) as exc:
                log.warning("labels of #%s not set after a failed sync: %s", number, exc)
            raise
        await self._labels(number, view["state"])
        return message_id

    def _page(self, number: int) -> str:
        """The proposal's dashboard page ("" without a public URL)."""
        return f"{self._public_url.rstrip('/')}/proposals/{number}" if self._public_url else ""

    def _forget(self, number: int) -> None:
        with session_scope(self._engine) as session:  # type: ignore[arg-type]
            row = session.get(TrackingMessageRow, (number, "github"))
            if row is not None:
                session.delete(row)

    def _remember(self, number: int, message_id: str, digest: str, now: datetime) -> None:
        with session_scope(self._engine) as session:  # type: ignore[arg-type]
            _save_tracking(session, number, message_id, digest, now)

    async def _labels(self, number: int, state: str) -> None:
        want = labels_for(state)
        issue = await self._gateway.get_issue(number)
        have = set(issue.labels)
        add = tuple(label for label in want if label not in have)
        remove = tuple(label for label in ALL_STATE_LABELS if label in have and label not in want)
        if add or remove:
            await self._gateway.set_labels(number, add, remove)

    async def _agenda_issue(self, data: dict[str, Any], created: datetime, now: datetime) -> str:
        """One issue per occurrence: found again by its marker if a crash left it unrecorded;
        its number is stored before the item is marked sent; edited only when the body changed."""
        key, title, body = str(data["occurrence_key"]), str(data["title"]), str(data["body"])
        digest = hashlib.sha256(body.encode()).hexdigest()
        with session_scope(self._engine) as session:  # type: ignore[arg-type]
            known = agenda_store.agenda_issue(session, key)
            number = known.issue_number if known else 0
            same = known is not None and known.body_sha256 == digest
        if known is None:
            marker = f"<!-- charterbot:agenda:{key} -->"
            found = await self._gateway.find_issue_with_marker(marker, created - timedelta(days=1))
            if found is None:
                number = await self._gateway.create_issue(title, body, ("meeting-agenda",))
            same = found is None or (found.body == body and found.title == title)
            self._remember_agenda(key, found.number if found else number, digest, same, now)
            number = found.number if found else number
        if not same:
            await self._gateway.edit_issue(number, title=title, body=body)
            self._remember_agenda(key, number, digest, True, now)
        return str(number)

    def _remember_agenda(
        self, key: str, number: int, digest: str, same: bool, now: datetime
    ) -> None:
        with session_scope(self._engine) as session:  # type: ignore[arg-type]
            agenda_store.save_agenda_issue(session, key, number, digest if same else "", now)


def _save_tracking(
    session: Session, number: int, message_id: str, digest: str, now: datetime
) -> None:
    row = session.get(TrackingMessageRow, (number, "github"))
    if row is None:
        row = TrackingMessageRow(
            proposal=number,
            surface="github",
            message_id=message_id,
            body_sha256=digest,
            updated_at=now,
        )
    else:
        row.message_id, row.body_sha256, row.updated_at = message_id, digest, now
    session.add(row)
