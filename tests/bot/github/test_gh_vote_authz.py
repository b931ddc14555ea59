"""A vote from a GitHub comment is authorized by the one ``charter.authz.authorize``, whether the
comment is created or later edited (the edit recomputes the votes from every comment), and so
is the same vote from chat.

Signed deliveries go into the running app; the votes are read back from ``/api/proposals/<n>``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.messages import Actor, plain_text
from charter import authz
from tests.bot.harness import Bot
from tests.paths import mutate
from tests.standins.github_server import GitHubStandin

INJECTED = "Refused by a rule added to authorize()."


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


@pytest.fixture
async def barred(sqlite_url: str, github: GitHubStandin, tmp_path: Path) -> AsyncIterator[Bot]:
    """A bot whose protocol-change track has ``author_may_vote: false`` (and a quorum of 0.8,
    so that cirrus's and eridanus's single maintainers' proposals can still pass)."""
    quorum = "    quorum: 1.0                # share of seats"
    text = mutate((quorum, "    author_may_vote: false\n    quorum: 0.8  # share of seats"))
    path = tmp_path / "charter.yaml"
    path.write_text(text, "utf-8")
    b = Bot.fresh(sqlite_url, github, charter=str(path))
    yield b
    await b.close()


async def votes(bot: Bot, n: int) -> list[tuple[str, str]]:
    view: dict[str, Any] = (await bot.http.get(f"/api/proposals/{n}")).json()
    return [(v["voter"], v["choice"]) for v in view["votes"]]


def replies_to(bot: Bot, n: int, login: str) -> list[str]:
    """The bot's replies to ``login`` on issue ``n``, Markdown escapes removed."""
    bodies = [c.body for c in bot.issue_comments(n) if c.body.startswith(f"@{login} ")]
    return [body.replace("\\", "") for body in bodies]


async def vote_then_edit(bot: Bot, n: int, login: str) -> tuple[list[Any], list[Any]]:
    """``login`` votes approve in a comment, then fixes a typo in it 20 s later: the votes
    after each."""
    comment_id = await bot.comment(n, "/vote approve looks good", login)
    await bot.settle()
    created = await votes(bot, n)
    bot.clock.advance(timedelta(seconds=20))
    edit = bot.comment_payload("edited", n, "/vote approve looks fine", login, comment_id)
    assert (await bot.post("issue_comment", edit)).status_code == 202
    await bot.settle()
    return created, await votes(bot, n)


async def test_a_rule_added_to_authorize_holds_for_an_edited_vote_comment(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any rule in the central authorize() applies to an edited comment as to a new one: a
    refusal injected there keeps bob-aurora's vote out after he edits his comment, while
    alice-aurora's, which it lets through, counts after her edit as before."""
    allow = authz.authorize

    def authorize(privilege: authz.Privilege, actor: Any, charter: Any, **kw: Any) -> Any:
        if privilege is authz.Privilege.VOTE and actor.login == "bob-aurora":
            return authz.Refusal(INJECTED)
        return allow(privilege, actor, charter, **kw)

    monkeypatch.setattr(authz, "authorize", authorize)
    n = await bot.open_voting()
    assert await vote_then_edit(bot, n, "bob-aurora") == ([], [])
    assert any(INJECTED in body for body in replies_to(bot, n, "bob-aurora"))
    mine = [("alice-aurora", "approve")]
    assert await vote_then_edit(bot, n, "alice-aurora") == (mine, mine)


async def test_by_default_the_author_casts_their_clients_seat(bot: Bot) -> None:
    """The reference charter lets alice-aurora, who wrote the proposal, cast Aurora's seat on
    it, and the vote stays after she edits her comment."""
    n = await bot.open_voting()  # written by alice-aurora
    mine = [("alice-aurora", "approve")]
    assert await vote_then_edit(bot, n, "alice-aurora") == (mine, mine)
    assert replies_to(bot, n, "alice-aurora") == []


async def test_a_track_may_bar_the_author_on_every_surface(barred: Bot) -> None:
    """With ``author_may_vote: false`` the author's vote is refused in a new comment (and
    answered with who may cast the seat instead), does not count after an edit, and is refused
    from chat; another maintainer of the author's client casts its seat."""
    bot = barred
    n = await bot.open_voting()  # written by alice-aurora
    assert await vote_then_edit(bot, n, "alice-aurora") == ([], [])
    (reply,) = replies_to(bot, n, "alice-aurora")
    assert "does not let a proposal's author cast a seat's vote on it" in reply
    assert "another maintainer of aurora (bob-aurora) may" in reply
    chat = Actor(login="alice-aurora", surface="slack", surface_id="U1", display="alice")
    answer = bot.gov.run_sync(f"vote {n} approve", chat)
    assert not answer.ok and "author_may_vote: false" in plain_text(answer)
    assert await votes(bot, n) == []
    theirs = [("bob-aurora", "approve")]
    assert await vote_then_edit(bot, n, "bob-aurora") == (theirs, theirs)
