"""Releases read from GitHub for rollout readiness, end to end over the wire stand-in.

Without webhooks (poll mode), or with a ``release`` delivery GitHub failed to make (webhook
mode), a client publishing ``charterbot: ready <n> <stage>`` in its release notes reported
nothing: a maintainer had to type ``ready``. The runtime's poll step (``Runtime._poll``), and
in webhook mode its ``github-releases`` loop, asks the stand-in's
``GET /repos/{o}/{r}/releases`` for the clients of the rollouts under way; the releases go to
the inbox as ``release`` webhook payloads and through the same handler as a webhook
(``bot.rollout_watch.on_release``). Aurora's repository is ``meridian-net/aurora``.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.github.poll_releases import ReleaseReader
from bot.github.wire import format_time
from bot.messages import Actor, plain_text
from charter.lifecycle import State
from charter.proposal import Decision
from storage import rollout_reports as report_store, rollouts as store
from storage.db import session_scope
from storage.models.audit import AuditEntry
from storage.models.core import InboxRow
from tests.bot.harness import Bot, open_issue
from tests.bot.rollouts.conftest import CLIENTS, form, webhook
from tests.standins.github_server import GitHubStandin

AURORA = "meridian-net/aurora"
RELEASES = r"/repos/meridian-net/[a-z]+/releases"
AUTHOR = "github-actions[bot]"
MAINTAINER = Actor(login="alice-aurora", surface="console")
# staging is the next stage: recorded; production is too far ahead: refused and audited.
BODY = "## Notes\n\nFaster sync.\n\ncharterbot: ready 1 staging\ncharterbot: ready 1 production\n"


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, github_mode="poll")
    yield b
    await b.close()


def accept(bot: Bot, clients: tuple[str, ...] = ("aurora",), n: int = 1) -> None:
    """Proposal ``n`` accepted for ``clients``: its rollout starts now, nothing reported."""
    open_issue(bot.rt, n, form(clients=clients, likelihood=1, impact=1))
    stored = bot.gov.load(n)
    assert stored is not None
    now = bot.clock.now()
    with session_scope(bot.rt.engine) as session:
        moved = replace(stored.proposal, state=State.ACCEPTED, decided_at=now)
        bot.gov.apply(session, Decision(moved), "charterbot", now)


async def poll(bot: Bot) -> int:
    stored = await bot.rt._poll(bot.clock.now())
    await bot.settle()
    return stored


def stamp(bot: Bot) -> str:
    """The bot's time now as GitHub writes ``published_at``: a webhook's release was published
    as it was delivered."""
    return format_time(bot.clock.now())


def release_requests(github: GitHubStandin) -> list[str]:
    return [r.path for r in github.requests_to("GET", RELEASES)]


def polled_keys(bot: Bot) -> list[str]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(select(InboxRow).order_by(col(InboxRow.id))).all()
        return [r.key for r in rows if r.key.startswith("poll:release:")]


def outcome(bot: Bot) -> dict[str, Any]:
    """What a release changed: the reports, their audit entries and where the rollout is."""
    with session_scope(bot.rt.engine) as session:
        reports = [r for _, r in report_store.ready_reports(session, proposal=1)]
        kinds = ("ready-reported", "release-report-refused")
        audited = session.exec(
            select(AuditEntry).where(col(AuditEntry.kind).in_(kinds)).order_by(col(AuditEntry.seq))
        ).all()
        rollout = store.load_rollout(session, 1, bot.gov.charter)
        entries = []
        for entry in audited:
            payload = json.loads(entry.payload)
            payload.pop("salt", None)
            entries.append((entry.kind, entry.subject, entry.actor, payload))
    assert rollout is not None
    return {"reports": reports, "audit": entries, "positions": dict(rollout.positions)}


async def test_a_polled_release_reports_readiness_as_its_webhook_does(
    sqlite_url: str, tmp_path: Path, github: GitHubStandin
) -> None:
    """The same release, brought by its ``release`` webhook to one bot and read by another's
    poll, leaves the same reports, audit entries and rollout; a second poll stores nothing."""
    hooked = Bot.fresh(sqlite_url, github)
    try:
        accept(hooked)
        await hooked.advance(timedelta(minutes=1))
        payload = copy.deepcopy(webhook("release", "published"))
        payload["repository"]["full_name"] = AURORA
        payload["release"].update(tag_name="v4.2.0", body=BODY, published_at=stamp(hooked))
        payload["release"]["author"]["login"] = AUTHOR
        assert (await hooked.post("release", payload)).status_code == 202
        await hooked.settle()
        by_webhook = outcome(hooked)
    finally:
        await hooked.close()

    polled = Bot.fresh(f"sqlite:///{tmp_path / 'polled.db'}", github, github_mode="poll")
    try:
        accept(polled)
        await polled.advance(timedelta(minutes=1))
        rec = github.store.add_release(AURORA, "v4.2.0", BODY, AUTHOR)
        assert outcome(polled)["reports"] == []
        assert await poll(polled) == 1
        assert outcome(polled) == by_webhook
        assert polled_keys(polled) == [f"poll:release:{AURORA}:{rec.id}"]
        await polled.advance(timedelta(minutes=1))
        assert await poll(polled) == 0  # read again: nothing new
        assert outcome(polled) == by_webhook
        assert release_requests(github) == [f"/repos/{AURORA}/releases"] * 2
    finally:
        await polled.close()
    assert [(r.stage, r.version, r.ref, r.reported_by) for r in by_webhook["reports"]] == [
        ("staging", "v4.2.0", "v4.2.0", AUTHOR)
    ]
    assert [(kind, payload.get("stage")) for kind, _, _, payload in by_webhook["audit"]] == [
        ("ready-reported", "staging"),
        ("release-report-refused", "production"),
    ]
    assert by_webhook["positions"] == {"aurora": 0}  # on staging


def _draft(bot: Bot) -> None:
    bot.standin.store.add_release(AURORA, "v4.2.0", BODY, AUTHOR, draft=True)


def _no_line(bot: Bot) -> None:
    bot.standin.store.add_release(AURORA, "v4.2.0", "Faster sync.", AUTHOR)


def _other_proposal(bot: Bot) -> None:
    bot.standin.store.add_release(AURORA, "v4.2.0", "charterbot: ready 7 staging", AUTHOR)


def _reported_by_hand(bot: Bot) -> None:
    bot.standin.store.add_release(AURORA, "v4.2.0", "charterbot: ready 1 staging", AUTHOR)
    reply = bot.gov.run_sync("ready 1 aurora staging 4.2.1 v4.2.1", MAINTAINER)
    assert reply.ok, plain_text(reply)


@pytest.mark.parametrize("change", [_draft, _no_line, _other_proposal, _reported_by_hand])
async def test_a_release_that_cannot_report_is_not_stored(
    bot: Bot, change: Callable[[Bot], None]
) -> None:
    """A draft, notes without a ready line, a line for no rollout under way, or a release a
    newer report replaced (typed after it was published): nothing goes to the inbox."""
    accept(bot)
    await bot.advance(timedelta(minutes=1))
    change(bot)
    await bot.advance(timedelta(minutes=1))
    assert await poll(bot) == 0
    assert polled_keys(bot) == []
    assert release_requests(bot.standin) == [f"/repos/{AURORA}/releases"]


async def test_a_release_published_before_the_rollout_started_does_not_count(bot: Bot) -> None:
    """Published while #1 was still in review, its webhook would have been refused then; the
    poll does not take it up once #1 is accepted."""
    open_issue(bot.rt, 1, form(clients=("aurora",), likelihood=1, impact=1))
    bot.standin.store.add_release(AURORA, "v4.2.0", "charterbot: ready 1 staging", AUTHOR)
    await bot.advance(timedelta(minutes=1))
    accept_now = bot.gov.load(1)
    assert accept_now is not None
    with session_scope(bot.rt.engine) as session:
        moved = replace(accept_now.proposal, state=State.ACCEPTED, decided_at=bot.clock.now())
        bot.gov.apply(session, Decision(moved), "charterbot", bot.clock.now())
    assert await poll(bot) == 0
    assert outcome(bot)["reports"] == []


async def test_releases_are_stored_in_the_order_they_were_published(bot: Bot) -> None:
    """Two releases for one stage read in one pass: the newer one is the client's report."""
    accept(bot)
    await bot.advance(timedelta(minutes=1))
    bot.standin.store.add_release(AURORA, "v4.2.0", "charterbot: ready 1 staging", AUTHOR)
    await bot.advance(timedelta(minutes=1))
    bot.standin.store.add_release(AURORA, "v4.2.1", "charterbot: ready 1 staging", AUTHOR)
    await bot.advance(timedelta(minutes=1))
    assert await poll(bot) == 2
    with session_scope(bot.rt.engine) as session:
        rollout = store.load_rollout(session, 1, bot.gov.charter)
    assert rollout is not None
    latest = rollout.latest_report("aurora", "staging")
    assert latest is not None
    assert latest.version == "v4.2.1"


async def test_poll_mode_has_no_separate_releases_loop(bot: Bot) -> None:
    assert "github-releases" not in [name for name, _, _ in bot.rt.loop_specs()]


async def test_webhook_mode_reads_them_on_the_reconcile_interval(
    engine_url: str, github: GitHubStandin
) -> None:
    """A release whose webhook never came is read back by the leader's ``github-releases``
    loop, once it is ``WEBHOOK_SETTLE`` old; one its webhook brought is not stored again,
    though what it said was refused (no report shows it was handled)."""
    bot = Bot.fresh(engine_url, github, github_reconcile_seconds=120)
    try:
        accept(bot, ("aurora", "borealis"))
        await bot.advance(timedelta(minutes=1))
        missed = github.store.add_release(AURORA, "v4.2.0", "charterbot: ready 1 staging", AUTHOR)
        came = github.store.add_release(
            "meridian-net/borealis", "v1.19.0", "charterbot: ready 1 production", AUTHOR
        )
        payload = copy.deepcopy(webhook("release", "published"))
        payload["repository"]["full_name"] = "meridian-net/borealis"
        payload["release"].update(id=came.id, tag_name="v1.19.0", body=came.body)
        assert (await bot.post("release", payload)).status_code == 202
        await bot.settle()
        loops = {name: (step, every) for name, step, every in bot.rt.loop_specs()}
        step, every = loops["github-releases"]
        assert every == 120
        assert await step(bot.clock.now()) == 0  # too fresh: its webhook may be on its way
        await bot.advance(timedelta(minutes=10))
        assert await step(bot.clock.now()) == 1
        await bot.settle()
        assert polled_keys(bot) == [f"poll:release:{AURORA}:{missed.id}"]
        with session_scope(bot.rt.engine) as session:
            reports = [
                (r.client, r.version) for _, r in report_store.ready_reports(session, proposal=1)
            ]
        assert reports == [("aurora", "v4.2.0")]
        refused = [
            payload["tag"] for kind, _, _, payload in outcome(bot)["audit"] if "refused" in kind
        ]
        assert refused == ["v1.19.0"]  # once: by its webhook
    finally:
        await bot.close()


async def test_a_pass_reads_at_most_its_cap_and_every_repository_gets_its_turn(
    bot: Bot,
) -> None:
    """Five repositories wanted, two a pass: the ones read longest ago (never: first) first."""
    accept(bot, CLIENTS)
    bot.rt.releases = ReleaseReader(
        bot.rt.engine, bot.gateway, lambda: bot.gov.charter, bot.rt.store_and_wake, limit=2
    )
    passes: list[list[str]] = []
    for _ in range(3):
        before = len(release_requests(bot.standin))
        await bot.advance(timedelta(minutes=1))
        await poll(bot)
        asked = release_requests(bot.standin)[before:]
        passes.append([re.sub(r"/repos/meridian-net/(\w+)/.*", r"\1", p) for p in asked])
    assert passes == [["aurora", "borealis"], ["cirrus", "dorado"], ["eridanus", "aurora"]]


async def test_a_failing_repository_is_logged_and_goes_to_the_back(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """Aurora's listing cannot be read: borealis's release is stored all the same, and
    aurora waits behind cirrus for its next turn."""
    caplog.set_level(logging.INFO, logger="charterbot.github.releases")
    accept(bot, ("aurora", "borealis", "cirrus"))
    await bot.advance(timedelta(minutes=1))
    broken = bot.standin.store.add_release(AURORA, "v4.2.0", "charterbot: ready 1 staging")
    broken.tag = None  # type: ignore[assignment]  # GitHub's answer lacks tag_name
    bot.standin.store.add_release(
        "meridian-net/borealis", "v1.19.0", "charterbot: ready 1 staging", AUTHOR
    )
    bot.rt.releases = ReleaseReader(
        bot.rt.engine, bot.gateway, lambda: bot.gov.charter, bot.rt.store_and_wake, limit=2
    )
    assert await poll(bot) == 1
    await bot.advance(timedelta(minutes=1))
    await poll(bot)
    asked = [
        re.sub(r"/repos/meridian-net/(\w+)/.*", r"\1", p) for p in release_requests(bot.standin)
    ]
    assert asked == ["aurora", "borealis", "cirrus", "aurora"]
    said = [
        (r.levelname, r.getMessage()[:32]) for r in caplog.records if r.name.endswith("releases")
    ]
    assert said == [("WARNING", "releases of meridian-net/aurora ")] * 2


async def test_github_s_rate_limit_holds_the_pass(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """A refusal GitHub asks to wait out longer than the throttle waits in-call ends the pass
    (the other repository is not asked, and none is reported failing); while the shared
    throttle holds, nothing is asked at all; after the wait both are read."""
    caplog.set_level(logging.INFO, logger="charterbot.github.releases")
    accept(bot, ("aurora", "borealis"))
    await bot.advance(timedelta(minutes=1))
    bot.standin.store.add_release(AURORA, "v4.2.0", "charterbot: ready 1 staging", AUTHOR)
    bot.standin.fail_next(1, kind="secondary", retry_after=7200)
    assert await bot.rt._read_releases(bot.clock.now()) == 0
    assert len(bot.standin.requests_to("GET", RELEASES)) == 1  # the refused one
    assert await bot.rt._read_releases(bot.clock.now()) == 0
    assert len(bot.standin.requests_to("GET", RELEASES)) == 1  # held: not called
    bot.sleeps.t += 7200  # the throttle's wall clock: GitHub's wait is over
    assert await bot.rt._read_releases(bot.clock.now()) == 1
    assert [r.status for r in bot.standin.requests_to("GET", RELEASES)] == [403, 200, 200]
    said = [
        (r.levelname, r.getMessage()[:18]) for r in caplog.records if r.name.endswith("releases")
    ]
    assert said == [("INFO", "releases not read:")] * 2


async def _roll_back_for_good(bot: Bot) -> None:
    with session_scope(bot.rt.engine) as session:
        stored = bot.gov.load(1)
        assert stored is not None
        moved = replace(stored.proposal, state=State.ROLLED_BACK)
        bot.gov.apply(session, Decision(moved), "charterbot", bot.clock.now())


async def _complete(bot: Bot) -> None:
    with session_scope(bot.rt.engine) as session:
        rollout = store.load_rollout(session, 1, bot.gov.charter)
        assert rollout is not None
        done = replace(rollout, completed_at=bot.clock.now())
        store.save_rollout(session, done, bot.gov.charter, bot.clock.now())


async def _never_accepted(bot: Bot) -> None:
    pass


@pytest.mark.parametrize("end", [_roll_back_for_good, _complete, _never_accepted])
async def test_nothing_is_asked_while_no_rollout_is_under_way(
    bot: Bot, end: Callable[[Bot], Awaitable[None]]
) -> None:
    """No rollout at all, or one rolled back for good or completed: no release can report."""
    if end is _never_accepted:
        open_issue(bot.rt, 1, form(clients=("aurora",), likelihood=1, impact=1))
    else:
        accept(bot)
    await end(bot)
    bot.standin.store.add_release(AURORA, "v4.2.0", "charterbot: ready 1 staging", AUTHOR)
    await poll(bot)
    assert release_requests(bot.standin) == []


async def _by_webhook(url: str, github: GitHubStandin, body: str) -> dict[str, Any]:
    """What a ``published`` webhook carrying ``body`` leaves (parse, then ``on_release``)."""
    hooked = Bot.fresh(url, github)
    try:
        accept(hooked)
        await hooked.advance(timedelta(minutes=1))
        payload = copy.deepcopy(webhook("release", "published"))
        payload["repository"]["full_name"] = AURORA
        payload["release"].update(tag_name="v4.2.0", body=body, published_at=stamp(hooked))
        payload["release"]["author"]["login"] = AUTHOR
        assert (await hooked.post("release", payload)).status_code == 202
        await hooked.settle()
        return outcome(hooked)
    finally:
        await hooked.close()


async def _by_poll(url: str, github: GitHubStandin, body: str) -> dict[str, Any]:
    """What the poller reading a release with ``body`` leaves (selection, then the same path)."""
    polled = Bot.fresh(url, github, github_mode="poll")
    try:
        accept(polled)
        await polled.advance(timedelta(minutes=1))
        github.store.add_release(AURORA, "v4.2.0", body, AUTHOR)
        await poll(polled)
        return outcome(polled)
    finally:
        await polled.close()


READY_BODIES = [
    # (what, body, the stages reported by either path)
    ("one line", "Notes\ncharterbot: ready 1 staging\n", ["staging"]),
    ("broken after the number", "Notes\ncharterbot: ready 1\nstaging\n", []),
    ("broken after ready", "charterbot: ready\n1 staging", []),
    ("broken after the colon", "charterbot:\nready 1 staging", []),
    ("a blank line between", "charterbot: ready 1\n\nstaging", []),
    ("CRLF line ends", "Notes\r\ncharterbot: ready 1 staging\r\nthanks\r\n", ["staging"]),
    ("tabs and spaces around", " \tcharterbot:\tready #1\tstaging \t\n", ["staging"]),
    ("a line separator is no line end", "charterbot: ready 1 staging\u2028more", []),
]


@pytest.mark.parametrize(("what", "body", "stages"), READY_BODIES, ids=[b[0] for b in READY_BODIES])
async def test_webhook_and_poll_read_the_same_ready_lines(
    sqlite_url: str, tmp_path: Path, github: GitHubStandin, what: str, body: str, stages: list[str]
) -> None:
    """A ready line is one line: the same body reports the same, or nothing, by either path."""
    by_webhook = await _by_webhook(sqlite_url, github, body)
    by_poll = await _by_poll(f"sqlite:///{tmp_path / 'polled.db'}", github, body)
    assert [r.stage for r in by_webhook["reports"]] == stages
    assert by_poll == by_webhook


@pytest.mark.parametrize("action", ["created", "edited", "released", "prereleased", "published"])
async def test_only_a_published_delivery_carries_the_release(
    sqlite_url: str, github: GitHubStandin, action: str
) -> None:
    """Webhook mode: of a release's deliveries only ``published`` is acted on, so only it
    keeps the reader from storing the release: with just another one (the draft's
    ``created``, its ``released``...) arrived, the lost ``published`` one is read back."""
    bot = Bot.fresh(sqlite_url, github, github_reconcile_seconds=120)
    try:
        accept(bot)
        await bot.advance(timedelta(minutes=1))
        rec = github.store.add_release(AURORA, "v4.2.0", "charterbot: ready 1 staging", AUTHOR)
        payload = copy.deepcopy(webhook("release", "published"))
        payload["action"] = action
        payload["repository"]["full_name"] = AURORA
        payload["release"].update(id=rec.id, tag_name="v4.2.0", body=rec.body)
        assert (await bot.post("release", payload)).status_code == 202
        await bot.settle()
        step = {name: step for name, step, _ in bot.rt.loop_specs()}["github-releases"]
        await bot.advance(timedelta(minutes=11))  # past WEBHOOK_SETTLE
        read_back = action != "published"
        assert await step(bot.clock.now()) == int(read_back)
        await bot.settle()
        assert polled_keys(bot) == ([f"poll:release:{AURORA}:{rec.id}"] if read_back else [])
        assert [(r.client, r.version) for r in outcome(bot)["reports"]] == [("aurora", "v4.2.0")]
    finally:
        await bot.close()
