"""Replies fit GitHub's 65,536-character comment limit, however much escaping inflates them
(``@`` becomes ``@&#8203;``, ``<`` becomes ``&lt;``): cut where nothing is split, ended by a note
that points to the proposal's page; listings cut each concern text as the tracking comment
does."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot.comment_size import MAX_BODY, fit, point_to
from bot.views import CLIP
from charter.text import escape_markdown_github
from storage import outbox
from storage.db import session_scope
from tests.bot.harness import Bot
from tests.standins.github_server import GitHubStandin

GITHUB_LIMIT = 65_536
NOTE = "… cut to fit GitHub's comment size limit\n"
PAGE = "http://charterbot.test/proposals/7"
# An escaped character is an entity or a backslash escape: a cut must never split one.
BROKEN_ENTITY = re.compile(r"&(?!amp;|lt;|gt;|#8203;)")


def _escaped(text: str) -> str:
    return "@bob " + escape_markdown_github(text)


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        pytest.param("@bob short", "@bob short", id="short-unchanged"),
        pytest.param("a\n" * (MAX_BODY // 2), "a\n" * ((MAX_BODY - len(NOTE)) // 2), id="lines"),
        pytest.param(_escaped("@a<" * 10_000), None, id="one-line-of-entities"),
        pytest.param(_escaped("&" * 20_000), None, id="one-line-of-ampersands"),
        pytest.param(_escaped("\\*" * 40_000), None, id="one-line-of-backslash-escapes"),
    ],
)
def test_a_body_is_cut_to_what_github_accepts(body: str, kept: str | None) -> None:
    """Whole lines are kept; a single longer line is cut where no escape is split."""
    fitted = fit(body)
    assert len(fitted) <= MAX_BODY < GITHUB_LIMIT
    if len(body) <= MAX_BODY:
        assert fitted == body
        return
    assert fitted.endswith("\n" + NOTE) and fitted.startswith("@bob ")
    cut = fitted.removesuffix("\n" + NOTE)
    if kept is not None:
        assert cut + "\n" == kept
    assert not BROKEN_ENTITY.search(cut), "no entity cut in half"
    trailing = len(cut) - len(cut.rstrip("\\"))
    assert trailing % 2 == 0, "no backslash escape cut in half"
    assert MAX_BODY - len(fitted) < 8, "cut close to the limit (at most an entity short)"


@pytest.mark.parametrize(
    ("body", "page", "expected"),
    [
        pytest.param("x\n" + NOTE, PAGE, f"x\n{NOTE[:-1]}; the full record: {PAGE}\n", id="cut"),
        pytest.param("x\n" + NOTE, "", "x\n" + NOTE, id="no-public-url"),
        pytest.param("x\n", PAGE, "x\n", id="not-cut"),
    ],
)
def test_point_to_names_the_full_record(body: str, page: str, expected: str) -> None:
    assert point_to(body, page) == expected


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def test_a_status_reply_listing_many_long_concerns_is_posted(bot: Bot) -> None:
    """Sixty open concerns of 990 escaped-to-bloat characters: the answer to ``/status`` is
    posted (not refused with 422), each concern text cut, the body cut to fit and pointing to
    the proposal's page."""
    n = await bot.open_voting()
    text = "@a<" * 330
    for batch in range(3):
        lines = "\n".join(f"/concern c{batch}-{i}: {text}" for i in range(20))
        await bot.comment(n, lines, "emeka-cirrus")
    await bot.settle()
    await bot.comment(n, "/status", "alice-aurora")
    await bot.settle()
    with session_scope(bot.rt.engine) as session:
        [item] = [r for r in outbox.listing(session, include_sent=True) if r.kind == "comment"]
        assert item.status == "sent"
        assert len(outbox.payload(item)["body"]) <= MAX_BODY
    [reply] = [c for c in bot.issue_comments(n) if c.body.startswith("@alice-aurora ")]
    assert len(reply.body) <= GITHUB_LIMIT
    page = f"http://charterbot.test/proposals/{n}"
    assert f"… cut to fit GitHub's comment size limit; the full record: {page}\n" in reply.body
    concerns = [line for line in reply.body.splitlines() if line.startswith("Concern ")]
    assert 20 < len(concerns) < 60
    clipped = escape_markdown_github(text[: CLIP - 1].rstrip() + "…")
    assert all(line.endswith(clipped) for line in concerns)
