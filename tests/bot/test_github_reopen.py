"""Reopening a withdrawn proposal's issue, and closing someone else's proposal: what is said.

Before, a ``reopened`` delivery for the issue of a proposal its author had withdrawn (by
closing it) was applied silently: the proposal stayed withdrawn and nobody was told. And a
close by someone who may not withdraw answered with who may withdraw it twice over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot.harness import Bot, later, valid_body
from tests.bot.test_github_close import closed_payload
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def _state(bot: Bot, n: int) -> str:
    return str((await bot.http.get(f"/api/proposals/{n}")).json()["state"])


def _said(bot: Bot, n: int, start: str) -> list[str]:
    return [c.body.replace("\\", "") for c in bot.issue_comments(n) if start in c.body]


async def test_reopening_a_withdrawn_proposal_says_once_per_reopen_that_it_stays_withdrawn(
    bot: Bot,
) -> None:
    n = await bot.open_issue()
    assert (await bot.post("issues", closed_payload(bot, n, "alice-aurora"))).status_code == 202
    await bot.settle()
    assert await _state(bot, n) == "withdrawn"
    await bot.advance(later(seconds=60))
    reopened = bot.issue_payload("reopened", n, valid_body())
    for _ in range(2):  # a redelivery of the same reopen answers once
        assert (await bot.post("issues", reopened)).status_code == 202
        await bot.settle()
    assert await _state(bot, n) == "withdrawn"
    [said] = _said(bot, n, "was reopened")
    assert said.startswith("@alice-aurora This issue was reopened, but proposal")
    assert f"#{n} stays withdrawn" in said and "does not revive it" in said
    assert f"open a new issue with the proposal form ({bot.standin.base_url}/" in said
    await bot.advance(later(seconds=60))  # closed and reopened again: told again
    reopened_again = bot.issue_payload("reopened", n, valid_body())
    assert (await bot.post("issues", reopened_again)).status_code == 202
    await bot.settle()
    assert len(_said(bot, n, "was reopened")) == 2


async def test_reopening_an_open_proposals_issue_says_nothing(bot: Bot) -> None:
    n = await bot.open_issue()
    await bot.advance(later(seconds=60))
    assert (await bot.post("issues", bot.issue_payload("reopened", n, valid_body()))).is_success
    await bot.settle()
    assert await _state(bot, n) == "review" and _said(bot, n, "reopened") == []


async def test_someone_else_closing_it_is_told_who_may_withdraw_once(bot: Bot) -> None:
    n = await bot.open_issue()
    assert (await bot.post("issues", closed_payload(bot, n, "mallory"))).status_code == 202
    await bot.settle()
    [said] = _said(bot, n, "@mallory")
    assert said.split("\n")[0] == (
        f"@mallory This issue was closed, but proposal #{n} is still in review. Only the"
        " proposal's author (alice-aurora) or a coordinator may withdraw it, by commenting"
        " /withdraw."
    )
