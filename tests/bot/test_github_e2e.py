"""A proposal from the issue form to a recorded, verifiable decision with nothing but GitHub events.

Signed deliveries built from the real payloads in shared/fixtures go into the running app;
PyGithub talks to the local stand-in, which records what it was sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from storage import audit, audit_query, inbox
from storage.db import session_scope
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_server import GitHubStandin

ROLLBACK_PLAN = (
    "Before activation: ship a point release that removes the fork block and announce it on"
    " all channels. After activation: coordinated fork back at a new epoch agreed on an"
    " emergency call; every client verifies the state root at the fork block against the"
    " others."
)
MISSING_ROLLBACK = valid_body(**{ROLLBACK_PLAN: "_No response_"})


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(engine_url, github)
    yield b
    await b.close()


def _verify(bot: Bot) -> None:
    with session_scope(bot.rt.engine) as session:
        result = audit.verify(session)
    assert result.ok, result.reason


async def _open(bot: Bot, body: str) -> int:
    number = bot.standin.store.add_issue(
        "Raise the gas target", body, "alice-aurora", ("upgrade-proposal",)
    ).number
    response = await bot.post("issues", bot.issue_payload("opened", number, body))
    assert response.status_code == 202
    await bot.settle()
    return number


async def test_issue_form_to_decision(bot: Bot) -> None:
    """Incomplete → fixed by edit → review → voting → votes (replaced, refused, edited, deleted,
    concern raised and resolved) → accepted after the confirm period, all from GitHub events."""
    n = await _open(bot, MISSING_ROLLBACK)
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert view["state"] == "draft"
    [tracking] = bot.tracking(n)
    assert "Rollback plan" in tracking.body and "stays a draft" in tracking.body
    assert bot.labels(n) >= {"charter:draft"}

    response = await bot.post(
        "issues", bot.issue_payload("edited", n, valid_body(), changes={"body": {"from": "x"}})
    )
    assert response.status_code == 202
    await bot.settle()
    assert bot.tracking(n)[0].id == tracking.id, "the tracking comment is edited in place"
    assert "stays a draft" not in bot.tracking(n)[0].body
    assert "review ends" in bot.tracking(n)[0].body
    assert "charter:review" in bot.labels(n) and "charter:draft" not in bot.labels(n)

    await bot.comment(n, "/vote approve too early", "alice-aurora")
    await bot.settle()
    assert any("has not opened yet" in c.body for c in bot.issue_comments(n))

    await bot.advance(later(days=7, seconds=1))
    assert (await bot.http.get(f"/api/proposals/{n}")).json()["state"] == "voting"
    assert "charter:voting" in bot.labels(n)

    await bot.comment(n, "/vote reject not yet", "alice-aurora")
    await bot.comment(n, "I agree.\n/vote approve ship it", "bob-aurora")  # same seat: replaces
    await bot.comment(n, "/vote approve", "mallory")  # not a voter
    dmitri = await bot.comment(n, "/vote reject", "dmitri-borealis")
    carmen = await bot.comment(n, "/vote approve", "carmen-borealis")
    await bot.comment(n, "/concern spec-gap: the spec omits the fork block", "emeka-cirrus")
    await bot.settle()
    assert any("not a voter" in c.body and "mallory" in c.body for c in bot.issue_comments(n))

    # Borealis: dmitri rejected, then carmen approved; deleting carmen's comment brings back
    # dmitri's reject, editing dmitri's to approve settles it.
    deleted = bot.comment_payload(
        "deleted", n, "/vote approve", "carmen-borealis", comment_id=carmen
    )
    assert (await bot.post("issue_comment", deleted)).status_code == 202
    await bot.settle()
    seats = {
        row["label"]: row["choice"]
        for row in (await bot.http.get(f"/api/proposals/{n}")).json()["seat_matrix"]
    }
    assert seats["Aurora"] == "approve" and seats["Borealis"] == "reject"
    await bot.advance(later(seconds=5))
    edited = bot.comment_payload(
        "edited", n, "/vote approve on reflection", "dmitri-borealis", comment_id=dmitri
    )
    assert (await bot.post("issue_comment", edited)).status_code == 202
    await bot.settle()

    for login in ("emeka-cirrus", "fatima-dorado", "hana-eridanus"):
        await bot.comment(n, "/vote approve", login)
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert view["tally"]["approve"] == 5 and view["tally"]["outcome"] == "pending"
    assert [c["resolved"] for c in view["concerns"]] == [False]

    await bot.comment(n, "/resolve spec-gap", "emeka-cirrus")
    await bot.settle()
    assert (await bot.http.get(f"/api/proposals/{n}")).json()["state"] == "voting"  # confirm: 24h
    await bot.advance(later(hours=24, seconds=5))
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert view["state"] == "accepted"
    assert view["decision"]["outcome"] == "accepted" and view["decision"]["charter_version"] == 3
    assert "charter:accepted" in bot.labels(n) and "charter:voting" not in bot.labels(n)
    assert any("**Decision: accepted.**" in c.body for c in bot.issue_comments(n))
    assert len(bot.tracking(n)) == 1
    _verify(bot)


def _seats(view: dict[str, object]) -> dict[str, str]:
    return {row["label"]: row["choice"] for row in view["seat_matrix"]}  # type: ignore[attr-defined,index]


async def test_editing_an_old_vote_comment_does_not_recast_it(bot: Bot) -> None:
    """A vote is dated by when it was cast: fixing a typo in an old vote comment leaves a later
    vote for the same seat in force; an edit that changes the vote recasts it at the edit."""
    n = await _open(bot, valid_body())
    await bot.advance(later(days=7, seconds=1))
    voting_at = bot.clock.now()
    alice = await bot.comment(n, "/vote reject not ready", "alice-aurora")
    first = await bot.comment(n, "/vote reject", "dmitri-borealis")
    await bot.settle()
    await bot.advance(later(seconds=5))
    await bot.comment(n, "/vote approve", "bob-aurora")  # same seat as alice: replaces hers
    await bot.comment(n, "/vote approve on reflection", "dmitri-borealis")  # his own, again
    await bot.settle()
    seats = _seats((await bot.http.get(f"/api/proposals/{n}")).json())
    assert (seats["Aurora"], seats["Borealis"]) == ("approve", "approve")

    await bot.advance(later(seconds=5))
    for comment_id, body, login in (
        (alice, "/vote reject not ready yet (typo fixed)", "alice-aurora"),
        (first, "Edited for formatting.\n/vote reject", "dmitri-borealis"),
    ):
        edit = bot.comment_payload("edited", n, body, login, comment_id, created=voting_at)
        assert (await bot.post("issue_comment", edit)).status_code == 202
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert (_seats(view)["Aurora"], _seats(view)["Borealis"]) == ("approve", "approve")
    reasons = {v["voter"]: v["reason"] for v in view["votes"]}
    assert reasons["alice-aurora"] == "not ready yet (typo fixed)"  # the reworded reason shows

    await bot.advance(later(seconds=5))
    edit = bot.comment_payload("edited", n, "/vote abstain", "alice-aurora", alice, voting_at)
    assert (await bot.post("issue_comment", edit)).status_code == 202
    await bot.settle()
    assert _seats((await bot.http.get(f"/api/proposals/{n}")).json())["Aurora"] == "abstain"
    _verify(bot)


async def test_a_comment_first_seen_edited_is_dated_by_its_creation(bot: Bot) -> None:
    """A vote comment the bot first sees already edited (a poll) is dated by its creation,
    like any other: a typo fixed later must not push a vote cast in time past a deadline. So
    a later vote for the same seat (alice's) stands."""
    n = await _open(bot, valid_body())
    await bot.advance(later(days=7, seconds=1))
    created = bot.clock.now()
    await bot.advance(later(seconds=5))
    await bot.comment(n, "/vote reject", "alice-aurora")
    await bot.advance(later(seconds=5))
    edited = bot.comment_payload("edited", n, "/vote approve", "bob-aurora", created=created)
    assert (await bot.post("issue_comment", edited)).status_code == 202
    await bot.settle()
    assert _seats((await bot.http.get(f"/api/proposals/{n}")).json())["Aurora"] == "reject"


async def test_forged_signature_is_refused_before_parsing(bot: Bot) -> None:
    """A wrong signature gets 401, is counted, and nothing is stored."""
    payload = bot.issue_payload("opened", 1, valid_body())
    response = await bot.post("issues", payload, secret="not the secret")
    assert response.status_code == 401
    assert bot.rt.receiver.stats.rejected == {"bad-signature": 1}
    with session_scope(bot.rt.engine) as session:
        assert inbox.counts(session)["total"] == 0


async def test_same_delivery_five_times_concurrently_has_one_effect(bot: Bot) -> None:
    """GitHub's redelivery reuses the delivery id: five concurrent copies and one a day later
    are all acknowledged, and exactly one proposal-opened entry is recorded."""
    number = bot.standin.store.add_issue(
        "Raise", valid_body(), "alice-aurora", ("upgrade-proposal",)
    ).number
    payload = bot.issue_payload("opened", number, valid_body())
    responses = await asyncio.gather(
        *(bot.post("issues", payload, delivery="d-1") for _ in range(5))
    )
    assert [r.status_code for r in responses] == [202] * 5
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    await bot.settle()
    await bot.advance(later(days=1))
    again = await bot.post("issues", payload, delivery="d-1")
    assert again.status_code == 202 and again.json()["duplicate"] is True
    await bot.settle()
    with session_scope(bot.rt.engine) as session:
        kinds = [e.kind for e in audit_query.entries(session)]
    assert kinds.count("proposal-opened") == 1
    _verify(bot)


async def test_ping_is_answered_and_oversized_body_refused(bot: Bot) -> None:
    ping = await bot.post("ping", {"zen": "Design for failure.", "hook_id": 1})
    assert ping.status_code == 200 and ping.json()["zen"] == "Design for failure."
    big = b"x" * (25 * 1024 * 1024 + 1)
    response = await bot.http.post(
        "/github/webhook", content=big, headers={"X-GitHub-Event": "issues"}
    )
    assert response.status_code == 413


async def test_secondary_rate_limit_answer_is_waited_out(bot: Bot) -> None:
    """A 403 secondary-limit answer makes the relay wait at least 60 s, then it succeeds."""
    bot.standin.fail_next(1, kind="secondary")
    await _open(bot, valid_body())
    assert any(wait >= 60 for wait in bot.sleeps.waited)
    assert len(bot.tracking(1)) == 1
    _verify(bot)


async def test_api_lists_proposals(bot: Bot) -> None:
    n = await _open(bot, valid_body())
    listing = (await bot.http.get("/api/proposals")).json()["proposals"]
    assert [p["number"] for p in listing] == [n]
    assert set(listing[0]) >= {"number", "title", "track", "state", "tally"}
    spec = (await bot.http.get("/api/openapi.json")).json()
    assert "/api/proposals/{number}" in spec["paths"]
    assert (await bot.http.get("/api/proposals/999")).status_code == 404
    assert json.loads((await bot.http.get("/readyz")).text)["migrations"] == "current"
