"""A ready line added to a release by a later edit, and a draft published long after it was
created, over the wire stand-in.

Before, only a release's ``published`` delivery was acted on and a polled release was stored
once, so a line added by an edit was seen by neither path; and a poll read the newest 20
releases *by creation*, so an old draft published now was not among them.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.github.poll_releases import ReleaseReader
from bot.github.wire import format_time
from storage import rollout_reports as report_store, rollouts as store
from storage.db import session_scope
from tests.bot.harness import Bot
from tests.bot.rollouts.conftest import webhook
from tests.bot.test_github_poll_releases import (
    AURORA,
    AUTHOR,
    accept,
    outcome,
    poll,
    polled_keys,
    release_requests,
)
from tests.standins.github_server import GitHubStandin

M = timedelta(minutes=1)
STAGING = "Faster sync.\ncharterbot: ready 1 staging\n"
BOTH = STAGING + "charterbot: ready 1 canary\n"


def reports(bot: Bot) -> list[tuple[str, str]]:
    with session_scope(bot.rt.engine) as session:
        return [(r.stage, r.version) for _, r in report_store.ready_reports(session, proposal=1)]


def payload(bot: Bot, action: str, body: str, changes: dict[str, Any] | None) -> dict[str, Any]:
    data = copy.deepcopy(webhook("release", "published"))
    data["action"] = action
    data["repository"]["full_name"] = AURORA
    data["release"].update(tag_name="v4.2.0", body=body, published_at=format_time(bot.start))
    data["release"]["author"]["login"] = AUTHOR
    if changes is not None:
        data["changes"] = changes
    return data


@pytest.fixture
async def hooked(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    accept(b)
    await b.advance(M)
    b.start = b.clock.now()  # type: ignore[attr-defined]
    yield b
    await b.close()


async def test_a_webhook_edit_that_adds_a_line_reports_it_once(hooked: Bot) -> None:
    """Published for staging; an edit adds canary: canary is reported, dated on the edit's
    arrival (the line was not there at publication). The same delivery again, an edit of the
    name only, an edit elsewhere in the body, and the line taken out and put back: nothing."""
    bot = hooked
    assert (await bot.post("release", payload(bot, "published", STAGING, None))).status_code == 202
    await bot.settle()
    await bot.advance(30 * M)
    edit = payload(bot, "edited", BOTH, {"body": {"from": STAGING}})
    assert (await bot.post("release", edit, delivery="edit-1")).status_code == 202
    await bot.settle()
    assert reports(bot) == [("staging", "v4.2.0"), ("canary", "v4.2.0")]
    with session_scope(bot.rt.engine) as session:
        rollout = store.load_rollout(session, 1, bot.gov.charter)
    assert rollout is not None
    canary = rollout.latest_report("aurora", "canary")
    assert canary is not None and canary.at == bot.clock.now()
    again = [
        (edit, "edit-1"),  # redelivered
        (payload(bot, "edited", BOTH, {"name": {"from": "old"}}), "name"),
        (payload(bot, "edited", BOTH + "More notes.\n", {"body": {"from": BOTH}}), "notes"),
        (payload(bot, "edited", STAGING, {"body": {"from": BOTH}}), "out"),
        (payload(bot, "edited", BOTH, {"body": {"from": STAGING}}), "back"),
    ]
    for data, delivery in again:
        assert (await bot.post("release", data, delivery=delivery)).status_code == 202
        await bot.settle()
    assert reports(bot) == [("staging", "v4.2.0"), ("canary", "v4.2.0")]


async def test_an_edit_of_a_draft_reports_nothing(hooked: Bot) -> None:
    """A draft's body is read when it is published (its ``published`` delivery)."""
    data = payload(hooked, "edited", STAGING, {"body": {"from": ""}})
    data["release"]["draft"] = True
    assert (await hooked.post("release", data)).status_code == 202
    await hooked.settle()
    assert reports(hooked) == []


@pytest.fixture
async def polled(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, github_mode="poll")
    yield b
    await b.close()


async def test_a_polled_edit_that_adds_a_line_reports_it_once(polled: Bot) -> None:
    """Read with staging, later edited to add canary: the next poll stores the edit and canary
    is reported, dated when handled; later polls, an edit elsewhere in the body and a
    restarted reader (the inbox remembers) store nothing more."""
    bot = polled
    accept(bot)
    await bot.advance(M)
    rec = bot.standin.store.add_release(AURORA, "v4.2.0", STAGING, AUTHOR)
    await bot.advance(M)
    assert await poll(bot) == 1
    rec.body = BOTH
    await bot.advance(10 * M)
    assert await poll(bot) == 1
    assert reports(bot) == [("staging", "v4.2.0"), ("canary", "v4.2.0")]
    canary = [r for r in outcome(bot)["reports"] if r.stage == "canary"]
    assert [r.at for r in canary] == [bot.clock.now()]
    rec.body = BOTH + "More notes.\n"
    await bot.advance(M)
    assert await poll(bot) == 0
    bot.rt.releases = ReleaseReader(
        bot.rt.engine, bot.gateway, lambda: bot.gov.charter, bot.rt.store_and_wake
    )
    await bot.advance(M)
    assert await poll(bot) == 0
    assert reports(bot) == [("staging", "v4.2.0"), ("canary", "v4.2.0")]
    assert len(polled_keys(bot)) == 2


async def test_a_polled_line_added_to_a_release_read_without_one_is_dated_when_seen(
    polled: Bot,
) -> None:
    """Read with no ready line; an edit adds one: reported once, dated when the poll saw it,
    not at the release's publication (the line was not there then)."""
    bot = polled
    accept(bot)
    await bot.advance(M)
    rec = bot.standin.store.add_release(AURORA, "v4.2.0", "Faster sync.", AUTHOR)
    await bot.advance(M)
    assert await poll(bot) == 0
    rec.body = STAGING
    await bot.advance(20 * M)
    assert await poll(bot) == 1
    assert [(r.stage, r.at) for r in outcome(bot)["reports"]] == [("staging", bot.clock.now())]
    await bot.advance(M)
    assert await poll(bot) == 0


def _old_draft_then_others(bot: Bot, others: int) -> Any:
    """A draft made first, then ``others`` releases with no line; then the draft is published."""
    draft = bot.standin.store.add_release(AURORA, "v4.2.0", STAGING, AUTHOR, draft=True)
    for i in range(others):
        bot.standin.store.add_release(AURORA, f"v4.1.{i}", "Notes.", AUTHOR)
    draft.draft, draft.published_at = False, bot.standin.store.now
    return draft


async def test_a_draft_published_long_after_it_was_created_is_read(polled: Bot) -> None:
    """25 releases created after the draft: the poll still finds it once published."""
    accept(polled)
    await polled.advance(M)
    _old_draft_then_others(polled, 25)
    await polled.advance(M)
    assert await poll(polled) == 1
    assert reports(polled) == [("staging", "v4.2.0")]


async def test_pages_are_read_up_to_the_bound_and_stop_at_the_horizon(polled: Bot) -> None:
    """Ten a page: the draft behind 25 others is on page 3, read; behind 35 it is past the
    bound (3 pages) and is not; and releases created before the horizon end the reading."""
    accept(polled)
    await polled.advance(M)
    polled.rt.releases = ReleaseReader(
        polled.rt.engine,
        polled.gateway,
        lambda: polled.gov.charter,
        polled.rt.store_and_wake,
        per_page=10,
    )
    far = _old_draft_then_others(polled, 35)
    await polled.advance(M)
    assert await poll(polled) == 0
    assert [p.split("?")[0] for p in release_requests(polled.standin)] == [
        f"/repos/{AURORA}/releases"
    ] * 3
    polled.standin.store.releases.remove(far)
    _old_draft_then_others(polled, 15)  # page 3 of the 51 now
    await polled.advance(M)
    assert await poll(polled) == 1
    assert reports(polled) == [("staging", "v4.2.0")]
    before = len(release_requests(polled.standin))
    for rec in polled.standin.store.releases[:-11]:  # all but page 1 and one: made long ago
        rec.created_at -= timedelta(days=60)
    await polled.advance(M)
    await poll(polled)
    assert len(release_requests(polled.standin)) - before == 2  # page 2 reached the horizon


@pytest.mark.parametrize("edit_came", [True, False])
async def test_webhook_mode_reads_back_an_edit_whose_webhook_was_lost(
    hooked: Bot, edit_came: bool
) -> None:
    """The ``published`` webhook came (staging); the edit adding canary came too, or was lost:
    the releases loop stores nothing more, or the edit, and canary is reported once."""
    bot = hooked
    rec = bot.standin.store.add_release(AURORA, "v4.2.0", STAGING, AUTHOR)
    first = payload(bot, "published", STAGING, None)
    first["release"]["id"] = rec.id
    assert (await bot.post("release", first)).status_code == 202
    await bot.advance(M)
    rec.body = BOTH
    if edit_came:
        edit = payload(bot, "edited", BOTH, {"body": {"from": STAGING}})
        edit["release"]["id"] = rec.id
        assert (await bot.post("release", edit)).status_code == 202
    await bot.advance(11 * M)  # past WEBHOOK_SETTLE
    step = {name: step for name, step, _ in bot.rt.loop_specs()}["github-releases"]
    assert await step(bot.clock.now()) == int(not edit_came)
    await bot.settle()
    assert reports(bot) == [("staging", "v4.2.0"), ("canary", "v4.2.0")]
    assert len(polled_keys(bot)) == int(not edit_came)
