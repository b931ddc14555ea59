"""How a GitHub relay gets outbox items through: what a failed call does to the item, and how
a rate limit holds the relay. Shared by ``bot.github.relay``, ``bot.github.issues_relay`` and
``bot.github.witness_relay``.

Rules:
- A 4xx answer other than a rate limit or a request timeout (404 gone, 410, 422 invalid, 401,
  a 403 without rate-limit meaning) cannot succeed by repeating the call: the item fails at
  once with ``permanent: <error>`` recorded and, for a relay that tells the coordinators, a
  ``notify`` item for them in the same transaction.
- Anything else (a rate limit, a 5xx, a timeout, no answer) is retried with backoff
  (``storage.outbox``); a rate limit's known wait (``retry_after``) wins.
- A rate limit with a known wait (the throttle gave up, ``RateLimitExhausted``, or refused to
  call, ``RateLimitHeld``) holds the relay: it calls GitHub for nothing until GitHub's wait is
  over, counted from when the refusal was handled: the relay's clock read after the call (the
  throttle may have waited minutes in-call), or the step's ``now`` without a clock. A later
  refusal extends the hold, never shortens it. The relay keeps this hold in its own time (the
  step's ``now``), besides the throttle's (``bot.github.ratelimit``, by the throttle's clock),
  so a held step touches no item at all: the throttle's refusal would reschedule each one.
- Each try counts one attempt: counted before calling out (``counted``) or else when the try
  fails. A call the throttle refused without making (``RateLimitHeld``) is no try: an attempt
  counted for it is given back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from bot.clock import Clock
from bot.github.ratelimit import RateLimitHeld
from bot.notify_plan import failure_audience
from bot.ports import GitHubError, GitHubGateway, GitHubRateLimited
from charter.model import Charter
from storage import outbox
from storage.db import session_scope
from storage.models.core import OutboxRow

T = TypeVar("T")

# 4xx answers that may pass: a request timeout and a rate limit without the throttle's verdict.
_TRANSIENT_4XX = (408, 429)


def permanent(exc: BaseException) -> bool:
    """Whether repeating the call cannot help: a 4xx answer other than a rate limit."""
    if isinstance(exc, GitHubRateLimited) or not isinstance(exc, GitHubError):
        return False
    return 400 <= exc.status < 500 and exc.status not in _TRANSIENT_4XX


def later(now: datetime, clock: Clock | None) -> datetime:
    """The time after a call: the clock's, unless it is behind the step's ``now``. Without a
    clock (a relay driven by hand) the step's ``now``: the throttle still holds every call
    until GitHub's wait is over, by its own clock."""
    return now if clock is None else max(now, clock.now())


class GitHubDelivery:
    """One relay's rate-limit hold and its way with items whose call failed (see the rules).

    ``tell``: the charter whose coordinators hear of an item failed for good (None: nobody is
    told); ``what`` follows the item's id in what they are told. ``log``/``noun``: where and
    under which name failures are logged (None: not logged)."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock | None,
        *,
        tell: Charter | None = None,
        what: str = "",
        log: logging.Logger | None = None,
        noun: str = "",
    ) -> None:
        self._engine = engine
        self._clock = clock  # read after a call (the runtime passes its own)
        self._tell, self._what = tell, what
        self._log, self._noun = log, noun
        self._until: datetime | None = None  # GitHub's rate limit: no calls before

    def held(self, now: datetime) -> bool:
        """Whether GitHub's last rate limit still holds the relay at ``now``."""
        return self._until is not None and now < self._until

    async def run(
        self,
        now: datetime,
        due: Callable[[datetime], Iterable[T]],
        deliver: Callable[[T, datetime], Awaitable[int]],
    ) -> int:
        """Deliver the due items in order until a rate limit holds the relay (every further
        call would be refused the same way); none are even read while it holds. How many were
        delivered."""
        if self.held(now):
            return 0
        done = 0
        for item in due(now):
            if self.held(now):
                break
            done += await deliver(item, now)
        return done

    def sent(self, row_id: int | None, now: datetime, message_id: str | None) -> None:
        with session_scope(self._engine) as session:
            outbox.finish(session, row_id, now, message_id=message_id)

    def failed(
        self, row_id: int | None, now: datetime, exc: BaseException, *, counted: bool
    ) -> None:
        """The call for item ``row_id`` in the step of ``now`` failed: fail the item for good or
        retry it later, dated after the call (it may have taken minutes: in-call waits).
        ``counted``: the try was counted before calling out."""
        after = later(now, self._clock)
        if permanent(exc):
            self._fail(row_id, after, f"permanent: {exc}", counted=counted)
            return
        self._extend(after, getattr(exc, "retry_after", None))
        with session_scope(self._engine) as session:
            retrying = _retry_later(session, row_id, after, exc, counted=counted)
            if not retrying:  # its tries ran out (storage.outbox's policy): given up
                self._tell_failed(session, row_id, after, f"given up: {exc}")
        if self._log is not None and retrying:
            self._log.warning("%s %s failed, retried later: %s", self._noun, row_id, exc)
        elif self._log is not None:
            self._log.warning("%s %s failed for good (tries ran out): %s", self._noun, row_id, exc)

    def _extend(self, after: datetime, retry: float | None) -> None:
        """Hold the relay for GitHub's wait from ``after``; a hold is never shortened."""
        if retry is not None:
            until = after + timedelta(seconds=retry)
            self._until = max(until, self._until or until)

    def _fail(self, row_id: int | None, now: datetime, error: str, *, counted: bool) -> None:
        """Record a failure for good and tell the coordinators, in one transaction."""
        with session_scope(self._engine) as session:
            outbox.finish(session, row_id, now, error=error, counted=counted)
            self._tell_failed(session, row_id, now, error)
        if self._log is not None:
            self._log.warning("%s %s failed for good: %s", self._noun, row_id, error)

    def _tell_failed(self, session: Session, row_id: int | None, now: datetime, error: str) -> None:
        """Queue the coordinators' notice that item ``row_id`` failed for good (once)."""
        if self._tell is not None:
            text = f"GitHub delivery o{row_id}{self._what} failed and will not be retried: "
            roles = list(failure_audience(self._tell))
            payload = {"roles": roles, "text": text + error}
            key = f"notify:github-failed:{row_id}"
            outbox.enqueue(session, kind="notify", payload=payload, now=now, key=key)


def _retry_later(
    session: Session, row_id: int | None, now: datetime, exc: BaseException, *, counted: bool
) -> bool:
    """Back off (a rate limit's known wait, ``retry_after``, wins); False when its tries ran
    out (given up). A call the throttle held back never reached GitHub: it is no try, so the
    attempt counted for it before calling out (``counted``) is given back."""
    retry: float | None = getattr(exc, "retry_after", None)
    if isinstance(exc, RateLimitHeld):
        row = session.get(OutboxRow, row_id)
        if counted and row is not None:
            row.attempts = max(row.attempts - 1, 0)
        counted = True  # nothing to count
    return outbox.retry_later(session, row_id, now, str(exc), retry, counted=counted)


async def comment_once(
    gateway: GitHubGateway, row_id: int | None, number: int, body: str, attempts: int
) -> str:
    """Post ``body`` on issue ``number`` once for outbox item ``row_id``: it carries the item's
    hidden marker, and a retry (``attempts`` > 0) first looks for it, so a crash after GitHub
    created the comment but before it was recorded does not post it twice. The comment's id."""
    marker = f"<!-- charterbot:outbox:{row_id} -->"
    if attempts > 0:  # a previous try may have reached GitHub: reconcile by marker
        found = await gateway.find_comment_with_marker(number, marker)
        if found is not None:
            return found.comment_id
    return await gateway.create_comment(number, f"{body}\n\n{marker}")
