"""A vote its author may not cast, brought by an edit of a comment, is answered and audited as
the same vote in a new comment is, once; it never counts either way.

Before, the edit was recounted without the vote (right) but silently: no reply and no
``command-refused`` entry, while a new comment with the same text was answered "You wrote this
proposal…". Signed deliveries go into the running app; replies are read from the GitHub
stand-in, votes from ``/api/proposals/<n>``, refusals from the audit log.

What the tally counts and what an edit answers are one judgement
(``bot.github.comment_votes.judge_votes``): a table of comments checks that every vote is
either counted or refused, never both, never neither.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.github.comment_votes import comment_votes
from bot.github.vote_refusals import refused_votes
from charter import commands as c
from charter.grammar import parse_comment
from charter.lifecycle import State
from charter.load import load_charter
from charter.proposal import Proposal
from charter.votes import Choice
from storage.db import session_scope
from storage.models.audit import AuditEntry
from storage.models.core import CommentRow
from tests.bot.github.test_gh_vote_authz import replies_to, votes
from tests.bot.harness import Bot, valid_body
from tests.paths import mutate
from tests.standins.github_server import GitHubStandin

AUTHOR = "alice-aurora"  # wrote the proposal open_voting opens
BARRED = mutate(
    (
        "    quorum: 1.0                # share of seats",
        "    author_may_vote: false\n    quorum: 0.8  # share of seats",
    )
)


@pytest.fixture
async def barred(sqlite_url: str, github: GitHubStandin, tmp_path: Path) -> AsyncIterator[Bot]:
    """The protocol-change track with ``author_may_vote: false``."""
    path = tmp_path / "charter.yaml"
    path.write_text(BARRED, "utf-8")
    b = Bot.fresh(sqlite_url, github, charter=str(path))
    yield b
    await b.close()


def refusals(bot: Bot) -> list[dict[str, Any]]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.kind) == "command-refused")
            .order_by(col(AuditEntry.seq))
        ).all()
        return [{"actor": r.actor, "subject": r.subject, **json.loads(r.payload)} for r in rows]


async def edit(
    bot: Bot, n: int, comment_id: int, body: str, *, delivery: str | None = None
) -> dict[str, Any]:
    """``AUTHOR`` edits the comment to ``body`` 20 s later (no ``changes``: as a poll reads it,
    the text before is the one stored); returns the delivery to send again."""
    bot.clock.advance(timedelta(seconds=20))
    payload = bot.comment_payload("edited", n, body, AUTHOR, comment_id)
    assert (await bot.post("issue_comment", payload, delivery=delivery)).status_code == 202
    await bot.settle()
    return payload


def words(reply: str) -> str:
    """A reply without the relay's outbox marker (``<!-- charterbot:outbox:<id> -->``)."""
    return re.sub(r"\s*<!-- charterbot:outbox:[0-9]+ -->", "", reply)


def without_salt(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "salt"} for e in entries]


async def test_a_refused_vote_an_edit_brings_is_answered_once_as_on_creation(
    barred: Bot,
) -> None:
    bot = barred
    n = await bot.open_voting()
    comment_id = await bot.comment(n, "thanks", AUTHOR)
    await bot.settle()
    assert replies_to(bot, n, AUTHOR) == [] and refusals(bot) == []

    again = await edit(bot, n, comment_id, "/vote approve", delivery="edit-1")
    assert await votes(bot, n) == []
    (answer,) = replies_to(bot, n, AUTHOR)
    assert answer.startswith(f"@{AUTHOR} error: ")
    assert "does not let a proposal's author cast a seat's vote on it" in answer
    (audited,) = refusals(bot)
    assert audited["actor"] == AUTHOR and audited["subject"] == f"proposal:{n}"
    assert audited["command"] == "CastVote" and audited["surface"] == "github"

    # The same text in a new comment: the same words, the same kind of entry.
    await bot.comment(n, "/vote approve", AUTHOR)
    await bot.settle()
    first, second = (words(r) for r in replies_to(bot, n, AUTHOR))
    assert first == second
    assert without_salt(refusals(bot)) == without_salt([audited, audited])

    # Redelivered, and edits that leave the refused vote as it was (another line, the lines
    # swapped, its reason reworded: nothing recast): nothing more.
    bot.clock.advance(timedelta(seconds=5))
    assert (await bot.post("issue_comment", again, delivery="edit-1")).status_code == 202
    assert (await bot.post("issue_comment", again, delivery="edit-1b")).status_code == 202
    await bot.settle()
    await edit(bot, n, comment_id, "/vote approve\nthanks again")
    await edit(bot, n, comment_id, "thanks again\n/vote approve")
    await edit(bot, n, comment_id, "thanks again\n/vote approve (a reason reworded)")
    assert len(replies_to(bot, n, AUTHOR)) == 2 and len(refusals(bot)) == 2

    # The vote line changed (another choice): answered again, once.
    await edit(bot, n, comment_id, "thanks again\n/vote reject")
    assert len(replies_to(bot, n, AUTHOR)) == 3 and len(refusals(bot)) == 3
    assert await votes(bot, n) == []


async def test_an_edit_that_brings_a_vote_its_author_may_cast_is_not_answered(
    barred: Bot,
) -> None:
    """bob-aurora, not the author, edits "thanks" into a vote: it counts, and nothing is
    answered or refused."""
    bot = barred
    n = await bot.open_voting()
    comment_id = await bot.comment(n, "thanks", "bob-aurora")
    await bot.settle()
    bot.clock.advance(timedelta(seconds=20))
    payload = bot.comment_payload("edited", n, "/vote approve", "bob-aurora", comment_id)
    assert (await bot.post("issue_comment", payload)).status_code == 202
    await bot.settle()
    assert await votes(bot, n) == [("bob-aurora", "approve")]
    assert replies_to(bot, n, "bob-aurora") == [] and refusals(bot) == []


async def test_a_vote_edited_in_on_a_proposal_its_author_may_not_see_is_answered_as_new(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """mallory holds no seat on an undisclosed security patch (a confidential track): a new
    comment's vote is answered "There is no proposal", not with the seat refusal that would
    confirm it exists; the same vote edited into a comment gets the same answer (the branch
    of ``vote_refusals._refusal`` that loads the proposal as its author may see it)."""
    bot = Bot.fresh(sqlite_url, github)
    try:
        patch = valid_body(**{"### Track\n\nprotocol-change": "### Track\n\nsecurity-patch"})
        n = await bot.open_issue("Fix", patch)
        comment_id = await bot.comment(n, "thanks", "mallory")
        await bot.comment(n, "/vote approve", "mallory")
        await bot.settle()
        bot.clock.advance(timedelta(seconds=20))
        payload = bot.comment_payload("edited", n, "/vote approve", "mallory", comment_id)
        assert (await bot.post("issue_comment", payload)).status_code == 202
        await bot.settle()
        new, edited = (words(r) for r in replies_to(bot, n, "mallory"))
        assert new == edited == f"@mallory error: There is no proposal #{n}."
    finally:
        await bot.close()


# -- one judgement: counted or refused -----------------------------------------------------------

RULES = load_charter(BARRED).charter
OPENED = datetime(2026, 11, 27, 12, tzinfo=UTC)
VOTING = Proposal(
    number=7,
    title="Raise the gas target",
    author=AUTHOR,
    track="protocol-change",
    state=State.VOTING,
    fields={},
    charter_version=RULES.version,
    created_at=OPENED,
    voting_opened_at=OPENED,
)


class _Rules:
    """What ``refused_votes`` asks of the service: the version the proposal was opened under."""

    def rules_for(self, p: Proposal) -> Any:
        return RULES


# author, comment body, how many of its votes count, how many are refused
JUDGED = [
    ("bob-aurora", "/vote approve", 1, 0),
    ("Bob-Aurora", "/vote reject too early", 1, 0),
    (AUTHOR, "/vote approve", 0, 1),  # author_may_vote: false
    (AUTHOR.upper(), "/vote approve mine", 0, 1),
    ("mallory", "/vote approve", 0, 1),  # no seat
    ("bob-aurora", "thanks\n> /vote reject\n`/vote abstain`", 0, 0),  # no live vote line
    ("bob-aurora", "/vote approve\n/status\n/vote reject changed my mind", 2, 0),
    (AUTHOR, "/vote approve\nthanks\n/vote abstain", 0, 2),
    ("bob-aurora", "/vote maybe", 0, 0),  # a parse error casts nothing
]


@pytest.mark.parametrize(("author", "body", "counted", "refused"), JUDGED)
def test_every_vote_a_comment_holds_is_counted_or_refused_never_both(
    author: str, body: str, counted: int, refused: int
) -> None:
    """What the tally takes from a comment (``comment_votes``) and what an edit bringing it is
    answered for (``refused_votes``) hold each of its votes exactly once between them."""
    row = CommentRow(
        comment_id="c-1",
        proposal=VOTING.number,
        author=author,
        body=body,
        created_at=OPENED,
        updated_at=OPENED,
        voted_at=OPENED,
    )
    held = Counter(
        (Choice(v.choice), v.reason)
        for v in parse_comment(body, issue=VOTING.number)
        if isinstance(v, c.CastVote)
    )
    took = Counter((v.choice, v.reason) for v in comment_votes(row, VOTING, RULES))
    gov: Any = _Rules()
    answered = Counter(
        (Choice(r.vote.choice), r.vote.reason) for r in refused_votes(gov, VOTING, author, body)
    )
    assert took + answered == held  # a vote in both, or in neither, breaks the sum
    assert (took.total(), answered.total()) == (counted, refused)
