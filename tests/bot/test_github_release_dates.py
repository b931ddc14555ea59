"""A release's readiness report is dated by GitHub's ``published_at`` on both paths
(charter.release_time), over the wire stand-in.

Before, a polled release was dated when the worker handled it (up to a poll interval after its
publication) and a webhook's on arrival, so the soak clock and the go/no-go cutoff started late
and differently by path. Aurora's repository is ``meridian-net/aurora``.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from bot.github.wire import format_time
from bot.messages import Actor, plain_text
from charter.effects import Audit
from storage import rollout_reports as report_store, rollouts as store
from storage.db import session_scope
from tests.bot.harness import Bot
from tests.bot.rollouts.conftest import webhook
from tests.bot.test_github_poll_releases import AURORA, AUTHOR, accept, poll
from tests.standins.github_server import GitHubStandin

M = timedelta(minutes=1)
BOREALIS = Actor(login="carmen-borealis", surface="console")


def report_times(bot: Bot) -> list[tuple[str, str, datetime]]:
    with session_scope(bot.rt.engine) as session:
        return [
            (r.client, r.stage, r.at) for _, r in report_store.ready_reports(session, proposal=1)
        ]


def started(bot: Bot) -> datetime:
    with session_scope(bot.rt.engine) as session:
        rollout = store.load_rollout(session, 1, bot.gov.charter)
    assert rollout is not None
    return rollout.started_at


@pytest.fixture
async def polled(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, github_mode="poll")
    yield b
    await b.close()


async def test_a_polled_release_is_dated_by_its_publication_not_by_the_poll(polled: Bot) -> None:
    """Published at T, read and handled 7 minutes later: the report (so the staging soak
    clock it starts) counts from T."""
    accept(polled)
    await polled.advance(M)
    rec = polled.standin.store.add_release(AURORA, "v4.2.0", "charterbot: ready 1 staging", AUTHOR)
    assert rec.published_at is not None
    await polled.advance(7 * M)
    assert await poll(polled) == 1
    assert report_times(polled) == [("aurora", "staging", rec.published_at)]
    with session_scope(polled.rt.engine) as session:
        rollout = store.load_rollout(session, 1, polled.gov.charter)
    assert rollout is not None
    assert rollout.stage_entered_at == {"staging": rec.published_at}


def _published(bot: Bot, ago: timedelta | None) -> dict[str, object]:
    payload = copy.deepcopy(webhook("release", "published"))
    payload["repository"]["full_name"] = AURORA
    stamp = None if ago is None else format_time(bot.clock.now() - ago)
    payload["release"].update(
        tag_name="v4.2.0", body="charterbot: ready 1 staging", published_at=stamp
    )
    payload["release"]["author"]["login"] = AUTHOR
    return payload


WEBHOOK_CASES = [
    # (what, published this long before arrival (None: not given), dated: "published" |
    #  "arrival" | "start")
    ("three minutes before: its publication", 3 * M, "published"),
    ("not given: on arrival", None, "arrival"),
    ("an hour ahead of our clock: a wrong clock, on arrival", -60 * M, "arrival"),
    ("ahead within the clock skew: on arrival, never in the future", -2 * M, "arrival"),
    ("before the rollout started (a late redelivery): the start", 60 * M, "start"),
]


@pytest.mark.parametrize(("what", "ago", "dated"), WEBHOOK_CASES, ids=[c[0] for c in WEBHOOK_CASES])
async def test_a_webhook_release_is_dated_by_its_publication_when_sane(
    sqlite_url: str, github: GitHubStandin, what: str, ago: timedelta | None, dated: str
) -> None:
    bot = Bot.fresh(sqlite_url, github)
    try:
        accept(bot)
        await bot.advance(10 * M)
        arrival = bot.clock.now()
        assert (await bot.post("release", _published(bot, ago))).status_code == 202
        await bot.settle()
        expected = {
            "published": arrival - (ago or M),
            "arrival": arrival,
            "start": started(bot),
        }[dated]
        assert report_times(bot) == [("aurora", "staging", expected)]
    finally:
        await bot.close()


async def test_a_release_published_before_an_earlier_report_is_not_ordered_before_it(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """Borealis reports at T+5; aurora's release, published at T+2, arrives at T+9: it is dated
    T+5 (it was there by then), never before borealis's report; the soak clock of staging
    (every client on it) starts then, not at T+2 when borealis's release was not there."""
    bot = Bot.fresh(sqlite_url, github)
    try:
        accept(bot, ("aurora", "borealis"))
        start = bot.clock.now()
        await bot.advance(5 * M)
        reply = bot.gov.run_sync("ready 1 borealis staging v1.19.0 v1.19.0", BOREALIS)
        assert reply.ok, plain_text(reply)
        await bot.advance(4 * M)
        assert (await bot.post("release", _published(bot, 7 * M))).status_code == 202
        await bot.settle()
        assert report_times(bot) == [
            ("borealis", "staging", start + 5 * M),
            ("aurora", "staging", start + 5 * M),
        ]
        with session_scope(bot.rt.engine) as session:
            rollout = store.load_rollout(session, 1, bot.gov.charter)
        assert rollout is not None
        assert rollout.stage_entered_at == {"staging": start + 5 * M}
        assert rollout.latest_report("aurora", "staging") is not None
    finally:
        await bot.close()


async def test_not_dated_before_the_rollout_last_entered_a_stage(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """A plain advance keeps no time in the rollout, only its ``stage-entered`` audit entry:
    a release published before it (at S+3, the entry at S+8) is dated at the entry."""
    bot = Bot.fresh(sqlite_url, github)
    try:
        accept(bot)
        start = bot.clock.now()
        await bot.advance(8 * M)
        with session_scope(bot.rt.engine) as session:
            entered = Audit("stage-entered", "rollout:1", {"stage": "staging", "gates": []})
            bot.gov.effects(session, [entered], "ines-coord", bot.clock.now())
        await bot.advance(2 * M)
        assert (await bot.post("release", _published(bot, 7 * M))).status_code == 202
        await bot.settle()
        assert report_times(bot) == [("aurora", "staging", start + 8 * M)]
    finally:
        await bot.close()
