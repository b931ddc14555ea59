"""A change committed while a tracking sync is in flight reaches the tracking comment: the
in-flight item gave up its coalescing key when it was taken, so the change queues a new sync."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import outbox
from storage.db import session_scope
from tests.bot.harness import Bot
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def test_a_vote_counted_during_a_sync_reaches_the_tracking_comment(bot: Bot) -> None:
    n = await bot.open_voting()
    await bot.comment(n, "/vote approve", "alice-aurora")
    bot.rt.worker.process_pending(bot.clock.now())  # alice's vote queues a sync
    edit_comment = bot.gateway.edit_comment
    voted = False

    async def edit_while_dmitri_votes(comment_id: str, body: str) -> None:
        """The GitHub round trip of alice's sync, while the worker (another thread in
        production) commits dmitri's vote."""
        nonlocal voted
        if not voted:
            voted = True
            await bot.comment(n, "/vote reject", "dmitri-borealis")
            bot.rt.worker.process_pending(bot.clock.now())
            with session_scope(bot.rt.engine) as session:
                syncs = [r for r in outbox.listing(session) if r.kind == "sync-github"]
                assert [(r.status, r.key) for r in syncs] == [
                    ("sending", None),
                    ("pending", f"sync-github:{n}:pending"),
                ]
        await edit_comment(comment_id, body)

    bot.gateway.edit_comment = edit_while_dmitri_votes  # type: ignore[method-assign]
    await bot.settle()
    assert voted
    [tracking] = bot.tracking(n)
    assert "alice-aurora" in tracking.body and "dmitri-borealis" in tracking.body
