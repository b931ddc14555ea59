"""Poll mode end to end: no webhook at all, the same outcome as webhooks.

Issues and comments are created in the stand-in's store (as people would on GitHub); the
runtime's poll step (``Runtime._poll``) turns them into inbox rows with source ``poll``, the
inbox worker runs them through the same handler as webhook deliveries, and the relay writes
back through PyGithub. The stand-in records every request and keeps a primary rate budget.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from storage import audit, audit_query, inbox
from storage.db import session_scope
from storage.models.core import InboxRow
from tests.bot.harness import REPO, Bot, later, valid_body
from tests.standins.github_server import GitHubStandin

ISSUES = rf"/repos/{REPO}/issues"


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(engine_url, github, github_mode="poll")
    yield b
    await b.close()


async def poll(bot: Bot) -> int:
    """One poll step of the runtime, then the worker and relays until quiet."""
    stored = await bot.rt._poll(bot.clock.now())
    await bot.settle()
    return stored


async def poll_until_quiet(bot: Bot) -> None:
    """The relay's own writes (tracking comment, labels) change the repository; poll them in."""
    for _ in range(5):
        if not await poll(bot):
            return
    raise AssertionError("polling did not become quiet")


def inbox_rows(bot: Bot) -> list[tuple[str, str]]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(select(InboxRow).order_by(col(InboxRow.id))).all()
        return [(r.source, r.key) for r in rows]


def audit_kinds(bot: Bot, subject: str | None = None) -> list[str]:
    with session_scope(bot.rt.engine) as session:
        return [e.kind for e in audit_query.entries(session, subject=subject)]


def verify(bot: Bot) -> None:
    with session_scope(bot.rt.engine) as session:
        result = audit.verify(session)
    assert result.ok, result.reason


async def state_of(bot: Bot, n: int) -> str:
    return str((await bot.http.get(f"/api/proposals/{n}")).json()["state"])


async def test_poll_mode_takes_a_proposal_from_issue_form_to_counted_votes(bot: Bot) -> None:
    """With no webhook, an issue carrying the form body and vote comments are picked up by the
    poll step (inbox source ``poll``), and reach the same outcome as webhooks: the proposal
    enters review with a tracking comment and labels, voting opens, votes are counted."""
    store = bot.standin.store
    issue = store.add_issue("Raise the gas", valid_body(), "alice-aurora", ("upgrade-proposal",))
    n = issue.number
    assert await poll(bot) >= 1
    assert {source for source, _ in inbox_rows(bot)} == {"poll"}
    assert await state_of(bot, n) == "review"
    [tracking] = bot.tracking(n)
    assert "review ends" in tracking.body
    assert "charter:review" in bot.labels(n)
    await poll_until_quiet(bot)

    await bot.advance(later(days=7, seconds=1))
    assert await state_of(bot, n) == "voting"
    await poll_until_quiet(bot)

    bot.clock.advance(later(seconds=10))
    store.now = bot.clock.now()
    store.add_comment(n, "/vote approve ship it", "alice-aurora")
    store.add_comment(n, "/vote reject", "dmitri-borealis")
    store.add_comment(n, "/vote approve", "mallory")  # not a voter: refused, answered once
    await poll_until_quiet(bot)

    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert (view["tally"]["approve"], view["tally"]["reject"]) == (1, 1)
    assert {v["voter"] for v in view["votes"]} == {"alice-aurora", "dmitri-borealis"}
    refusals = [c for c in bot.issue_comments(n) if "not a voter" in c.body]
    assert len(refusals) == 1 and "mallory" in refusals[0].body
    assert len(bot.tracking(n)) == 1
    assert {source for source, _ in inbox_rows(bot)} == {"poll"}
    assert audit_kinds(bot, f"proposal:{n}").count("vote-cast") == 2
    verify(bot)


async def test_quiet_repository_poll_is_one_free_304_and_no_events(bot: Bot) -> None:
    """A second poll of an unchanged repository sends If-None-Match, gets 304, costs no rate
    budget (the stand-in's ``rate_remaining``) and stores no inbox rows."""
    store = bot.standin.store
    n = store.add_issue("Raise", valid_body(), "alice-aurora", ("upgrade-proposal",)).number
    store.add_comment(n, "looks good", "bob-aurora")
    await poll_until_quiet(bot)
    rows, budget = inbox_rows(bot), bot.standin.rate_remaining
    seen = len(bot.standin.requests)

    assert await poll(bot) == 0
    new = bot.standin.requests[seen:]
    assert [(r.method, r.path, r.status) for r in new] == [("GET", f"/repos/{REPO}/issues", 304)]
    assert new[0].headers.get("if-none-match")
    assert bot.standin.rate_remaining == budget
    assert inbox_rows(bot) == rows
    with session_scope(bot.rt.engine) as session:
        assert inbox.counts(session)["pending"] == 0
    assert audit_kinds(bot).count("proposal-opened") == 1


async def test_comment_seen_by_webhook_and_poller_is_processed_once(bot: Bot) -> None:
    """The same comment delivered by a webhook and then found by the poller (and the other way
    round) is stored twice in the inbox but acted on once: one vote, one audit entry."""
    store = bot.standin.store
    n = store.add_issue("Raise", valid_body(), "alice-aurora", ("upgrade-proposal",)).number
    await poll_until_quiet(bot)
    await bot.advance(later(days=7, seconds=1))
    await poll_until_quiet(bot)

    bot.clock.advance(later(seconds=10))
    store.now = bot.clock.now()
    first = store.add_comment(n, "/vote approve", "alice-aurora")
    payload = bot.comment_payload(
        "created", n, first.body, first.author, comment_id=first.id, created=first.created_at
    )
    assert (await bot.post("issue_comment", payload)).status_code == 202
    await bot.settle()
    await poll_until_quiet(bot)  # the poller finds the same comment afterwards

    bot.clock.advance(later(seconds=10))
    store.now = bot.clock.now()
    second = store.add_comment(n, "/vote reject", "dmitri-borealis")
    await poll_until_quiet(bot)  # this time the poller is first …
    payload = bot.comment_payload(
        "created", n, second.body, second.author, comment_id=second.id, created=second.created_at
    )
    assert (await bot.post("issue_comment", payload)).status_code == 202  # … the webhook late
    await bot.settle()

    keys = [key for _, key in inbox_rows(bot)]
    for comment in (first, second):
        assert sum(f"comment:{comment.id}:" in key for key in keys) == 1  # polled once
    assert {source for source, _ in inbox_rows(bot)} == {"poll", "github"}
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert (view["tally"]["approve"], view["tally"]["reject"]) == (1, 1)
    assert audit_kinds(bot, f"proposal:{n}").count("vote-cast") == 2
    verify(bot)


async def test_poll_mode_records_title_and_body_edits_after_voting_opened(bot: Bot) -> None:
    """An edit found by polling after voting opened is recorded (``proposal-edited-after-
    voting``, naming title and/or body) once; the bot's own label changes are not edits."""
    store = bot.standin.store
    n = store.add_issue("Raise", valid_body(), "alice-aurora", ("upgrade-proposal",)).number
    await poll_until_quiet(bot)
    await bot.advance(later(days=7, seconds=1))
    await poll_until_quiet(bot)  # includes the charter:voting label the relay set
    assert await state_of(bot, n) == "voting"
    assert "proposal-edited-after-voting" not in audit_kinds(bot)

    for changes, expected in (
        ({"title": "Raise the gas target to 40M"}, ["title"]),
        ({"body": valid_body(**{"30M to 36M": "30M to 40M"})}, ["body"]),
    ):
        bot.clock.advance(later(seconds=30))
        store.now = bot.clock.now()
        store.edit_issue(n, **changes)
        await poll_until_quiet(bot)
        with session_scope(bot.rt.engine) as session:
            entry = audit_query.entries(session, kind="proposal-edited-after-voting")[0]
            assert json.loads(entry.payload)["changed"] == expected
    assert audit_kinds(bot).count("proposal-edited-after-voting") == 2
    verify(bot)


async def test_the_poll_loop_runs_at_most_once_per_interval(
    bot: Bot, github: GitHubStandin
) -> None:
    """The leader's loops wake on every stored event; the poll step still asks GitHub only
    once per CHARTERBOT_GITHUB_POLL_SECONDS."""
    [step] = [step for name, step, _ in bot.rt.loop_specs() if name == "poll"]

    def issue_lists() -> int:
        return sum(1 for r in github.requests if r.path.endswith("/issues"))

    await step(bot.clock.now())
    asked = issue_lists()
    assert asked >= 1
    assert await step(bot.clock.now() + timedelta(seconds=59)) == 0
    assert issue_lists() == asked
    await step(bot.clock.now() + timedelta(seconds=60))
    assert issue_lists() > asked


async def test_a_poll_while_github_holds_the_token_calls_nothing_and_fails_nothing(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """GitHub asked the token to wait (another caller got the 429): the poll step makes no
    call, stores nothing and is no loop failure; the next poll after the wait reads again."""
    bot.standin.store.add_issue(
        "Raise the gas", valid_body(), "alice-aurora", ("upgrade-proposal",)
    )
    assert bot.gateway is not None
    throttle = bot.gateway._throttle
    throttle._block(600.0, 429, "secondary rate limit")
    caplog.set_level(logging.INFO, logger="charterbot")
    asked = len(bot.standin.requests)
    assert await bot.rt._poll(bot.clock.now()) == 0
    assert len(bot.standin.requests) == asked
    assert "github poll skipped" in caplog.text
    throttle._blocked_until = 0.0  # the wait is over
    assert await poll(bot) >= 1
