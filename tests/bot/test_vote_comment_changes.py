"""A vote comment edited to vote another way, or deleted, is recorded and announced.

The votes are recomputed from the comments (:mod:`bot.github.comment_votes`); the audit entry
names what changed for each voter (seats, choice before and after, the comment), so the
exported log tells how each seat stands, and the change is announced as a new vote is, so the
feed does not keep saying the old choice.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from storage import audit_query
from storage.db import session_scope
from storage.models.core import OutboxRow
from tests.bot.harness import Bot, later
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


def _recomputed(bot: Bot) -> list[dict[str, Any]]:
    with session_scope(bot.rt.engine) as session:
        found = audit_query.entries(session, kind="votes-recomputed")
        return [json.loads(e.payload) if isinstance(e.payload, str) else e.payload for e in found]


def _vote_titles(bot: Bot) -> list[str]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "announce")).all()
        said = [json.loads(r.payload) for r in rows]
    return [a["title"] for a in said if a["kind"] == "vote"]


@pytest.mark.parametrize(
    ("action", "body", "to", "change", "title"),
    [
        (
            "edited",
            "/vote abstain changed my mind",
            "abstain",
            "changed",
            "alice-aurora changed their vote on #{n} from reject to abstain",
        ),
        ("edited", "on second thought, no vote", None, "removed", None),
        ("deleted", "/vote reject too risky", None, "removed", None),
    ],
    ids=["edited-to-abstain", "command-line-dropped", "deleted"],
)
async def test_a_changed_vote_comment_is_audited_and_announced(
    bot: Bot, action: str, body: str, to: str | None, change: str, title: str | None
) -> None:
    n = await bot.open_voting()
    posted = bot.clock.now()
    comment = await bot.comment(n, "/vote reject too risky", "alice-aurora")
    await bot.settle()
    assert _vote_titles(bot) == [f"alice-aurora voted reject on #{n}"]
    await bot.advance(later(seconds=300))
    payload = bot.comment_payload(action, n, body, "alice-aurora", comment, created=posted)
    assert (await bot.post("issue_comment", payload)).status_code == 202
    await bot.settle()
    [entry] = _recomputed(bot)
    assert entry["changes"] == [
        {
            "voter": "alice-aurora",
            "seats": ["client:aurora"],
            "from": "reject",
            "to": to,
            "change": change,
            "reason": "changed my mind" if to else "",
            "comment": str(comment),
        }
    ]
    withdrew = f"alice-aurora withdrew their reject vote on #{n}"
    assert _vote_titles(bot)[1:] == [(title or withdrew).format(n=n)]
