"""create-issue deliveries: one issue per key, reconciled after a crash, confidential held."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.github.issues_relay import IssueRelay
from bot.ports import GitHubError
from storage import outbox
from storage.db import session_scope
from storage.models.core import OutboxRow
from tests.bot.harness import START, Bot
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    github.reset()
    b = Bot(sqlite_url, github)
    yield b
    await b.close()


def _enqueue(engine: Engine, key: str, **extra: object) -> None:
    payload = {
        "title": f"Review {key}",
        "body": "timeline…",
        "labels": ["post-incident-review"],
        "key": key,
    }
    payload.update(extra)
    with session_scope(engine) as session:
        outbox.enqueue(
            session, kind="create-issue", payload=payload, now=START, key=f"create-issue:{key}"
        )


async def test_issue_created_once_even_after_a_crash(bot: Bot) -> None:
    relay = IssueRelay(bot.rt.engine, bot.gateway)
    _enqueue(bot.rt.engine, "incident-review:1")
    _enqueue(bot.rt.engine, "incident-review:1")  # the same key again: stored once
    assert await relay.run_once(START) == 1
    issues = list(bot.standin.store.issues.values())
    assert [i.title for i in issues] == ["Review incident-review:1"]
    assert "<!-- charterbot:issue:incident-review:1 -->" in (issues[0].body or "")
    # A crash after GitHub created the issue but before the item was marked sent:
    _enqueue(bot.rt.engine, "incident-review:2")
    with session_scope(bot.rt.engine) as session:
        row = session.exec(
            select(OutboxRow).where(OutboxRow.key == "create-issue:incident-review:2")
        ).one()
        row.attempts, row.status = 1, "sending"
    bot.standin.store.add_issue(  # by the bot itself: a marker is trusted only in its own posts
        "Review incident-review:2",
        "x\n\n<!-- charterbot:issue:incident-review:2 -->",
        bot.standin.bot_login,
    )
    assert await relay.run_once(START) == 1
    assert len(bot.standin.store.issues) == 2, "reconciled by marker, not created again"


async def test_confidential_retrospective_waits_for_disclosure(bot: Bot) -> None:
    relay = IssueRelay(bot.rt.engine, bot.gateway)
    _enqueue(bot.rt.engine, "retrospective:9", confidential=True)
    assert await relay.run_once(START) == 0
    assert not bot.standin.store.issues
    with session_scope(bot.rt.engine) as session:
        row = session.exec(select(OutboxRow)).one()
        assert row.status == "pending" and "held" in (row.last_error or "")


@pytest.mark.parametrize(
    ("status", "after", "status_after"),
    [
        # retried: one attempt per try, MAX_ATTEMPTS in all
        (502, tuple(range(1, outbox.MAX_ATTEMPTS + 1)), "failed"),
        (422, (1,), "failed"),  # cannot succeed by repeating: failed at once
    ],
    ids=["5xx", "422"],
)
async def test_a_failing_issue_counts_one_attempt_per_try(
    bot: Bot,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    after: tuple[int, ...],
    status_after: str,
) -> None:
    relay = IssueRelay(bot.rt.engine, bot.gateway)
    _enqueue(bot.rt.engine, "incident-review:3")
    tries: list[int] = []

    async def refused(*args: object) -> int:
        tries.append(1)
        raise GitHubError(f"create_issue: GitHub answered {status}", status=status)

    monkeypatch.setattr(bot.gateway, "create_issue", refused)
    seen = []
    later = START
    for _ in range(outbox.MAX_ATTEMPTS + 4):
        later += timedelta(hours=1)  # past any backoff
        await relay.run_once(later)
        with session_scope(bot.rt.engine) as session:
            row = session.exec(select(OutboxRow)).one()
            if not seen or row.attempts != seen[-1]:
                seen.append(row.attempts)
            final = row.status
    assert tuple(seen) == after and len(tries) == after[-1]
    assert final == status_after


async def test_an_issue_that_fails_for_good_is_told_to_the_coordinators(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 4xx other than a rate limit fails the item at once, and, as with every GitHub delivery
    that fails for good, the coordinators hear of it (once)."""
    relay = IssueRelay(bot.rt.engine, bot.gateway, charter=bot.gov.charter)
    _enqueue(bot.rt.engine, "incident-review:3")

    async def refused(*args: object) -> int:
        raise GitHubError("create_issue: GitHub answered 422", status=422)

    monkeypatch.setattr(bot.gateway, "create_issue", refused)
    for hours in (1, 2):
        await relay.run_once(START + timedelta(hours=hours))
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(select(OutboxRow)).all()
        [failed] = [(r.id, r.status) for r in rows if r.kind == "create-issue"]
        [told] = [outbox.payload(r) for r in rows if r.kind == "notify"]
    assert failed[1] == "failed"
    assert told["roles"] == ["coordinators"]
    assert told["text"].startswith(f"GitHub delivery o{failed[0]} (a new issue) failed and will")
    assert "422" in told["text"]
