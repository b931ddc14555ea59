"""The audit witness against the GitHub stand-in: the audit head posted to one issue once per
period when it changed, durably, never twice (restarts, crashes, downtime), and checkable."""

from __future__ import annotations

import re
import shlex
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.audit_witness import ISSUE_TITLE, period_start, spoken
from bot.bootstrap import build
from bot.cli import app as cli
from bot.github.witness_relay import ISSUE_MARKER, WitnessRelay
from bot.ports import GitHubError
from bot.settings import Settings
from charter.model import parse_duration
from storage import audit, audit_witness as witness_store, outbox, verify_export
from storage.db import read_scope, session_scope
from storage.models.core import OutboxRow
from tests.bot.harness import START, Bot
from tests.standins.github_server import GitHubStandin

HEAD = re.compile(r"--head (\d+):([0-9a-f]{64})")
MIDNIGHT = datetime(2026, 11, 28, tzinfo=UTC)  # the first period boundary after START


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    """A bot posting every 24h, on SQLite and on PostgreSQL."""
    b = Bot.fresh(engine_url, github, audit_witness_every="24h")
    yield b
    await b.close()


async def restart(bot: Bot, **settings: Any) -> Bot:
    """A new bot on the same database and stand-in, its clock where the old one's was."""
    await bot.close()
    settings.setdefault("audit_witness_every", "24h")
    return Bot(bot.rt.settings.database_url, bot.standin, bot.clock, **settings)


def witness_issues(bot: Bot) -> list[Any]:
    return [i for i in bot.standin.store.issues.values() if ISSUE_MARKER in (i.body or "")]


def posts(bot: Bot, number: int | None = None) -> list[Any]:
    """The witness comments, oldest first (on ``number``, else on the bot's own issue)."""
    if number is None:
        [issue] = witness_issues(bot)
        number = issue.number
    return [c for c in bot.issue_comments(number) if HEAD.search(c.body)]


def posted_head(comment: Any) -> tuple[int, str]:
    seq, digest = HEAD.search(comment.body).groups()  # type: ignore[union-attr]
    return int(seq), digest


def head(bot: Bot) -> tuple[int, str]:
    with read_scope(bot.rt.engine) as session:
        top = audit.head(session)
    assert top is not None
    return top


def decide(bot: Bot) -> None:
    """A decision: one more audit entry, so the head moves."""
    with session_scope(bot.rt.engine) as session:
        audit.append(
            session,
            actor="ines-coord",
            kind="test-decision",
            subject="proposal:1",
            payload={"at": bot.clock.now().isoformat()},
            charter_version=1,
            at=bot.clock.now(),
        )


async def test_the_first_period_opens_the_issue_and_posts_the_head(bot: Bot) -> None:
    await bot.settle()
    [issue] = witness_issues(bot)
    assert issue.title == ISSUE_TITLE and issue.author == bot.standin.bot_login
    assert "Once every day (counted from 00:00 UTC)" in (issue.body or "")
    [post] = posts(bot)
    assert posted_head(post) == head(bot)
    assert "<!-- charterbot:outbox:" in post.body
    with read_scope(bot.rt.engine) as session:
        row = witness_store.last_posted(session)
    assert row is not None and (row.seq, row.hash) == head(bot)
    assert row.issue_number == issue.number
    assert row.comment_url.endswith(f"/issues/{issue.number}#issuecomment-{post.id}")


async def test_the_overview_links_the_last_posted_head(bot: Bot) -> None:
    assert 'id="witnessed"' not in (await bot.http.get("/")).text
    await bot.settle()
    [post] = posts(bot)
    seq, digest = posted_head(post)
    page = (await bot.http.get("/")).text
    assert f"#issuecomment-{post.id}" in page and f"--head {seq}:{digest}" in page


async def test_audit_head_witnessed_prints_the_last_posted_head(bot: Bot) -> None:
    url = bot.rt.settings.database_url
    args = ["audit", "head", "--witnessed", "--database-url", url]
    assert CliRunner().invoke(cli, args).stdout == ""  # nothing posted yet
    await bot.settle()
    [post] = posts(bot)
    decide(bot)  # the log's head moves on; the witnessed one stays
    seq, digest = posted_head(post)
    lines = CliRunner().invoke(cli, args).stdout.splitlines()
    assert lines[0] == f"{seq} {digest}" != "{} {}".format(*head(bot))
    assert lines[1].startswith("posted 2026-11-27T12:00:00Z http")
    assert lines[1].endswith(f"#issuecomment-{post.id}")


async def test_the_post_appends_nothing_to_the_audit_log(bot: Bot) -> None:
    before = head(bot)
    await bot.settle()
    await bot.advance(timedelta(days=1))
    assert head(bot) == before
    assert len(posts(bot)) == 1


async def test_an_unchanged_head_is_not_posted_again_and_a_changed_one_once(bot: Bot) -> None:
    await bot.settle()
    await bot.advance(MIDNIGHT - START)  # a new period, nothing decided
    assert len(posts(bot)) == 1
    decide(bot)
    await bot.advance(timedelta(hours=1))  # same period: waits for the next
    assert len(posts(bot)) == 1
    await bot.advance(timedelta(hours=23))  # 11-29 00:00Z
    first, second = posts(bot)
    assert posted_head(second) == head(bot) != posted_head(first)
    assert second.created_at == MIDNIGHT + timedelta(days=1)
    await bot.advance(timedelta(days=1))
    assert len(posts(bot)) == 2


async def test_a_restart_opens_no_second_issue_and_repeats_no_post(bot: Bot) -> None:
    """The period looked at is stored: a restart in it neither posts again nor posts what
    changed since (that waits for the next period), and the issue is reused."""
    await bot.settle()
    decide(bot)
    bot = await restart(bot)
    await bot.settle()
    assert len(witness_issues(bot)) == 1 and len(posts(bot)) == 1
    bot.clock.set(MIDNIGHT)
    bot = await restart(bot)
    await bot.settle()
    bot = await restart(bot)
    await bot.advance(timedelta(hours=2))
    assert len(witness_issues(bot)) == 1
    assert [posted_head(p) for p in posts(bot)][-1] == head(bot)
    assert len(posts(bot)) == 2
    await bot.close()


async def test_downtime_over_three_periods_gives_one_catch_up(bot: Bot) -> None:
    await bot.settle()
    decide(bot)
    await bot.close()
    bot.clock.set(MIDNIGHT + timedelta(days=3, hours=5))  # 11-28, 11-29, 11-30 missed
    bot = Bot(bot.rt.settings.database_url, bot.standin, bot.clock, audit_witness_every="24h")
    await bot.settle()
    _, catch_up = posts(bot)
    assert posted_head(catch_up) == head(bot)
    await bot.advance(timedelta(hours=1))
    assert len(posts(bot)) == 2
    await bot.close()


async def test_the_posted_commands_verify_an_export_against_the_posted_head(
    bot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comment's own two lines, run as written: the export verifies against the head, also
    once the log has grown; a log that no longer holds it fails."""
    await bot.settle()
    [post] = posts(bot)
    export_line, verify_line = re.findall(r"^(?:charterbot audit|python -m) .*$", post.body, re.M)
    decide(bot)  # the log grows after the post: the posted head is still in it
    monkeypatch.chdir(tmp_path)
    export = [*shlex.split(export_line)[1:], "--database-url", bot.rt.settings.database_url]
    result = CliRunner().invoke(cli, export)
    assert result.exit_code == 0, result.output
    assert shlex.split(verify_line)[:3] == ["python", "-m", "storage.verify_export"]
    assert verify_export.main(shlex.split(verify_line)[3:]) == 0
    seq, _ = posted_head(post)
    assert verify_export.main(["audit.jsonl", "--head", f"{seq}:{'0' * 64}"]) == 1


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"audit_witness_every": "0"}, id="every-0"),
        pytest.param({"audit_witness_every": "off"}, id="every-off"),
        pytest.param({"audit_witness_every": "24h", "github_mode": "off"}, id="github-off"),
    ],
)
async def test_nothing_is_posted_when_turned_off_or_without_github(
    sqlite_url: str, github: GitHubStandin, settings: dict[str, str]
) -> None:
    github.reset()
    bot = Bot(sqlite_url, github, **settings)
    try:
        await bot.settle()
        for _ in range(3):
            decide(bot)
            await bot.advance(timedelta(days=1))
            bot.gov.tick(bot.clock.now())
        with read_scope(bot.rt.engine) as session:
            kinds = {r.kind for r in session.exec(select(OutboxRow)).all()}
            assert witness_store.last(session) is None
        assert witness_store.OUTBOX_KIND not in kinds
        assert witness_issues(bot) == [] and github.store.comments == {}
    finally:
        await bot.close()


async def test_a_configured_issue_gets_the_posts_and_none_is_opened(
    sqlite_url: str, github: GitHubStandin
) -> None:
    github.reset()
    number = github.store.add_issue("Audit heads", "we keep them here", "ines-coord").number
    bot = Bot(sqlite_url, github, audit_witness_every="12h", audit_witness_issue=str(number))
    try:
        await bot.settle()
        decide(bot)
        await bot.advance(MIDNIGHT - START)
        assert witness_issues(bot) == [] and len(github.store.issues) == 1
        assert [posted_head(p) for p in posts(bot, number)][-1] == head(bot)
        assert len(posts(bot, number)) == 2
    finally:
        await bot.close()


async def test_a_github_failure_is_retried_by_the_outbox(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub answers 502: the post waits in the outbox, one attempt counted, and goes out on
    the retry, once."""
    create = bot.gateway.create_comment
    calls: list[int] = []

    async def flaky(number: int, body: str) -> str:
        calls.append(number)
        if len(calls) == 1:
            raise GitHubError("comment: GitHub answered 502: Bad Gateway", status=502)
        return await create(number, body)

    monkeypatch.setattr(bot.gateway, "create_comment", flaky)
    await bot.settle()
    assert posts(bot) == []
    [row] = _items(bot)
    assert (row.status, row.attempts) == ("pending", 1) and "502" in (row.last_error or "")
    await bot.advance(timedelta(minutes=5))  # past the backoff
    [post] = posts(bot)
    assert posted_head(post) == head(bot) and len(calls) == 2
    assert [r.status for r in _items(bot)] == ["sent"]


async def test_a_refused_post_fails_at_once_and_the_coordinators_are_told(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """A configured issue that does not exist (404) cannot take a comment by retrying."""
    github.reset()
    bot = Bot(sqlite_url, github, audit_witness_every="24h", audit_witness_issue="404")
    try:
        await bot.settle()
        [row] = _items(bot)
        assert row.status == "failed" and "permanent" in (row.last_error or "")
        with read_scope(bot.rt.engine) as session:
            notices = [
                outbox.payload(r)
                for r in session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
            ]
        [notice] = notices
        assert "audit head" in notice["text"] and notice["roles"] == ["coordinators"]
    finally:
        await bot.close()


async def test_a_head_whose_post_failed_is_posted_once_github_takes_it(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """The post refused for good (404), the setting fixed, the log standing still: the next
    period queues the same head again (the failed one is not on its way) and GitHub takes it."""
    github.reset()
    bot = Bot(sqlite_url, github, audit_witness_every="24h", audit_witness_issue="404")
    await bot.settle()
    top = head(bot)
    with read_scope(bot.rt.engine) as session:
        assert witness_store.last(session) is None  # its only post failed
    bot = await restart(bot)  # the setting fixed: the bot opens its own issue
    try:
        await bot.advance(MIDNIGHT + timedelta(hours=1) - bot.clock.now())
        assert head(bot) == top  # the log stood still
        [post] = posts(bot)
        assert posted_head(post) == top
        with read_scope(bot.rt.engine) as session:
            assert witness_store.last(session) == top
            posted = witness_store.last_posted(session)
        assert posted is not None and (posted.seq, posted.hash) == top
        assert [r.status for r in _items(bot)] == ["failed", "sent"]
    finally:
        await bot.close()


@pytest.mark.parametrize(("status", "counts"), [("failed", False), ("pending", True)])
def test_a_head_counts_as_queued_unless_its_post_failed(
    sqlite_url: str, status: str, counts: bool
) -> None:
    """A failed post retried (``charterbot outbox retry``: pending again) counts again; an
    earlier period's head, posted, counts when the latest one failed."""
    rt = build(Settings(database_url=sqlite_url))
    try:
        with session_scope(rt.engine) as session:
            for day, seq in ((0, 3), (1, 5)):
                at = MIDNIGHT + timedelta(days=day)
                witness_store.queue(
                    session, period_start=at, seq=seq, digest=f"{seq:x}" * 64, body="", now=at
                )
            latest = session.exec(select(OutboxRow).order_by(col(OutboxRow.id).desc())).first()
            assert latest is not None
            latest.status = status
            session.add(latest)
        with read_scope(rt.engine) as session:
            assert witness_store.last(session) == ((5, "5" * 64) if counts else (3, "3" * 64))
    finally:
        rt.engine.dispose()


async def test_a_crash_after_github_took_the_comment_does_not_post_it_twice(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed before recording the comment")

    monkeypatch.setattr(witness_store, "mark_posted", crash)
    with pytest.raises(RuntimeError, match="killed"):
        await bot.settle()
    assert len(posts(bot)) == 1
    monkeypatch.undo()
    bot = await restart(bot)
    await bot.advance(timedelta(minutes=5))
    assert len(posts(bot)) == 1 and [r.status for r in _items(bot)] == ["sent"]
    with read_scope(bot.rt.engine) as session:
        row = witness_store.last_posted(session)
    assert row is not None and row.comment_url.endswith(f"-{posts(bot)[0].id}")
    await bot.close()


async def test_a_crash_after_github_opened_the_issue_does_not_open_a_second(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed before recording the issue number")

    monkeypatch.setattr(witness_store, "remember_issue", crash)
    with pytest.raises(RuntimeError, match="killed"):
        await bot.settle()
    assert len(witness_issues(bot)) == 1 and bot.standin.store.comments == {}
    monkeypatch.undo()
    bot = await restart(bot)
    await bot.advance(timedelta(minutes=5))
    assert len(witness_issues(bot)) == 1 and len(posts(bot)) == 1
    await bot.close()


def _items(bot: Bot) -> list[OutboxRow]:
    with session_scope(bot.rt.engine) as session:
        stmt = select(OutboxRow).where(OutboxRow.kind == witness_store.OUTBOX_KIND)
        found = list(session.exec(stmt).all())
        session.expunge_all()
        return found


@pytest.mark.parametrize(
    ("now", "every", "start"),
    [
        ("2026-11-27T12:00:00", "24h", "2026-11-27T00:00:00"),
        ("2026-11-28T00:00:00", "24h", "2026-11-28T00:00:00"),
        ("2026-11-27T23:59:59", "6h", "2026-11-27T18:00:00"),
        ("2026-11-27T12:00:00", "7d", "2026-11-23T00:00:00"),  # a Monday
        ("2026-11-28T12:00:00", "2d", "2026-11-27T00:00:00"),
    ],
)
def test_periods_start_at_midnight_utc(now: str, every: str, start: str) -> None:
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert period_start(at, parse_duration(every)) == datetime.fromisoformat(start).replace(
        tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("every", "said"),
    [("24h", "day"), ("7d", "7 days"), ("1h", "hour"), ("6h", "6 hours"), ("90m", "90 minutes")],
)
def test_the_issue_names_the_period_in_words(every: str, said: str) -> None:
    assert spoken(parse_duration(every)) == said


def test_the_relay_is_wired_only_with_github_and_a_period(sqlite_url: str) -> None:
    def relays(**settings: Any) -> set[type]:
        rt = build(Settings(database_url=sqlite_url, **settings))
        try:
            return {type(getattr(r, "__self__", r)) for r in rt.relays}
        finally:
            rt.engine.dispose()

    github = {"github_token": "t", "github_webhook_secret": "s"}
    assert WitnessRelay in relays(**github)
    assert WitnessRelay not in relays(**github, audit_witness_every="off")
    assert WitnessRelay not in relays()


async def test_anyone_can_run_the_posted_check_from_the_dashboard(bot: Bot, tmp_path: Path) -> None:
    """With the public URL known, the post tells anyone how to check: download the export and
    the verifier from the dashboard, run it against the posted head."""
    await bot.settle()
    [post] = posts(bot)
    base = bot.rt.settings.public_url.rstrip("/")
    lines = re.findall(r"^(?:curl|python3) .*$", post.body, re.M)
    seq, digest = posted_head(post)
    assert lines == [
        f"curl -o audit.jsonl {base}/audit/export.jsonl",
        f"curl -O {base}/audit/verify_export.py",
        f"python3 verify_export.py audit.jsonl --head {seq}:{digest}",
    ]
    export = await bot.http.get("/audit/export.jsonl")
    assert export.status_code == 200
    (tmp_path / "audit.jsonl").write_bytes(export.content)
    args = shlex.split(lines[2])[2:]
    assert verify_export.main([str(tmp_path / args[0]), *args[1:]]) == 0
    assert "`partial` (exit status 3)" in post.body  # what a withheld entry would make of it
    assert verify_export.PARTIAL == 3
