"""``todo`` through the one service: what awaits the asker, among what they may see."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.messages import Actor, plain_text
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def _open(bot: Bot, body: str, author: str, title: str) -> int:
    return await bot.open_issue(title, body, author)


def _todo(bot: Bot, login: str | None) -> str:
    return plain_text(bot.gov.run_sync("todo", Actor(login, "console", login or "someone")))


async def test_todo_lists_owed_votes_and_own_concerns_until_they_are_settled(bot: Bot) -> None:
    security = valid_body(**{"protocol-change": "security-patch"})
    patch = await _open(bot, security, "kofi-sec", "Fix gossip")
    await bot.advance(later(seconds=1))  # security patches have no review: voting is open
    alice = _todo(bot, "alice-aurora")
    assert f"Vote: #{patch} Fix gossip — for Aurora; closes" in alice
    assert f"type: /charter vote {patch} approve|reject|abstain" in alice

    # a colleague's vote fills the seat; a concern of alice's now waits on her instead
    assert "Recorded" in plain_text(
        bot.gov.run_sync(f"vote {patch} approve", Actor("bob-aurora", "console", "b"))
    )
    bot.gov.run_sync(f"concern {patch} scope: too wide", Actor("alice-aurora", "console", "a"))
    alice = _todo(bot, "alice-aurora")
    assert "Vote:" not in alice
    assert f"Your concern 'scope' on #{patch} Fix gossip is open" in alice
    assert f"once it is addressed, type: /charter resolve {patch} scope" in alice

    bot.gov.run_sync(f"resolve {patch} scope", Actor("alice-aurora", "console", "a"))
    assert "Nothing awaits alice-aurora" in _todo(bot, "alice-aurora")


async def test_an_embargoed_proposal_is_listed_only_for_those_who_may_see_it(bot: Bot) -> None:
    security = valid_body(**{"protocol-change": "security-patch"})
    await _open(bot, security, "kofi-sec", "Fix gossip")
    await bot.advance(later(seconds=1))
    # a council member holds a seat on security patches; a stranger sees nothing of it
    assert "Vote: #" in _todo(bot, "lena-sec")
    assert "Nothing awaits mallory" in _todo(bot, "mallory")
    assert "Fix gossip" not in _todo(bot, "mallory")


async def test_a_proposal_in_review_is_coming_up(bot: Bot) -> None:
    n = await _open(bot, valid_body(), "alice-aurora", "Raise the gas target")
    text = _todo(bot, "hana-eridanus")
    assert f"Coming up: #{n} Raise the gas target — for Eridanus; voting opens" in text


async def test_an_unlinked_asker_is_told_how_to_act_as_a_login(bot: Bot) -> None:
    assert "`--as LOGIN`" in _todo(bot, None)
    chat = plain_text(bot.gov.run_sync("todo", Actor(None, "slack", "U0X")))
    assert "`/charter link`" in chat


async def test_feedback_asked_of_the_asker_is_listed_until_they_answer(bot: Bot) -> None:
    n = await _open(bot, valid_body(), "alice-aurora", "Raise the gas target")
    other = await _open(bot, valid_body(), "alice-aurora", "Lower the blob fee")
    ask = Actor("carmen-borealis", "console", "c")
    assert bot.gov.run_sync(f"feedback {n} @Zoe-Contrib: the numbers?", ask).ok
    assert bot.gov.run_sync(f"feedback {other} @hana-eridanus", ask).ok
    zoe = _todo(bot, "zoe-contrib")
    assert zoe.splitlines()[1:] == [
        f"Feedback: #{n} Raise the gas target — carmen-borealis asked for your feedback:"
        " “the numbers?” · a comment on its issue, a vote or a concern answers it"
    ]
    hana = _todo(bot, "hana-eridanus").splitlines()
    assert [line for line in hana if line.startswith("Feedback:")] == [  # asked without a note
        f"Feedback: #{other} Lower the blob fee — carmen-borealis asked for your feedback"
        " · a comment on its issue, a vote or a concern answers it"
    ]
    assert "Feedback:" not in _todo(bot, "carmen-borealis")  # the asker is not asked

    await bot.advance(later(seconds=5))
    await bot.comment(n, "The numbers hold.", "zoe-contrib")
    await bot.settle()
    zoe = _todo(bot, "zoe-contrib")
    assert "Feedback:" not in zoe
    assert zoe.startswith("Nothing awaits zoe-contrib")
    assert "nobody awaits your feedback" in zoe
