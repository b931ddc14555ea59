"""Closing a proposal's issue on GitHub: the author or a coordinator withdraws the proposal by
it; anyone else (or a closer the bot cannot know, in poll mode) is told it is still open.

The deliveries are GitHub's real ``issues/closed`` payload, re-addressed to the proposal.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.github.events import IssueEvent
from bot.github.handler import encode_polled
from tests.bot.harness import REPO, Bot, fixture, later, valid_body
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(engine_url, github)
    yield b
    await b.close()


def closed_payload(bot: Bot, number: int, closer: str) -> dict[str, Any]:
    opened = bot.issue_payload("opened", number, valid_body())
    payload = copy.deepcopy(fixture("issues/closed.json"))
    payload["repository"]["full_name"] = REPO
    payload["issue"].update(
        {k: opened["issue"][k] for k in ("number", "title", "body", "labels", "user")},
        updated_at=opened["issue"]["updated_at"],
    )
    payload["sender"]["login"] = closer
    return payload


async def _proposal(bot: Bot) -> int:
    return await bot.open_issue()


async def _state(bot: Bot, n: int) -> dict[str, Any]:
    view: dict[str, Any] = (await bot.http.get(f"/api/proposals/{n}")).json()
    return view


@pytest.mark.parametrize("closer", ["alice-aurora", "ines-coord"])
async def test_the_author_or_a_coordinator_closing_the_issue_withdraws(
    bot: Bot, closer: str
) -> None:
    n = await _proposal(bot)
    assert (await _state(bot, n))["state"] == "review"
    assert (await bot.post("issues", closed_payload(bot, n, closer))).status_code == 202
    await bot.settle()
    view = await _state(bot, n)
    assert (view["state"], view["withdrawn_by"]) == ("withdrawn", closer)
    assert any(f"was withdrawn by {closer}" in c.body for c in bot.issue_comments(n))


async def test_someone_else_closing_it_is_told_the_proposal_stays_open(bot: Bot) -> None:
    n = await _proposal(bot)
    await bot.advance(later(days=7, seconds=1))
    assert (await bot.post("issues", closed_payload(bot, n, "mallory"))).status_code == 202
    await bot.settle()
    assert (await _state(bot, n))["state"] == "voting"
    [reply] = [c for c in bot.issue_comments(n) if c.body.startswith("@mallory")]
    assert "still in voting" in reply.body and "author \\(alice-aurora\\)" in reply.body
    assert "/withdraw" in reply.body


async def test_a_close_seen_by_polling_names_no_closer_and_withdraws_nothing(bot: Bot) -> None:
    n = await _proposal(bot)
    event = IssueEvent(
        action="closed",
        number=n,
        title="Raise the gas target",
        body=valid_body(),
        author="alice-aurora",
        labels=("upgrade-proposal",),
        state="closed",
        repo_full_name=REPO,
        updated_at=bot.clock.now(),
    )
    # As the poller stores it (bot.runtime Runtime._poll).
    await bot.rt.store_delivery("poll", f"poll:issue:{n}:closed", "issues", encode_polled(event))
    await bot.settle()
    assert (await _state(bot, n))["state"] == "review"
    [reply] = [c for c in bot.issue_comments(n) if c.body.startswith("@alice-aurora")]
    assert "cannot tell who closed it" in reply.body


async def test_closing_a_decided_proposal_changes_and_says_nothing(bot: Bot) -> None:
    n = await _proposal(bot)
    assert (
        await bot.post(
            "issue_comment", bot.comment_payload("created", n, "/withdraw", "alice-aurora")
        )
    ).status_code == 202
    await bot.settle()
    comments = len(bot.issue_comments(n))
    assert (await bot.post("issues", closed_payload(bot, n, "mallory"))).status_code == 202
    await bot.settle()
    assert (await _state(bot, n))["state"] == "withdrawn"
    assert len(bot.issue_comments(n)) == comments


async def test_a_close_recovered_late_does_not_undo_a_reopen(bot: Bot) -> None:
    """Issue events older than the last one applied are ignored: a close delivered late (after
    the reopen that followed it) withdraws nothing, and a stale edit does not bring back an
    older title."""
    n = await _proposal(bot)
    closed_then = closed_payload(bot, n, "alice-aurora")  # the close GitHub failed to deliver
    await bot.advance(later(seconds=300))
    reopened = bot.issue_payload("reopened", n, valid_body(), title="Raise the gas target, v2")
    assert (await bot.post("issues", reopened)).status_code == 202
    await bot.settle()
    assert (await bot.post("issues", closed_then)).status_code == 202
    stale_edit = bot.issue_payload("edited", n, valid_body(), title="Raise the gas target")
    stale_edit["issue"]["updated_at"] = closed_then["issue"]["updated_at"]
    assert (await bot.post("issues", stale_edit)).status_code == 202
    await bot.settle()
    view = await _state(bot, n)
    assert (view["state"], view["title"]) == ("review", "Raise the gas target, v2")


async def test_a_close_recovered_late_still_withdraws_when_nothing_reopened_it(bot: Bot) -> None:
    """The close is an act, not only a snapshot: recovered after a newer event on the still
    closed issue (a label added), it withdraws all the same."""
    n = await _proposal(bot)
    closed_then = closed_payload(bot, n, "alice-aurora")
    await bot.advance(later(seconds=60))
    labelled = bot.issue_payload("labeled", n, valid_body())
    labelled["issue"]["state"] = "closed"
    assert (await bot.post("issues", labelled)).status_code == 202
    await bot.settle()
    assert (await _state(bot, n))["state"] == "review"
    assert (await bot.post("issues", closed_then)).status_code == 202
    await bot.settle()
    assert (await _state(bot, n))["state"] == "withdrawn"
