"""Lazy consensus as people see it: quorum and approval are shown as they were judged, at voting
close, and the votes cast during lazy consensus are listed apart, in the tracking comment, the
read API and chat alike. A rejected proposal is never shown with "quorum met" beside a reason
saying quorum was missed.

feature-flag in the reference charter: 5 seats, quorum 60 % (3 seats), approval 66 %, voting
3 days, lazy consensus 5 days.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from bot.chat_views import proposal_message
from bot.messages import plain_text
from storage import proposals as repo
from storage.db import read_scope
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_server import GitHubStandin

FLAG_BODY = valid_body(
    **{
        "### Track\n\nprotocol-change": "### Track\n\nfeature-flag",
        "### Feature flag\n\n_No response_": "### Feature flag\n\nbig-blocks",
    }
)


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def _flag_in_voting(bot: Bot) -> int:
    n = await bot.open_issue("Flag", FLAG_BODY)
    await bot.advance(later(days=2, seconds=1))  # review ends: voting opens
    assert (await _view(bot, n))["state"] == "voting"
    return n


async def _view(bot: Bot, n: int) -> dict[str, Any]:
    view: dict[str, Any] = (await bot.http.get(f"/api/proposals/{n}")).json()
    return view


async def _past_close(bot: Bot, n: int) -> None:
    closes = datetime.fromisoformat((await _view(bot, n))["deadlines"]["voting_closes"])
    await bot.advance(closes - bot.clock.now() + later(seconds=1))


def _line(bot: Bot, n: int, start: str) -> str:
    [tracking] = bot.tracking(n)
    return next(line for line in tracking.body.splitlines() if line.startswith(start))


def _chat(bot: Bot, n: int) -> str:
    with read_scope(bot.rt.engine) as session:
        stored = repo.load(session, n)
        assert stored is not None
        return plain_text(proposal_message(stored, bot.gov.charter, bot.clock.now()))


async def test_a_failed_lazy_consensus_shows_the_quorum_it_missed(bot: Bot) -> None:
    n = await _flag_in_voting(bot)
    await bot.comment(n, "/approve", "alice-aurora")
    await bot.settle()
    await _past_close(bot, n)
    await bot.comment(n, "/approve", "carmen-borealis")
    await bot.settle()
    await bot.advance(later(days=2))
    await bot.comment(n, "/reject too risky", "emeka-cirrus")
    await bot.settle()

    view = await _view(bot, n)
    assert view["state"] == "rejected"
    assert {k: view["tally"][k] for k in ("voted", "approve", "reject", "quorum_met")} == {
        "voted": 1,
        "approve": 1,
        "reject": 0,
        "quorum_met": False,
    }
    assert view["tally"]["lazy"] == {"approve": 1, "reject": 1, "abstain": 0}
    assert [row["voter"] for row in view["seat_matrix"] if row["voter"]] == [
        "alice-aurora",
        "carmen-borealis",
        "emeka-cirrus",
    ]
    assert _line(bot, n, "Quorum:") == (
        "Quorum: 1/5 seats voted by voting close, 3 needed (60%) — not met. "
        "Approval: 1 approve, 0 reject (needs 66% of approve + reject). "
        "During lazy consensus: 1 approve, 1 reject. "
        "quorum was missed and lazy consensus failed: rejected by emeka-cirrus."
    )
    assert _line(bot, n, "| lazy consensus until |").startswith(
        f"| lazy consensus until | {view['deadlines']['lazy_until'][:10]}"
    )
    assert (
        "Votes: 1 approve, 0 reject, 0 abstain of 5 seats at voting close; during lazy "
        "consensus: 1 approve, 1 reject — quorum was missed and lazy consensus failed"
    ) in _chat(bot, n)
    listed = (await bot.http.get("/api/proposals")).json()["proposals"]
    assert [p["tally"]["quorum_met"] for p in listed if p["number"] == n] == [False]


async def test_a_running_lazy_consensus_shows_until_when(bot: Bot) -> None:
    n = await _flag_in_voting(bot)
    await bot.comment(n, "/approve", "alice-aurora")
    await bot.settle()
    await _past_close(bot, n)
    await bot.comment(n, "/abstain", "carmen-borealis")
    await bot.settle()

    view = await _view(bot, n)
    assert (view["state"], view["tally"]["lazy"]) == (
        "voting",
        {"approve": 0, "reject": 0, "abstain": 1},
    )
    assert "lazy consensus until" in view["tally"]["reason"]
    # 5d of lazy consensus from a second after voting closed: "in 5d" (rounded, not floored)
    assert _line(bot, n, "| lazy consensus until |").endswith("(in 5d) |")
    assert "During lazy consensus: 0 approve, 0 reject, 1 abstain." in _line(bot, n, "Quorum:")


async def test_without_lazy_consensus_nothing_is_listed_apart(bot: Bot) -> None:
    n = await _flag_in_voting(bot)
    for login in ("alice-aurora", "carmen-borealis", "emeka-cirrus"):
        await bot.comment(n, "/approve", login)
    await bot.settle()
    view = await _view(bot, n)
    assert view["tally"]["lazy"] is None
    [tracking] = bot.tracking(n)
    assert "lazy consensus" not in tracking.body.lower()
    assert _line(bot, n, "Quorum:").startswith("Quorum: 3/5 seats voted, 3 needed (60%) — met.")
    assert "during lazy consensus" not in _chat(bot, n)
