"""A number no proposal has reads on the public audit log exactly as an undisclosed confidential
one: before, a refused release line for hidden #1 showed as "withheld" while the same line for
missing #7 showed in full ("There is no proposal #7."), so anyone could learn whether a number
is a hidden proposal by provoking a refusal and reading the audit page or export."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.web.export import Cut, pages
from bot.web.queries import Reader
from tests.bot.harness import Bot
from tests.bot.test_github_release_refusals import accept, items, refused, release, send
from tests.standins.github_server import GitHubStandin

M = timedelta(minutes=1)


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def refuse_hidden_and_missing(bot: Bot) -> None:
    """Security patch #1 (aurora only, undisclosed); dorado's release says ready 1, then 7."""
    accept(bot, ("aurora",), track="security-patch")
    await bot.advance(M)
    await send(bot, release(bot, "dorado", "charterbot: ready 1 staging\n"))
    await send(bot, release(bot, "dorado", "charterbot: ready 7 staging\n"))
    assert [(a["subject"], a["told"]) for a in refused(bot)] == [
        ("proposal:1", "nobody"),
        ("proposal:7", "nobody"),
    ]


def page(bot: Bot, subject: str | None = None) -> list[dict[str, object]]:
    reader = Reader(bot.gov, bot.clock.now())
    return reader.audit_page(before=None, subject=subject, kind=None)[0]


async def test_a_hidden_and_a_missing_number_look_the_same_on_the_audit_page(bot: Bot) -> None:
    await refuse_hidden_and_missing(bot)
    last_two = page(bot)[:2]  # newest first: #7's refusal, then #1's
    assert [e["withheld"] for e in last_two] == [True, True]
    own = ("seq", "hash", "prev_hash")
    shown = [{k: v for k, v in e.items() if k not in own} for e in last_two]
    assert shown[0] == shown[1]
    assert "no proposal" not in json.dumps(page(bot))
    assert page(bot, "proposal:7") == [] and page(bot, "proposal:1") == []
    assert page(bot, "rollout:7") == []


async def test_a_hidden_and_a_missing_number_look_the_same_in_the_export(bot: Bot) -> None:
    await refuse_hidden_and_missing(bot)
    cut = Cut.read(bot.rt.engine)
    lines = [json.loads(x) for chunk in pages(bot.rt.engine, cut, 1) for x in chunk.splitlines()]
    assert [sorted(x) for x in lines[-2:]] == [["hash", "prev", "seq", "withheld"]] * 2
    assert b"no proposal" not in b"".join(pages(bot.rt.engine, cut, 1))


async def test_a_direct_message_says_which_issue_to_comment_on(bot: Bot) -> None:
    accept(bot, ("aurora",), track="security-patch")
    await bot.advance(M)
    await send(bot, release(bot, "aurora", "charterbot: ready 1 stagin\n"))
    text = items(bot, "direct-message")[0]["text"]
    assert "report it in a comment on #1: `/ready aurora staging v4.2.0`." in text
    assert "comment here" not in text
