"""The tally's reason says what is true of a proposal's voting in every state.

``show`` / ``status`` print it after the counts ("Votes: 0 approve … of 5 seats — <reason>"),
and the API serves it: a proposal withdrawn before voting opened must not read as if voting
may still open, and one withdrawn while voting was open must not read "voting open until …".
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.messages import Actor, plain_text
from tests.bot.harness import Bot, later
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


def _run(bot: Bot, text: str, login: str = "alice-aurora") -> str:
    actor = Actor(login=login, surface="slack", surface_id=f"U-{login}", display=login)
    return plain_text(bot.gov.run_sync(text, actor, bot.clock.now()))


async def _reason(bot: Bot, n: int) -> str:
    reason: str = (await bot.http.get(f"/api/proposals/{n}")).json()["tally"]["reason"]
    return reason


@pytest.mark.parametrize(
    ("voting", "withdraw", "reason"),
    [
        (False, False, "voting has not opened"),
        (False, True, "withdrawn before voting opened"),
        (True, True, "withdrawn while voting was open; voting closed at "),
        (True, False, "voting open until "),
    ],
    ids=["review", "withdrawn-in-review", "withdrawn-in-voting", "voting"],
)
async def test_the_votes_line_says_how_voting_stands(
    bot: Bot, voting: bool, withdraw: bool, reason: str
) -> None:
    n = await (bot.open_voting() if voting else bot.open_issue())
    await bot.settle()
    if voting:
        await bot.comment(n, "/vote approve", "carmen-borealis")
        await bot.settle()
    if withdraw:
        await bot.advance(later(seconds=60))
        assert "withdrawn" in _run(bot, f"withdraw {n}")
        await bot.settle()
    assert (await _reason(bot, n)).startswith(reason)
    for command in (f"show {n}", f"status {n}"):
        [line] = [row for row in _run(bot, command).splitlines() if row.startswith("Votes:")]
        assert f"seats — {reason}" in line
        if withdraw:
            assert "not opened" not in line and "open until" not in line
