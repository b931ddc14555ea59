"""A restart never loses a deadline, nor the votes cast before it while the bot was down.

After a start (and each time the process becomes leader) voting closes wait until GitHub
intake has caught up once: a complete poll in poll mode, a complete reconcile pass in webhook
mode with the hook id, then the inbox drained of what was stored by then
(``bot.intake_gate.IntakeGate``). The deadline tick is a local step and the GitHub reads are
round trips, so without the gate the tick wins and an in-time vote is refused as "closed".
Review ends do not wait; GitHub off waits for nothing; a GitHub that cannot be read holds the
closes for ``INTAKE_CATCH_UP_LIMIT`` at most, with a warning naming why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.intake_gate import INTAKE_CATCH_UP_LIMIT, CatchUp, catch_up
from storage import proposals as repo
from storage.db import read_scope
from tests.bot.harness import START, Bot, later, valid_body
from tests.standins.github_server import GitHubStandin

CLIENTS = ("alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado")
LAST = "hana-eridanus"  # the fifth client: protocol-change needs every client to approve
LIMIT = INTAKE_CATCH_UP_LIMIT


@pytest.mark.parametrize(
    ("behind", "waited", "verdict"),
    [
        (None, timedelta(0), CatchUp.WAITING),  # GitHub not read yet
        (None, LIMIT - timedelta(seconds=1), CatchUp.WAITING),
        (None, LIMIT, CatchUp.GAVE_UP),  # unreachable or rate-limited for too long
        (3, timedelta(seconds=5), CatchUp.WAITING),  # read; its deliveries not processed yet
        (3, LIMIT + timedelta(hours=1), CatchUp.GAVE_UP),  # deliveries failing meanwhile
        (0, timedelta(0), CatchUp.CAUGHT_UP),
        (0, LIMIT + timedelta(hours=1), CatchUp.CAUGHT_UP),
    ],
)
def test_catch_up(behind: int | None, waited: timedelta, verdict: CatchUp) -> None:
    assert catch_up(behind, waited, LIMIT) is verdict


def _state(bot: Bot, n: int) -> str:
    with read_scope(bot.rt.engine) as session:
        stored = repo.load(session, n)
    assert stored is not None
    return stored.proposal.state.value


async def _poll(bot: Bot) -> int:
    stored = await bot.rt._poll(bot.clock.now())
    await bot.settle()
    return stored


async def _deadline_missed(
    url: str,
    github: GitHubStandin,
    vote: Callable[[Bot, int, datetime], Awaitable[None]],
    **settings: Any,
) -> tuple[int, FixedClock]:
    """A protocol change with four of five clients approving; the bot goes down two hours
    before voting closes, ``vote`` records the fifth approve an hour before it (GitHub has it,
    the bot does not), and the clock ends an hour after the deadline, the bot still down."""
    github.reset()
    clock = FixedClock(START)
    bot = Bot(url, github, clock, **settings)
    github.store.now = clock.now()
    issue = github.store.add_issue("Gas", valid_body(), "alice-aurora", ("upgrade-proposal",))
    n = issue.number
    polled = settings.get("github_mode") == "poll"
    if polled:
        await _poll(bot)
    else:
        payload = bot.issue_payload("opened", n, valid_body(), title="Gas")
        assert (await bot.post("issues", payload)).status_code == 202
        await bot.settle()
    await bot.advance(later(days=7, seconds=1))
    for login in CLIENTS:
        if polled:
            github.store.add_comment(n, "/vote approve", login)
        else:
            await bot.comment(n, "/vote approve", login)
    for _ in range(4 if polled else 1):
        await _poll(bot) if polled else await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    closes = datetime.fromisoformat(view["deadlines"]["voting_closes"])
    clock.advance(closes - clock.now() - later(hours=2))
    await bot.close()
    clock.advance(later(hours=1))
    github.store.now = clock.now()
    await vote(bot, n, clock.now())
    clock.advance(later(hours=2))
    github.store.now = clock.now()
    return n, clock


async def _commented(bot: Bot, n: int, at: datetime) -> None:
    """The fifth approve, a comment on GitHub (poll mode reads it from there)."""
    bot.standin.store.add_comment(n, "/vote approve", LAST)


async def _delivery_failed(bot: Bot, n: int, at: datetime) -> None:
    """The fifth approve, a webhook delivery GitHub could not make (the bot was down)."""
    payload = bot.comment_payload("created", n, "/vote approve", LAST, created=at)
    bot.standin.store.add_delivery("issue_comment", payload, 0)


async def test_poll_mode_reads_github_before_a_missed_deadline_closes(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """The deadlines step runs before the first poll: it holds the close; the poll brings the
    vote, the inbox is drained, and then the close counts it."""
    settings: dict[str, Any] = {"github_mode": "poll", "deadline_grace_seconds": 90}
    n, clock = await _deadline_missed(sqlite_url, github, _commented, **settings)
    bot = Bot(sqlite_url, github, clock, **settings)
    try:
        bot.gov.tick(clock.now())  # the deadlines loop's first step
        assert _state(bot, n) == "voting"
        assert await _poll(bot) >= 1
        assert _state(bot, n) == "accepted"
        assert not [c for c in bot.issue_comments(n) if f"@{LAST} error:" in c.body]
    finally:
        await bot.close()


async def test_the_leaders_loops_read_github_before_a_missed_deadline_closes(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """The same with the runtime's own loops, started together as the leader starts them."""
    settings: dict[str, Any] = {"github_mode": "poll", "deadline_grace_seconds": 90}
    n, clock = await _deadline_missed(sqlite_url, github, _commented, **settings)
    bot = Bot(sqlite_url, github, clock, **settings)
    tasks = bot.rt._start_loops()
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if _state(bot, n) != "voting":
                break
    finally:
        bot.rt.stop.set()
        await bot.rt._wind_down(tasks)
    await bot.settle()
    try:
        assert _state(bot, n) == "accepted"
        assert LAST in {v.voter for v in bot.gov.load(n).proposal.votes}  # type: ignore[union-attr]
    finally:
        await bot.close()


async def test_webhook_mode_reconciles_before_a_missed_deadline_closes(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """With the hook id, the vote GitHub failed to deliver while the bot was down is recovered
    by the first reconcile pass, before the close."""
    settings: dict[str, Any] = {"github_hook_id": github.store.hook_id}
    n, clock = await _deadline_missed(sqlite_url, github, _delivery_failed, **settings)
    bot = Bot(sqlite_url, github, clock, **settings)
    try:
        [reconcile] = [step for name, step, _ in bot.rt.loop_specs() if name == "reconcile"]
        await bot.settle()
        assert _state(bot, n) == "voting"
        assert await reconcile(clock.now()) == 1
        await bot.settle()
        assert _state(bot, n) == "accepted"
    finally:
        await bot.close()


async def test_a_reconcile_pass_held_by_the_rate_limit_is_no_catch_up(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """A pass GitHub's hold kept from listing anything read nothing: the close keeps waiting
    for a pass that completes, which recovers the vote."""
    settings: dict[str, Any] = {"github_hook_id": github.store.hook_id}
    n, clock = await _deadline_missed(sqlite_url, github, _delivery_failed, **settings)
    bot = Bot(sqlite_url, github, clock, **settings)
    try:
        [reconcile] = [step for name, step, _ in bot.rt.loop_specs() if name == "reconcile"]
        bot.gateway._throttle._block(3600.0, 429, "secondary rate limit")
        assert await reconcile(clock.now()) == 0
        assert bot.rt.reconciler is not None and "rate limit" in bot.rt.reconciler.incomplete
        await bot.settle()
        assert _state(bot, n) == "voting"
        bot.gateway._throttle._blocked_until = 0.0  # GitHub's wait is over
        clock.advance(later(seconds=bot.rt.settings.github_reconcile_seconds))  # next pass
        assert await reconcile(clock.now()) == 1
        assert bot.rt.reconciler.incomplete == ""
        await bot.settle()
        assert _state(bot, n) == "accepted"
    finally:
        await bot.close()


async def test_deliveries_stored_before_a_restart_are_processed_before_the_close(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """Webhook mode without the hook id has nothing to fetch, but a vote the previous
    process stored and did not process yet is still counted before the close."""

    async def stored_unprocessed(bot: Bot, n: int, at: datetime) -> None:
        reopened = Bot(sqlite_url, github, FixedClock(at))
        try:
            await reopened.comment(n, "/vote approve", LAST)  # acknowledged, not processed
        finally:
            await reopened.close()

    n, clock = await _deadline_missed(sqlite_url, github, stored_unprocessed)
    bot = Bot(sqlite_url, github, clock)
    try:
        bot.gov.tick(clock.now())
        assert _state(bot, n) == "voting"
        await bot.settle()  # the inbox first, then the deadlines
        assert _state(bot, n) == "accepted"
    finally:
        await bot.close()


async def test_github_unreadable_holds_the_close_for_the_limit_and_says_why(
    sqlite_url: str, github: GitHubStandin, caplog: pytest.LogCaptureFixture
) -> None:
    """GitHub holds the token (rate limit): no poll completes. The close waits
    ``INTAKE_CATCH_UP_LIMIT`` and then fires, with a warning naming the reason."""
    settings: dict[str, Any] = {"github_mode": "poll"}
    n, clock = await _deadline_missed(sqlite_url, github, _commented, **settings)
    bot = Bot(sqlite_url, github, clock, **settings)
    caplog.set_level(logging.INFO, logger="charterbot")
    try:
        bot.gateway._throttle._block(3600.0, 429, "secondary rate limit")
        assert await _poll(bot) == 0
        await bot.advance(LIMIT - timedelta(seconds=1))
        assert _state(bot, n) == "voting"
        assert "has not caught up" not in caplog.text
        await bot.advance(timedelta(seconds=1))
        assert _state(bot, n) == "expired"  # the fifth vote never came in
        [warning] = [r for r in caplog.records if "has not caught up" in r.getMessage()]
        assert warning.levelno == logging.WARNING
        assert "rate limit" in warning.getMessage()
    finally:
        await bot.close()


async def test_review_ends_while_the_closes_wait(sqlite_url: str, github: GitHubStandin) -> None:
    """Only voting closes wait for intake: a review that ended while the bot was down opens
    voting at the first tick."""
    github.reset()
    clock = FixedClock(START)
    bot = Bot(sqlite_url, github, clock, github_mode="poll")
    github.store.now = clock.now()
    github.store.add_issue("Gas", valid_body(), "alice-aurora", ("upgrade-proposal",))
    await _poll(bot)
    await bot.close()
    clock.advance(later(days=8))
    bot = Bot(sqlite_url, github, clock, github_mode="poll")
    try:
        assert bot.rt.intake is not None and not bot.rt.intake.is_open
        assert bot.gov.tick(clock.now()) == 1
        assert _state(bot, 1) == "voting"
    finally:
        await bot.close()


async def test_each_leadership_waits_again_and_github_off_never_waits(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """Becoming leader again (another process led meanwhile) closes the gate again; with
    GitHub off there is no gate."""
    bot = Bot.fresh(sqlite_url, github, github_mode="poll")
    try:
        gate = bot.rt.intake
        assert gate is not None and not gate.is_open
        assert not bot.gov.closes_may_fire(bot.clock.now())
        await _poll(bot)
        assert bot.gov.closes_may_fire(bot.clock.now()) and gate.is_open
        for hook in bot.rt.on_lead:
            hook()
        assert not gate.is_open
    finally:
        await bot.close()
    off = Bot.fresh(sqlite_url, github, github_mode="off")
    try:
        assert off.rt.intake is None
        assert off.gov.closes_may_fire(off.clock.now())
    finally:
        await off.close()
