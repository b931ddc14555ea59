"""The GitHub relay when GitHub refuses: which answers fail at once and which are retried, how
tries are counted, how long a rate limit holds it back, and that a failed tracking sync does
not stop later syncs. Run against the GitHub stand-in; failures other than rate limits are
injected on the application's own gateway (``bot.ports.GitHubGateway``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.github.relay import GitHubRelay
from bot.ports import GitHubError, GitHubRateLimited
from storage import outbox
from storage.db import session_scope
from storage.models.core import OutboxRow
from storage.times import aware
from tests.bot.harness import Bot
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


def relay_of(bot: Bot) -> GitHubRelay:
    return GitHubRelay(bot.rt.engine, bot.rt.loaded.charter, bot.gateway, "http://charterbot.test")


def queue_comment(bot: Bot) -> None:
    """A ``comment`` item for the one issue on the stand-in (opened on first use)."""
    issues = bot.standin.store.issues
    number = next(iter(issues)) if issues else bot.standin.store.add_issue("t", "b").number
    with session_scope(bot.rt.engine) as session:
        payload = {"proposal": number, "body": "hello"}
        outbox.enqueue(session, kind="comment", payload=payload, now=bot.clock.now())


def rows(bot: Bot, kind: str) -> list[OutboxRow]:
    with session_scope(bot.rt.engine) as session:
        found = session.exec(select(OutboxRow).where(OutboxRow.kind == kind)).all()
        session.expunge_all()
        return list(found)


def refuse(monkeypatch: pytest.MonkeyPatch, bot: Bot, method: str, error: Exception) -> list[int]:
    """Make ``bot.gateway.<method>`` raise ``error``; returns the list of calls made."""
    calls: list[int] = []

    async def refused(*args: Any) -> Any:
        calls.append(1)
        raise error

    monkeypatch.setattr(bot.gateway, method, refused)
    return calls


def _answered(status: int, message: str) -> pytest.ParameterSet:
    error = GitHubError(f"comment: GitHub answered {status}: {message}", status=status)
    return pytest.param(error, 400 <= status < 500 and status != 408, id=str(status))


@pytest.mark.parametrize(
    ("error", "failed_at_once"),
    [
        _answered(401, "Bad credentials"),
        _answered(403, "Resource not accessible by integration"),
        _answered(404, "Not Found"),
        _answered(410, "This issue was deleted"),
        _answered(422, "Body is too long (maximum is 65536 characters)"),
        _answered(408, "Request Timeout"),
        _answered(502, "Bad Gateway"),
        pytest.param(GitHubRateLimited("rate limit: gave up", status=403), False, id="limited"),
        pytest.param(GitHubError("cannot reach GitHub", status=0), False, id="no-answer"),
        pytest.param(OSError("connection reset"), False, id="os-error"),
    ],
)
async def test_a_4xx_that_is_not_a_rate_limit_fails_at_once(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, error: Exception, failed_at_once: bool
) -> None:
    """Repeating a refused request cannot help (401, 403 without rate-limit meaning, 404, 410,
    422): the item fails after one try, its error kept, and the coordinators are told. Server
    errors, timeouts, rate limits and no answer at all are retried."""
    refuse(monkeypatch, bot, "create_comment", error)
    queue_comment(bot)
    await relay_of(bot).run_once(bot.clock.now())
    [row] = rows(bot, "comment")
    assert (row.status, row.attempts) == (("failed" if failed_at_once else "pending"), 1)
    assert str(error) in (row.last_error or "")
    notices = [outbox.payload(r) for r in rows(bot, "notify")]
    if failed_at_once:
        [notice] = notices
        assert notice["roles"] and str(error) in notice["text"]
    else:
        assert notices == []


async def test_each_try_of_a_comment_counts_once(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """A comment GitHub keeps refusing with a 5xx is tried ``MAX_ATTEMPTS`` times, not half;
    then it is given up, and the coordinators are told once."""
    calls = refuse(monkeypatch, bot, "create_comment", GitHubError("502", status=502))
    queue_comment(bot)
    relay, now = relay_of(bot), bot.clock.now()
    for _ in range(2 * outbox.MAX_ATTEMPTS):
        now += timedelta(hours=2)  # past any backoff
        await relay.run_once(now)
    [row] = rows(bot, "comment")
    tries = outbox.MAX_ATTEMPTS
    assert (row.status, row.attempts, len(calls)) == ("failed", tries, tries)
    [notice] = [outbox.payload(r) for r in rows(bot, "notify")]
    assert notice["roles"] and "given up: 502" in notice["text"]


async def test_a_github_outage_of_hours_loses_no_comment(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub answers 502 for 12 hours: the comment is still being retried, and is posted once
    GitHub is back (the retry policy spans a day or more: storage.outbox)."""
    calls = refuse(monkeypatch, bot, "create_comment", GitHubError("502", status=502))
    queue_comment(bot)
    relay, start = relay_of(bot), bot.clock.now()
    now = start
    while now < start + timedelta(hours=12):
        now += timedelta(minutes=10)
        await relay.run_once(now)
    [row] = rows(bot, "comment")
    assert row.status == "pending" and len(calls) > 8
    monkeypatch.undo()  # GitHub is back
    await relay.run_once(now + timedelta(hours=1))  # past the longest wait
    [row] = rows(bot, "comment")
    assert row.status == "sent"


async def test_a_rate_limit_given_up_on_holds_the_relay_until_github_allows(
    bot: Bot, github: GitHubStandin
) -> None:
    """GitHub asks for 7200 s (more than the throttle waits in-call): the item is retried no
    sooner, and the relay sends GitHub nothing else until then."""
    queue_comment(bot)
    queue_comment(bot)
    relay, now = relay_of(bot), bot.clock.now()
    github.fail_next(1, kind="429", retry_after=7200)
    await relay.run_once(now)
    first, second = rows(bot, "comment")
    assert first.status == "pending" and first.next_attempt_at is not None
    assert aware(first.next_attempt_at) == now + timedelta(seconds=7200)
    assert (second.status, second.attempts) == ("pending", 0), "not tried while limited"
    asked = len(github.requests)
    await relay.run_once(now + timedelta(seconds=7199))
    assert len(github.requests) == asked
    bot.sleeps.t += 7200  # the throttle holds the token by its own clock: let that pass too
    await relay.run_once(now + timedelta(seconds=7200))
    assert [r.status for r in rows(bot, "comment")] == ["sent", "sent"]


def sync_rows(bot: Bot) -> list[tuple[str | None, str]]:
    return [(r.key, r.status) for r in rows(bot, "sync-github")]


async def test_after_a_failed_sync_the_next_change_updates_the_tracking_comment(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync that failed for good (here: GitHub down longer than every retry) must not block
    the ``sync-github:<n>:pending`` key: the next vote queues a sync and the comment shows it."""
    n = await bot.open_voting()
    # Fewer tries than the policy's (a day or two of them): the vote is still open after them.
    refuse(monkeypatch, bot, "edit_comment", GitHubError("502 Bad Gateway", status=502))
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 8)
    await bot.comment(n, "/vote approve", "bob-aurora")
    for _ in range(outbox.MAX_ATTEMPTS):
        await bot.advance(timedelta(hours=2))
    assert "failed" in [status for _, status in sync_rows(bot)]
    monkeypatch.undo()  # GitHub is back
    await bot.comment(n, "/vote reject changed my mind", "bob-aurora")
    await bot.settle()
    [tracking] = bot.tracking(n)
    assert "changed my mind" in tracking.body
    assert sorted(status for _, status in sync_rows(bot)).count("failed") == 1
