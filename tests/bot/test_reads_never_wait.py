"""Read endpoints take a snapshot: the JSON API and /metrics answer while a writer holds
SQLite's write lock, instead of queueing behind it (and in front of the writers that
acknowledge webhook deliveries)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from storage import state
from storage.db import session_scope
from tests.bot.harness import Bot
from tests.standins.github_server import GitHubStandin

HOLD = 3.0  # how long the writer keeps its transaction open


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


@contextmanager
def writer_holding(bot: Bot) -> Iterator[None]:
    """A writer in another thread that has written and holds its transaction for HOLD s."""
    started, done = threading.Event(), threading.Event()

    def write() -> None:
        with session_scope(bot.rt.engine) as session:
            state.put(session, "test-hold", True, datetime.now(UTC))
            session.flush()
            started.set()
            done.wait(HOLD)

    thread = threading.Thread(target=write, name="holding-writer")
    thread.start()
    try:
        assert started.wait(10), "the writer never got the lock"
        yield
    finally:
        done.set()
        thread.join()


READS = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/proposals",
    "/api/proposals/1",
    "/api/status",
    "/feeds/announcements.atom",
    "/calendar.ics",
    "/",
    "/proposals",
    "/proposals/1",
    "/rollouts",
    "/meetings",
    "/incidents",
    "/audit",
]


@pytest.mark.parametrize("path", READS)
async def test_a_read_does_not_wait_for_a_writer(bot: Bot, path: str) -> None:
    await bot.http.get(path)  # warm: the first request builds what it caches
    with writer_holding(bot):
        began = time.monotonic()
        response = await asyncio.wait_for(bot.http.get(path), HOLD * 2)
        waited = time.monotonic() - began
    assert response.status_code in (200, 404)
    assert waited < HOLD / 2, f"{path} waited {waited:.1f} s for the writer"


async def test_resolving_a_chat_user_does_not_wait_for_a_writer(bot: Bot) -> None:
    """Every chat command starts by looking up who sent it: that lookup is a read too."""
    with writer_holding(bot):
        began = time.monotonic()
        actor = await asyncio.wait_for(bot.gov.identity("slack", "U0NOBODY", "nobody"), HOLD * 2)
        waited = time.monotonic() - began
    assert actor.login is None
    assert waited < HOLD / 2, f"the lookup waited {waited:.1f} s for the writer"
