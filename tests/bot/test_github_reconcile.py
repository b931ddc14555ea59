"""Webhook mode loses nothing GitHub failed to deliver: with the webhook's id configured, the
leader fetches every event whose attempts all failed and processes it like a delivery.

GitHub's stand-in records the attempts (its hook-delivery endpoints); the events are the real
payload shapes the harness builds from shared/fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.github.reconcile import WATERMARK
from storage import inbox, state
from storage.db import read_scope
from tests.bot.harness import Bot, later, valid_body
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(engine_url, github, github_hook_id=github.store.hook_id)
    yield b
    await b.close()


def _detail_fetches(github: GitHubStandin) -> int:
    return sum(1 for r in github.requests if "/deliveries/" in r.path)


async def test_failed_deliveries_are_fetched_and_processed_once(
    bot: Bot, github: GitHubStandin
) -> None:
    assert bot.rt.reconciler is not None
    [check] = [step for name, step, _ in bot.rt.loop_specs() if name == "reconcile"]
    store = github.store
    n = store.add_issue("Raise the gas target", valid_body(), "alice-aurora", ("upgrade-proposal",))
    store.add_delivery("issues", bot.issue_payload("opened", n.number, valid_body()), 502)
    assert await check(bot.clock.now()) == 1
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n.number}")).json()
    assert view["state"] == "review"

    await bot.advance(later(days=7, seconds=1))
    # While voting: one vote never reached the bot (it was down), another did but answered
    # too late for GitHub (stored all the same), a third was redelivered by hand and arrived.
    lost = bot.comment_payload("created", n.number, "/vote approve", "alice-aurora")
    late = bot.comment_payload("created", n.number, "/vote approve", "carmen-borealis")
    resent = bot.comment_payload("created", n.number, "/vote approve", "emeka-cirrus")
    lost_try = store.add_delivery("issue_comment", lost, 0)
    first_try = store.add_delivery("issue_comment", late, 504)
    assert (await bot.post("issue_comment", late, delivery=first_try.guid)).status_code == 202
    failed = store.add_delivery("issue_comment", resent, 502)
    store.add_delivery("issue_comment", resent, 200, guid=failed.guid)
    assert (await bot.post("issue_comment", resent, delivery=failed.guid)).status_code == 202
    fetched = _detail_fetches(github)
    assert await check(bot.clock.now()) == 1
    assert _detail_fetches(github) == fetched + 1  # only the lost one
    await bot.settle()
    voters = {
        v["voter"] for v in (await bot.http.get(f"/api/proposals/{n.number}")).json()["votes"]
    }
    assert voters == {"alice-aurora", "carmen-borealis", "emeka-cirrus"}

    # The same moment again: the check waits for its interval (the loops wake on every event).
    listings = sum(1 for r in github.requests if r.path.endswith("/deliveries"))
    assert await check(bot.clock.now()) == 0
    assert sum(1 for r in github.requests if r.path.endswith("/deliveries")) == listings
    # Later: the recent attempts are listed again (they were still settling), nothing is fetched,
    # and the watermark passes them.
    await bot.advance(later(seconds=301))
    assert await check(bot.clock.now()) == 0
    assert _detail_fetches(github) == fetched + 1
    with read_scope(bot.rt.engine) as session:
        assert state.get(session, WATERMARK) == store.deliveries[-1].id
        total = inbox.counts(session)["total"]
    # A redelivery by hand of the recovered event is a duplicate.
    assert (await bot.post("issue_comment", lost, delivery=lost_try.guid)).status_code == 202
    with read_scope(bot.rt.engine) as session:
        assert inbox.counts(session)["total"] == total


@pytest.mark.parametrize(
    ("settings", "runs"),
    [
        ({"github_hook_id": 42}, True),
        ({}, False),  # no hook id: nothing to ask GitHub about
        ({"github_hook_id": 42, "github_mode": "poll"}, False),  # polling already catches up
    ],
)
async def test_the_leader_runs_the_check_with_a_hook_id_in_webhook_mode(
    sqlite_url: str, github: GitHubStandin, settings: dict[str, object], runs: bool
) -> None:
    b = Bot.fresh(sqlite_url, github, github_reconcile_seconds=120, **settings)
    try:
        specs = {name: every for name, _, every in b.rt.loop_specs()}
        assert ("reconcile" in specs) is runs
        assert specs.get("reconcile", 120) == 120
    finally:
        await b.close()
