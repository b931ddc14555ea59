"""Delivers ``create-issue`` outbox items: post-incident reviews, retrospectives.

Rules:
- Each issue is created once: its body carries ``<!-- charterbot:issue:<key> -->`` and, before a
  retry, the relay looks for that marker, so a crash after GitHub created the issue but before we
  recorded it does not create a second one.
- Errors are those of the GitHub relay (``bot.github.relay``): a rate limit, a 5xx or no answer
  is retried with backoff, any other 4xx fails the item at once, and the coordinators are told
  (given the charter), as of any GitHub delivery that failed for good; each try counts one
  attempt.
  A rate limit holds this relay as it holds the GitHub relay: the item is retried no sooner
  than GitHub asked, counted from after the call, and nothing else is sent until then (the
  shared throttle refuses to call meanwhile anyway, for every caller of the token).
- An item marked ``confidential`` waits (it is not attempted) until its proposal is disclosed;
  the item names its proposal in ``proposal`` or in its key (``retrospective:<n>``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.clock import Clock
from bot.github.delivery import GitHubDelivery
from bot.ports import GitHubError, GitHubGateway
from charter.model import Charter
from storage import outbox, proposals as repo
from storage.db import session_scope
from storage.models.core import OutboxRow

log = logging.getLogger("charterbot.github.issues")

KIND = "create-issue"
HOLD = timedelta(minutes=5)  # how often a held confidential item is looked at again


class IssueRelay:
    def __init__(
        self,
        engine: Engine,
        gateway: GitHubGateway,
        *,
        clock: Clock | None = None,
        charter: Charter | None = None,
    ) -> None:
        self._engine = engine
        self._gateway = gateway
        self._delivery = GitHubDelivery(
            engine, clock, tell=charter, what=" (a new issue)", log=log, noun="issue delivery"
        )

    async def run_once(self, now: datetime) -> int:
        return await self._delivery.run(now, self._due, self._take)

    def _due(self, now: datetime) -> list[tuple[int | None, dict[str, Any], int]]:
        with session_scope(self._engine) as session:
            return [
                (r.id, outbox.payload(r), r.attempts)
                for r in outbox.due(session, now=now, limit=100)
                if r.kind == KIND
            ]

    async def _take(self, item: tuple[int | None, dict[str, Any], int], now: datetime) -> int:
        row_id, data, attempts = item
        if data.get("confidential") and not self._disclosed(data):
            self._hold(row_id, now)
            return 0
        return await self._create(row_id, data, attempts, now)

    def _disclosed(self, data: dict[str, Any]) -> bool:
        number = data.get("proposal")
        if number is None and str(data.get("key", "")).startswith("retrospective:"):
            number = int(str(data["key"]).split(":", 1)[1])
        if number is None:
            return False
        with session_scope(self._engine) as session:
            stored = repo.load(session, int(number))
        return stored is not None and stored.disclosed

    def _hold(self, row_id: int | None, now: datetime) -> None:
        with session_scope(self._engine) as session:
            row = session.get(OutboxRow, row_id)
            if row is not None:
                row.next_attempt_at = now + HOLD
                row.last_error = "held: confidential until the proposal is disclosed"
                session.add(row)

    async def _create(
        self, row_id: int | None, data: dict[str, Any], attempts: int, now: datetime
    ) -> int:
        marker = f"<!-- charterbot:issue:{data['key']} -->"
        counted = False  # the try is counted once: before creating, or when it ends
        try:
            number: int | None = None
            if attempts > 0:
                found = await self._gateway.find_issue_with_marker(marker)
                number = found.number if found is not None else None
            if number is None:
                with session_scope(self._engine) as session:
                    outbox.begin_attempt(session, row_id)
                counted = True
                body = f"{data['body']}\n\n{marker}"
                number = await self._gateway.create_issue(
                    data["title"], body, tuple(data.get("labels", ()))
                )
        except (GitHubError, OSError) as exc:
            self._delivery.failed(row_id, now, exc, counted=counted)
            return 0
        self._delivery.sent(row_id, now, str(number))
        return 1
