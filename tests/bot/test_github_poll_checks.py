"""Check runs read from GitHub for rollout gates, end to end over the wire stand-in.

Without webhooks (poll mode), or with a ``check_run`` delivery missed while the bot was down
(webhook mode), a ``require_checks`` gate could only pass by override. The runtime's poll step
(``Runtime._poll``), and in webhook mode its ``github-checks`` loop, asks the stand-in's
``GET /repos/{o}/{r}/commits/{ref}/check-runs`` for the refs a gate waits on; the runs go to
the inbox as ``check_run`` webhook payloads and through the same handler as a webhook.
The reference charter's canary stage requires ``interop-matrix``; aurora's repository is
``meridian-net/aurora``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.github.poll_checks import CheckReader
from bot.messages import Actor, plain_text
from charter.lifecycle import State
from charter.proposal import Decision
from storage import rollouts as store
from storage.db import session_scope
from storage.models.core import InboxRow
from tests.bot.harness import Bot, open_issue
from tests.bot.rollouts.conftest import CLIENTS, MAINTAINER, form
from tests.standins.github_server import GitHubStandin

SHA = "a" * 40
AURORA = "meridian-net/aurora"
CHECK_RUNS = r"/repos/meridian-net/[a-z]+/commits/.+/check-runs"


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, github_mode="poll")
    yield b
    await b.close()


@pytest.fixture
async def any_db_bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    """A poll-mode bot on SQLite and on PostgreSQL (the inbox drops duplicates on both)."""
    b = Bot.fresh(engine_url, github, github_mode="poll")
    yield b
    await b.close()


def who(client: str = "aurora") -> Actor:
    return Actor(login=MAINTAINER[client], surface="console")


def rolling(bot: Bot, refs: dict[str, str], n: int = 1) -> None:
    """Proposal ``n`` accepted for the clients of ``refs``; each reports staging, then canary
    with its ref, so the rollout is on staging and canary's gates wait on those refs."""
    open_issue(bot.rt, n, form(clients=tuple(refs), likelihood=1, impact=1))
    stored = bot.gov.load(n)
    assert stored is not None
    now = bot.clock.now()
    with session_scope(bot.rt.engine) as session:
        moved = replace(stored.proposal, state=State.ACCEPTED, decided_at=now)
        bot.gov.apply(session, Decision(moved), "charterbot", now)
    for stage in ("staging", "canary"):
        for client, ref in refs.items():
            reply = bot.gov.run_sync(f"ready {n} {client} {stage} 1.0.0 {ref}", who(client))
            assert reply.ok, plain_text(reply)


def checks_gate(bot: Bot, n: int = 1) -> str:
    """The require_checks line of the rollout's view (the gates of the stage it enters next)."""
    text = plain_text(bot.gov.run_sync(f"rollout {n}", who()))
    return next(line.strip() for line in text.splitlines() if "require_checks" in line)


async def poll(bot: Bot) -> int:
    stored = await bot.rt._poll(bot.clock.now())
    await bot.settle()
    return stored


def check_requests(github: GitHubStandin) -> list[str]:
    return [r.path for r in github.requests_to("GET", CHECK_RUNS)]


def polled_rows(bot: Bot) -> list[tuple[str, str]]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(select(InboxRow).order_by(col(InboxRow.id))).all()
        return [(r.source, r.event) for r in rows if r.key.startswith("poll:check_run:")]


@pytest.mark.parametrize(
    ("status", "conclusion", "gate"),
    [
        ("completed", "success", "PASS require_checks: interop-matrix passed on every client's"),
        ("in_progress", None, f"FAIL require_checks: interop-matrix on aurora@{SHA} has not conc"),
        ("completed", "failure", f"FAIL require_checks: interop-matrix on aurora@{SHA} concluded"),
    ],
)
async def test_a_poll_records_the_check_run_a_gate_waits_on(
    bot: Bot, status: str, conclusion: str | None, gate: str
) -> None:
    """The run on the reported commit of aurora's repository reaches the gate, stored as the
    ``check_run`` webhook delivery it stands for; runs of other names or commits are not."""
    rolling(bot, {"aurora": SHA})
    assert checks_gate(bot).startswith("FAIL require_checks: interop-matrix has not run")
    github = bot.standin.store
    github.add_check_run(AURORA, SHA, "interop-matrix", status, conclusion)
    github.add_check_run(AURORA, SHA, "lint", "completed", "success")
    github.add_check_run(AURORA, "b" * 40, "interop-matrix", "completed", "failure")
    await poll(bot)
    assert checks_gate(bot).startswith(gate)
    assert polled_rows(bot) == [("github", "check_run")]
    assert check_requests(bot.standin) == [f"/repos/{AURORA}/commits/{SHA}/check-runs"]


async def test_a_ref_is_read_until_its_checks_succeed_then_never_again(any_db_bot: Bot) -> None:
    """An unfinished run is read again each poll (unchanged, nothing new is stored); a failure
    too, since it may be re-run; once every required check succeeded, the ref is not asked."""
    bot = any_db_bot
    rolling(bot, {"aurora": SHA})
    github = bot.standin.store
    run = github.add_check_run(AURORA, SHA, "interop-matrix", "in_progress", None)
    steps: list[tuple[Callable[[], object], str, int]] = [
        (lambda: None, "has not concluded yet", 1),
        (lambda: None, "has not concluded yet", 1),  # unchanged: a duplicate, not stored
        (lambda: github.finish_check_run(run, "failure"), "concluded failure", 2),
        (
            lambda: github.add_check_run(AURORA, SHA, "interop-matrix", "completed", "success"),
            "passed on every client's release",
            3,
        ),
    ]
    for polls, (change, said, rows) in enumerate(steps, start=1):
        await bot.advance(timedelta(minutes=1))
        change()
        await poll(bot)
        assert said in checks_gate(bot)
        assert len(polled_rows(bot)) == rows
        assert len(check_requests(bot.standin)) == polls
    await poll(bot)
    await poll(bot)
    assert len(check_requests(bot.standin)) == len(steps)


@pytest.mark.parametrize(
    ("reported", "asked", "branch"),
    [
        (SHA[:12], SHA[:12], None),  # an abbreviated commit
        ("v1.0.0", "v1.0.0", "v1.0.0"),  # a release's tag: the runs its push started
        ("refs/tags/v1.0.0", "tags/v1.0.0", "v1.0.0"),  # GitHub's documented form
        ("v1.0.0", "v1.0.0", "main"),  # a run the branch push of the tagged commit started
        ("v1.0.0", "v1.0.0", None),
    ],
)
async def test_refs_are_asked_as_github_takes_them(
    bot: Bot, reported: str, asked: str, branch: str | None
) -> None:
    """GitHub's listing names no tag for a run (the stand-in answers so): a release reported
    by its tag passes on the runs of the commit the tag names, and its ref is not read again."""
    rolling(bot, {"aurora": reported})
    bot.standin.store.add_tag(AURORA, "v1.0.0", SHA)
    bot.standin.store.add_check_run(
        AURORA, SHA, "interop-matrix", "completed", "success", head_branch=branch
    )
    await poll(bot)
    assert check_requests(bot.standin) == [f"/repos/{AURORA}/commits/{asked}/check-runs"]
    assert checks_gate(bot).startswith("PASS require_checks")
    await poll(bot)
    assert len(check_requests(bot.standin)) == 1  # settled


@pytest.mark.parametrize("hook_id", [None, 42])
async def test_webhook_mode_reads_them_on_the_reconcile_interval(
    sqlite_url: str, github: GitHubStandin, hook_id: int | None
) -> None:
    """A ``check_run`` delivery missed while the bot was down is read back by the leader's
    ``github-checks`` loop, every ``CHARTERBOT_GITHUB_RECONCILE_SECONDS``, hook id or not."""
    bot = Bot.fresh(sqlite_url, github, github_hook_id=hook_id, github_reconcile_seconds=120)
    try:
        rolling(bot, {"aurora": SHA})
        github.store.add_check_run(AURORA, SHA, "interop-matrix", "completed", "success")
        loops = {name: (step, every) for name, step, every in bot.rt.loop_specs()}
        step, every = loops["github-checks"]
        assert every == 120
        assert await step(bot.clock.now()) == 1
        await bot.settle()
        assert checks_gate(bot).startswith("PASS require_checks")
    finally:
        await bot.close()


async def test_poll_mode_has_no_separate_checks_loop(bot: Bot) -> None:
    """In poll mode the poll step reads them: no second loop asks GitHub as well."""
    assert "github-checks" not in [name for name, _, _ in bot.rt.loop_specs()]


async def test_a_pass_reads_at_most_its_cap_and_every_ref_gets_its_turn(bot: Bot) -> None:
    """Five refs wanted, two a pass: the ones read longest ago (never: first) go first."""
    shas = {client: f"{i:x}" * 40 for i, client in enumerate(CLIENTS, start=1)}
    rolling(bot, shas)
    for client, sha in shas.items():
        repo = f"meridian-net/{client}"
        bot.standin.store.add_check_run(repo, sha, "interop-matrix", "queued", None)
    bot.rt.checks = CheckReader(
        bot.rt.engine, bot.gateway, lambda: bot.gov.charter, bot.rt.store_and_wake, limit=2
    )
    passes: list[list[str]] = []
    for _ in range(3):
        before = len(check_requests(bot.standin))
        await bot.advance(timedelta(minutes=1))
        await poll(bot)
        asked = check_requests(bot.standin)[before:]
        passes.append([re.sub(r"/repos/meridian-net/(\w+)/.*", r"\1", p) for p in asked])
    assert passes == [["aurora", "borealis"], ["cirrus", "dorado"], ["eridanus", "aurora"]]


async def test_github_s_rate_limit_holds_the_pass(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """A refusal GitHub asks to wait out longer than the throttle waits in-call ends the pass
    (the other ref is not asked, and no ref is reported failing); while the shared throttle
    holds, nothing is asked at all; after the wait both refs are read."""
    caplog.set_level(logging.INFO, logger="charterbot.github.checks")
    rolling(bot, {"aurora": SHA, "borealis": "b" * 40})
    bot.standin.store.add_check_run(AURORA, SHA, "interop-matrix", "completed", "success")
    bot.standin.fail_next(1, kind="secondary", retry_after=7200)
    assert await bot.rt._read_checks(bot.clock.now()) == 0
    assert len(bot.standin.requests_to("GET", CHECK_RUNS)) == 1  # the refused one
    assert await bot.rt._read_checks(bot.clock.now()) == 0
    assert len(bot.standin.requests_to("GET", CHECK_RUNS)) == 1  # held: not called
    bot.sleeps.t += 7200  # the throttle's wall clock: GitHub's wait is over
    assert await bot.rt._read_checks(bot.clock.now()) == 1
    assert [r.status for r in bot.standin.requests_to("GET", CHECK_RUNS)] == [403, 200, 200]
    said = [(r.levelname, r.getMessage()[:20]) for r in caplog.records if r.name.endswith("checks")]
    assert said == [("INFO", "check runs not read:")] * 2


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


@pytest.mark.parametrize("end", [_roll_back_for_good, _complete])
async def test_a_rollout_no_longer_under_way_is_not_read(
    bot: Bot, end: Callable[[Bot], Awaitable[None]]
) -> None:
    """Rolled back for good, or completed: no gate of it waits on a check any more."""
    rolling(bot, {"aurora": SHA})
    await end(bot)
    await poll(bot)
    assert check_requests(bot.standin) == []
