"""The runtime's GitHub callers under a rate limit, against the GitHub stand-in: the GitHub
relay counts GitHub's wait from the refusal (after the throttle's in-call waits), not from the
start of its step, and the relays and the reconciler that share the token call GitHub for
nothing until that wait is over (notes: platform limits §1, scenario 8)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlmodel import select

from bot.github.issues_relay import IssueRelay
from bot.github.relay import GitHubRelay
from bot.ports import GitHubRateLimited
from storage import outbox
from storage.db import session_scope
from storage.models.core import OutboxRow
from storage.times import aware
from tests.bot.harness import Bot
from tests.standins.github_server import GitHubStandin

_R = TypeVar("_R")


def runtime_relay(bot: Bot, kind: type[_R]) -> _R:
    """The runtime's own relay of that class (wired with the runtime's clock)."""
    steps = [getattr(step, "__self__", None) for step in bot.rt.relays]
    [relay] = [owner for owner in steps if isinstance(owner, kind)]
    return relay


def pass_time(bot: Bot, seconds: float) -> datetime:
    """Time passes for the application and for the throttle (GitHub's wait) alike."""
    bot.clock.advance(timedelta(seconds=seconds))
    bot.sleeps.t += seconds
    return bot.clock.now()


def enqueue(bot: Bot, kind: str, payload: dict[str, Any]) -> None:
    with session_scope(bot.rt.engine) as session:
        outbox.enqueue(session, kind=kind, payload=payload, now=bot.clock.now())


def items(bot: Bot, kind: str) -> list[tuple[str, int, datetime | None]]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.kind == kind)).all()
        return [
            (r.status, r.attempts, aware(r.next_attempt_at) if r.next_attempt_at else None)
            for r in rows
        ]


async def test_the_wait_counts_from_the_refusal_not_from_the_start_of_the_step(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """GitHub answers 429 "retry after 60 s" five times: the throttle waits 4 x 60 s in-call and
    gives up. The item and the relay wait 60 s from that last refusal (not from the step's
    start, which is already 240 s past): nothing is sent at 59 s, everything at 60 s."""
    bot = Bot.fresh(sqlite_url, github)
    try:

        async def sleep(seconds: float) -> None:  # real time passes while the throttle sleeps
            await bot.sleeps.sleep(seconds)
            bot.clock.advance(timedelta(seconds=seconds))

        bot.gateway._throttle._sleep = sleep
        relay = runtime_relay(bot, GitHubRelay)
        number = github.store.add_issue("t", "b").number
        for _ in range(2):
            enqueue(bot, "comment", {"proposal": number, "body": "hi"})
        github.fail_next(5, kind="429", retry_after=60)
        step_began = bot.clock.now()
        assert await relay.run_once(step_began) == 0
        refused_at = bot.clock.now()
        assert refused_at - step_began == timedelta(seconds=240)
        wait = timedelta(seconds=60)
        assert items(bot, "comment") == [
            ("pending", 1, refused_at + wait),  # not step_began + wait: long past by now
            ("pending", 0, step_began),  # not tried: the relay stops at a rate limit
        ]
        asked = len(github.requests)
        assert await relay.run_once(pass_time(bot, 59)) == 0
        assert len(github.requests) == asked, "called GitHub before the 60 s it asked for"
        assert await relay.run_once(pass_time(bot, 1)) == 2
        assert [status for status, _, _ in items(bot, "comment")] == ["sent", "sent"]
    finally:
        await bot.close()


async def test_every_caller_of_the_token_waits_for_github(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """The reconciler's check is refused with "retry after 7200 s". For those 7200 s neither
    relay nor the reconciler sends GitHub anything, and an item a relay would have sent is not
    charged an attempt for it; when the time is up, each goes."""
    bot = Bot.fresh(sqlite_url, github, github_hook_id=github.store.hook_id)
    try:
        reconciler = bot.rt.reconciler
        assert reconciler is not None
        number = github.store.add_issue("t", "b").number
        enqueue(bot, "comment", {"proposal": number, "body": "hi"})
        enqueue(bot, "create-issue", {"key": "retro:1", "title": "Retro", "body": "b"})
        github.fail_next(1, kind="429", retry_after=7200)
        refused_at = bot.clock.now()
        with pytest.raises(GitHubRateLimited):
            await reconciler.run_once(refused_at)
        asked = len(github.requests)
        now = pass_time(bot, 5)
        assert await runtime_relay(bot, GitHubRelay).run_once(now) == 0
        assert await runtime_relay(bot, IssueRelay).run_once(now) == 0
        assert await reconciler.run_once(now) == 0
        assert github.requests[asked:] == []
        allowed = refused_at + timedelta(seconds=7200)
        assert items(bot, "comment") == [("pending", 0, allowed)]
        assert items(bot, "create-issue") == [("pending", 0, allowed)]
        now = pass_time(bot, 7195)
        assert await runtime_relay(bot, GitHubRelay).run_once(now) == 1
        assert await runtime_relay(bot, IssueRelay).run_once(now) == 1
        assert await reconciler.run_once(now) == 0  # nothing was missed; but it did check
        assert any("/hooks/" in r.path for r in github.requests[asked:])
    finally:
        await bot.close()
