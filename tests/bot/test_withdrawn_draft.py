"""A withdrawn draft reads as what it is, on every surface: no surface asks its author to fix
a form that no longer matters, none prints a quorum for a vote that was never held ("None
needed"), and subscribers, who never heard of the draft, are not told of its withdrawal (the
audit log still records it). A proposal withdrawn in review was announced, and so is its
withdrawal, titled like every decision.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from bot.messages import Actor, plain_text
from storage import audit_query
from storage.db import read_scope
from storage.models.core import OutboxRow
from tests.bot.harness import Bot, valid_body
from tests.standins.github_server import GitHubStandin

BAD_RISK = valid_body(**{"### Risk likelihood\n\n2": "### Risk likelihood\n\n7"})
TITLE = "Raise the gas target"


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def _withdrawn(bot: Bot, body: str | None) -> int:
    n = await bot.open_issue(TITLE, body)
    await bot.comment(n, "/withdraw", "alice-aurora")
    await bot.settle()
    assert (await bot.http.get(f"/api/proposals/{n}")).json()["state"] == "withdrawn"
    return n


def _announced(bot: Bot, n: int) -> list[dict[str, Any]]:
    with read_scope(bot.rt.engine) as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "announce")).all()
        return [p for p in (json.loads(r.payload) for r in rows) if p["proposal"] == n]


async def test_a_withdrawn_draft_asks_for_no_fix_and_prints_no_quorum(bot: Bot) -> None:
    n = await _withdrawn(bot, BAD_RISK)
    [tracking] = bot.tracking(n)
    assert "None needed" not in tracking.body and "stays a draft" not in tracking.body
    assert "No vote was held: withdrawn before voting opened." in tracking.body
    assert "| review ends |" not in tracking.body  # no timeline of dashes: review never began
    actor = Actor(login="alice-aurora", surface="slack", surface_id="U1", display="alice")
    for command in (f"show {n}", f"status {n}"):
        said = plain_text(bot.gov.run_sync(command, actor, bot.clock.now()))
        assert "Needs fixing" not in said and "None" not in said, said
    page = (await bot.http.get(f"/proposals/{n}")).text
    assert "Needs fixing before review" not in page and "None" not in page


async def test_a_draft_still_open_is_asked_to_fix_its_form(bot: Bot) -> None:
    n = await bot.open_issue(TITLE, BAD_RISK)
    [tracking] = bot.tracking(n)
    assert "stays a draft until these are fixed" in tracking.body
    assert "Needs fixing before review" in (await bot.http.get(f"/proposals/{n}")).text


@pytest.mark.parametrize(
    ("body", "announced"),
    [(BAD_RISK, []), (None, ["proposal-opened", "decision"])],
    ids=["draft-never-announced", "review-announced"],
)
async def test_a_withdrawal_is_announced_only_if_the_proposal_was(
    bot: Bot, body: str | None, announced: list[str]
) -> None:
    n = await _withdrawn(bot, body)
    said = _announced(bot, n)
    assert [p["kind"] for p in said] == announced
    if announced:
        assert said[-1]["title"] == f"#{n} {TITLE}: withdrawn"
    with read_scope(bot.rt.engine) as session:
        kinds = [e.kind for e in audit_query.entries(session, subject=f"proposal:{n}")]
    assert "proposal-withdrawn" in kinds
