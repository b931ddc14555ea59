"""Deadlines in real time, run by the leader's loops (``Runtime.background()``).

A variant of the reference charter shortens the feature-flag track to seconds (review 2s,
voting 2s or 3s); the runtime runs on the real ``SystemClock`` with the default tick
(``CHARTERBOT_TICK_SECONDS`` = 1.0). Rules proven: a deadline fires within 5 seconds of being
due, exactly once (one audit entry per transition, still one after a further tick of the
deadlines loop), and a deadline that passed while the bot was down fires at start.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import SystemClock
from bot.leader import AlwaysLeader
from bot.messages import Actor
from charter.deadlines import deadlines
from charter.lifecycle import State
from charter.load import load_charter
from storage import audit, audit_query
from storage.db import session_scope
from tests.bot.harness import Bot, valid_body
from tests.paths import SHARED
from tests.standins.github_server import GitHubStandin

# Seconds, not days. Review keeps two seconds: a proposal must be seen in review, and the
# first process must take it there before it ends. Voting is two seconds where it is waited
# out (the three votes, cast as soon as it opens, land well inside it) and three where it
# must not run out before the test has looked.
REVIEW = timedelta(seconds=2)
VOTING, LONG_VOTING = timedelta(seconds=2), timedelta(seconds=3)
FLAG_BODY = valid_body(**{"### Track\n\nprotocol-change": "### Track\n\nfeature-flag"})
VOTERS = ("alice-aurora", "carmen-borealis", "emeka-cirrus")  # 3 of 5 seats: quorum 0.6
DUE_WITHIN = timedelta(seconds=5)


def fast_charter_file(folder: Path, voting: timedelta) -> Path:
    """The reference charter with the feature-flag track's review and voting in seconds."""
    text = (SHARED / "charter" / "reference-charter.yaml").read_text()
    fast = {
        "review: 2d": f"review: {REVIEW.seconds}s",
        "voting: 3d": f"voting: {voting.seconds}s",
    }
    for old, new in fast.items():
        assert text.count(old) == 1, f"{old!r} must occur once in the reference charter"
        text = text.replace(old, new)
    track = load_charter(text, "fast-charter.yaml").charter.tracks["feature-flag"]
    assert (track.review, track.voting) == (REVIEW, voting)
    path = folder / "fast-charter.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def fast_charter(tmp_path: Path) -> Path:
    return fast_charter_file(tmp_path, VOTING)


@pytest.fixture
def long_voting_charter(tmp_path: Path) -> Path:
    return fast_charter_file(tmp_path, LONG_VOTING)


class CountedTicks:
    """The deadlines step (``Governance.tick``), counting the steps begun and finished."""

    def __init__(self, tick: Callable[[datetime], int]) -> None:
        self._tick = tick
        self.begun = 0
        self.finished = 0

    def __call__(self, now: datetime) -> int:
        self.begun += 1
        try:
            return self._tick(now)
        finally:
            self.finished += 1


def real_time_bot(url: str, github: GitHubStandin, charter: Path) -> tuple[Bot, CountedTicks]:
    """A bot on the real clock, and the count of its deadlines steps. On PostgreSQL the leader
    lock is one advisory lock per database, shared by every test schema on the server, so a
    concurrently running suite could hold it: the test takes leadership for granted there
    (leadership has its own tests)."""
    github.store.now = datetime.now(UTC).replace(microsecond=0)
    bot = Bot(url, github, SystemClock(), charter=str(charter))  # type: ignore[arg-type]
    if bot.rt.engine.url.get_backend_name() == "postgresql":
        bot.rt.leadership = AlwaysLeader()
    ticks = CountedTicks(bot.rt.gov.tick)
    bot.rt.gov.tick = ticks  # type: ignore[method-assign]
    return bot, ticks


async def one_more_tick(ticks: CountedTicks, within: float = 5) -> None:
    """Wait until a deadlines step that began after this call has finished (what a fixed
    sleep of a little over one tick used to stand for: nothing may fire twice)."""
    target = ticks.begun + 1
    deadline = time.monotonic() + within
    while ticks.finished < target:
        assert time.monotonic() < deadline, f"no deadlines step finished within {within} s"
        await asyncio.sleep(0.02)


@pytest.fixture
async def running(
    engine_url: str, github: GitHubStandin, fast_charter: Path
) -> AsyncIterator[tuple[Bot, CountedTicks]]:
    """A real-time bot whose background loops run for the whole test."""
    github.reset()
    bot, ticks = real_time_bot(engine_url, github, fast_charter)
    task = asyncio.create_task(bot.rt.background())
    yield bot, ticks
    await stop(bot, task)


async def stop(bot: Bot, task: asyncio.Task[None]) -> None:
    bot.rt.stop.set()
    await asyncio.wait_for(task, timeout=10)
    await bot.close()


async def open_proposal(bot: Bot) -> int:
    return await bot.open_issue("Enable fast sync", FLAG_BODY, settle=False)


async def wait_for(bot: Bot, n: int, state: State, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        stored = await asyncio.to_thread(bot.gov.load, n)
        if stored is not None and stored.proposal.state is state:
            return
        await asyncio.sleep(0.05)
    stored = bot.gov.load(n)
    seen = stored.proposal.state if stored else None
    raise AssertionError(f"proposal #{n} did not reach {state} in {within} s (it is {seen})")


def transitions(bot: Bot, n: int) -> dict[str, list[Any]]:
    """Audit entries of the proposal by kind: (at, payload) in log order."""
    out: dict[str, list[Any]] = {}
    with session_scope(bot.rt.engine) as session:
        for entry in reversed(audit_query.entries(session, subject=f"proposal:{n}")):
            at = entry.at.astimezone(UTC)
            out.setdefault(entry.kind, []).append((at, json.loads(entry.payload)))
        assert audit.verify(session).ok
    return out


def lag(fired_at: datetime, due_at: datetime) -> timedelta:
    assert fired_at >= due_at, f"fired at {fired_at}, before it was due at {due_at}"
    return fired_at - due_at


async def test_voting_opens_and_closes_on_time_exactly_once(
    running: tuple[Bot, CountedTicks],
) -> None:
    """Review (2 s) ends → voting opens within 5 s; voting (2 s) closes → decided within 5 s;
    each transition has exactly one audit entry, even after more ticks."""
    bot, ticks = running
    n = await open_proposal(bot)
    await wait_for(bot, n, State.REVIEW, within=5)
    await wait_for(bot, n, State.VOTING, within=REVIEW.total_seconds() + 5)
    for login in VOTERS:
        message = await asyncio.to_thread(
            bot.gov.run_sync,
            f"vote {n} approve",
            Actor(login=login, surface="console", display=login),
        )
        assert message.ok, message
    await wait_for(bot, n, State.ACCEPTED, within=VOTING.total_seconds() + 5)
    await one_more_tick(ticks)  # at least one more tick: nothing fires twice

    stored = bot.gov.load(n)
    assert stored is not None and len(stored.proposal.votes) == len(VOTERS)
    d = deadlines(stored.proposal, bot.gov.charter)
    kinds = transitions(bot, n)
    assert len(kinds["review-started"]) == 1
    [(opened_at, opened)] = kinds["voting-opened"]
    [(decided_at, decided)] = kinds["proposal-decided"]
    assert d.review_ends is not None and d.voting_closes is not None
    assert lag(opened_at, d.review_ends) < DUE_WITHIN
    assert lag(decided_at, d.voting_closes) < DUE_WITHIN
    assert (opened["to"], decided["to"], decided["outcome"]) == ("voting", "accepted", "accepted")


async def test_deadline_passed_while_down_fires_at_start(
    engine_url: str, github: GitHubStandin, long_voting_charter: Path
) -> None:
    """A review that ended while no bot ran opens voting within seconds of the next start,
    and exactly once."""
    github.reset()
    first, _ = real_time_bot(engine_url, github, long_voting_charter)
    n = await open_proposal(first)
    await first.settle()  # the first process takes it into review, then goes down
    stored = first.gov.load(n)
    assert stored is not None and stored.proposal.state is State.REVIEW
    review_ends = deadlines(stored.proposal, first.gov.charter).review_ends
    assert review_ends is not None
    await first.close()

    await asyncio.sleep(max(0.0, (review_ends - datetime.now(UTC)).total_seconds()) + 0.5)
    assert (datetime.now(UTC) - review_ends) > timedelta(0)  # overdue before the restart

    second, ticks = real_time_bot(engine_url, github, long_voting_charter)
    started = datetime.now(UTC)
    task = asyncio.create_task(second.rt.background())
    try:
        await wait_for(second, n, State.VOTING, within=5)
        await one_more_tick(ticks)  # at least one more tick: nothing fires twice
        kinds = transitions(second, n)
    finally:
        await stop(second, task)
    [(opened_at, _)] = kinds["voting-opened"]
    assert opened_at - started < DUE_WITHIN
    assert "proposal-decided" not in kinds  # voting (3 s) has not run out yet
