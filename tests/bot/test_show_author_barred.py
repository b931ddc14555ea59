"""``show`` on a track with ``author_may_vote: false``: the author is not offered a vote (one
line says why), and an empty seat the author holds says who may cast it instead, or that
nobody may; every other reader is offered voting as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.messages import Actor, plain_text
from tests.bot.harness import Bot, later
from tests.paths import mutate
from tests.standins.github_server import GitHubStandin

OFFER = "Vote by typing: /charter vote {n} approve|reject|abstain [reason]"
WHY = (
    "You wrote this proposal: track protocol-change does not let its author vote on it"
    " (author_may_vote: false)."
)


def _show(bot: Bot, n: int, login: str) -> list[str]:
    answer = bot.gov.run_sync(f"show {n}", Actor(login, "console", login))
    assert answer.ok
    return plain_text(answer).splitlines()


@pytest.fixture
async def barred(sqlite_url: str, github: GitHubStandin, tmp_path: Path) -> AsyncIterator[Bot]:
    """protocol-change with ``author_may_vote: false`` (quorum 0.8, so that a single
    maintainer's own proposals can still pass)."""
    quorum = "    quorum: 1.0                # share of seats"
    text = mutate((quorum, "    author_may_vote: false\n    quorum: 0.8  # share of seats"))
    path = tmp_path / "charter.yaml"
    path.write_text(text, "utf-8")
    b = Bot.fresh(sqlite_url, github, charter=str(path))
    yield b
    await b.close()


async def test_the_author_is_not_offered_a_vote_and_is_told_why(barred: Bot) -> None:
    n = await barred.open_voting()  # by alice-aurora; bob-aurora also holds Aurora's seat
    shown = _show(barred, n, "alice-aurora")
    assert OFFER.format(n=n) not in shown
    assert shown[-1] == WHY
    assert "  Aurora: — (bob-aurora may cast it; the author may not)" in shown
    assert "  Borealis: —" in shown  # a seat the author does not hold: nothing added
    other = _show(barred, n, "bob-aurora")
    assert other[-1] == OFFER.format(n=n) and WHY not in other
    assert "  Aurora: — (bob-aurora may cast it; the author may not)" in other


async def test_a_seat_the_author_holds_alone_says_nobody_casts_it(barred: Bot) -> None:
    n = await barred.open_issue(author="emeka-cirrus")
    assert WHY in _show(barred, n, "emeka-cirrus")  # in review: told before voting opens
    await barred.advance(later(days=7, seconds=1))
    shown = _show(barred, n, "Emeka-Cirrus")  # logins compare case-insensitively
    assert "  Cirrus: — (held by the author alone, who may not vote on it)" in shown
    assert OFFER.format(n=n) not in shown and shown[-1] == WHY


async def test_where_authors_may_vote_the_author_is_offered_a_vote(
    sqlite_url: str, github: GitHubStandin
) -> None:
    bot = Bot.fresh(sqlite_url, github)
    try:
        n = await bot.open_voting()
        shown = _show(bot, n, "alice-aurora")
        assert shown[-1] == OFFER.format(n=n)
        assert "  Aurora: —" in shown and WHY.split(":")[0] not in "\n".join(shown)
    finally:
        await bot.close()
