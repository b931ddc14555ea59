"""Delivers ``audit-witness`` outbox items: the audit head as a comment on one GitHub issue.

Rules:
- The issue is ``CHARTERBOT_AUDIT_WITNESS_ISSUE`` when set. Otherwise the bot opens one issue
  once and remembers its number (``storage.audit_witness``): before creating it, the attempt
  is recorded; a later attempt first looks for an issue of the bot's holding the hidden
  ``<!-- charterbot:audit-witness-issue -->`` marker, so a crash between GitHub's answer and
  recording the number never opens a second issue. Only the leader runs relays.
- The comment carries the outbox item's hidden marker (``<!-- charterbot:outbox:<id> -->``, as
  the GitHub relay's comments do); a retry first looks for it, so a crash after GitHub created
  the comment but before it was recorded does not post it twice.
- The comment's issue, id and link are recorded on the witness row in the transaction that
  marks the item sent.
- Errors are the GitHub relay's (``bot.github.relay``): a rate limit, a 5xx, a timeout or no
  answer is retried with backoff (a rate limit no sooner than GitHub asked, and this relay
  calls GitHub for nothing else until then); any other 4xx (the configured issue does not
  exist, is locked) fails the item at once and the coordinators are told. Each try counts one
  attempt, counted before calling out.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.clock import Clock
from bot.github.delivery import GitHubDelivery, comment_once
from bot.ports import GitHubError, GitHubGateway
from charter.model import Charter
from storage import audit_witness as store, outbox
from storage.db import session_scope

log = logging.getLogger("charterbot.github.witness")

ISSUE_MARKER = "<!-- charterbot:audit-witness-issue -->"
# How far before the first attempt to open the issue the retry looks for it (clock skew).
LOOK_BACK = timedelta(days=1)


class WitnessRelay:
    def __init__(
        self,
        engine: Engine,
        charter: Charter,
        gateway: GitHubGateway,
        *,
        issue: int | None,
        title: str,
        body: str,
        web_url: str,
        clock: Clock | None = None,
    ) -> None:
        self._engine = engine
        self._gateway = gateway
        self._issue = issue  # configured; None: the bot's own, opened once
        self._title, self._body = title, body
        self._web_url = web_url.rstrip("/")
        self._delivery = GitHubDelivery(
            engine, clock, tell=charter, what=" (audit head)", log=log, noun="audit witness post"
        )

    async def run_once(self, now: datetime) -> int:
        return await self._delivery.run(now, self._due, self._post)

    def _due(self, now: datetime) -> list[tuple[int | None, dict[str, Any], int]]:
        with session_scope(self._engine) as session:
            return [(r.id, outbox.payload(r), r.attempts) for r in store.due_posts(session, now)]

    async def _post(self, item: tuple[int | None, dict[str, Any], int], now: datetime) -> int:
        row_id, data, attempts = item
        with session_scope(self._engine) as session:
            outbox.begin_attempt(session, row_id)  # one try, one attempt
        try:
            number = await self._issue_number(now)
            body = str(data["body"])
            comment_id = await comment_once(self._gateway, row_id, number, body, attempts)
        except (GitHubError, OSError) as exc:
            self._delivery.failed(row_id, now, exc, counted=True)
            return 0
        issue_url = f"{self._web_url}/{self._gateway.charter_repo}/issues/{number}"
        url = f"{issue_url}#issuecomment-{comment_id}"
        with session_scope(self._engine) as session:
            store.mark_posted(
                session, int(data["witness"]), issue=number, comment_id=comment_id, url=url, now=now
            )
            outbox.finish(session, row_id, now, message_id=comment_id, counted=True)
        log.info("audit head %s:%s witnessed on GitHub: %s", data["seq"], data["hash"], url)
        return 1

    async def _issue_number(self, now: datetime) -> int:
        """The configured issue, or the bot's own (opened once, see the rules)."""
        if self._issue is not None:
            return self._issue
        with session_scope(self._engine) as session:
            number, since = store.issue(session)
        if number is not None:
            return number
        found = None
        if since is not None:  # an earlier attempt may have created it
            found = await self._gateway.find_issue_with_marker(ISSUE_MARKER, since - LOOK_BACK)
        if found is not None:
            number = found.number
        else:
            with session_scope(self._engine) as session:
                store.opening_issue(session, now)
            body = f"{self._body}\n\n{ISSUE_MARKER}"
            number = await self._gateway.create_issue(self._title, body)
        with session_scope(self._engine) as session:
            store.remember_issue(session, number, now)
        return number
