"""The agenda as a GitHub issue, against the GitHub stand-in: once per occurrence, edited in
place, never duplicated by restarts, state changes or a crash between create and record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.github.relay import GitHubRelay
from tests.bot.harness import REPO, Bot
from tests.bot.meetings.conftest import COORDINATOR, MAINTAINER
from tests.standins.github_server import GitHubStandin

CALL = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # core-sync, 15:00 Berlin (winter time)
KEY = "core-sync@2026-12-10T15:00"
MARKER = f"<!-- charterbot:agenda:{KEY} -->"


def agenda_issues(github: GitHubStandin) -> list[Any]:
    return [i for i in github.store.issues.values() if MARKER in (i.body or "")]


async def restart(url: str, github: GitHubStandin, clock: FixedClock) -> Bot:
    bot = Bot(url, github, clock)
    github.store.now = clock.now().replace(microsecond=0)
    return bot


async def test_ten_restarts_with_changes_keep_one_issue_edited_in_place(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """Ten restarts, each while the agenda's state changes (an item added, an action item
    recorded), post one issue; it is edited only when its text changed, and ends up current."""
    github.reset()
    clock = FixedClock(CALL - timedelta(hours=48) + timedelta(minutes=1))
    edits_before = 0
    for i in range(10):
        bot = await restart(sqlite_url, github, clock)
        if i % 3 == 1:  # a change between restarts: the next settle must edit, not create
            reply = bot.gov.run_sync(f"agenda add core-sync Item number {i}", MAINTAINER)
            assert reply.ok
        await bot.settle()
        await bot.settle()
        await bot.close()
        clock.advance(timedelta(minutes=7))
        issues = agenda_issues(github)
        assert len(issues) == 1, [i.title for i in issues]
        if i == 0:
            edits_before = _edits(github)
    [issue] = agenda_issues(github)
    assert issue.title.startswith("Agenda: Core client sync — 2026-12-10 15:00 CET")
    assert "meeting-agenda" in issue.labels
    for i in (1, 4, 7):
        assert f"Item number {i} — alice-aurora" in issue.body
    assert _edits(github) - edits_before == 3  # one edit per change, none on plain restarts


def _edits(github: GitHubStandin) -> int:
    return sum(1 for r in github.requests if r.method == "PATCH" and "/issues/" in r.path)


async def test_a_crash_after_github_created_the_issue_does_not_duplicate_it(
    sqlite_url: str, github: GitHubStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the process dies after GitHub created the issue but before its number was stored,
    the retry finds the issue by its hidden marker instead of opening a second one."""
    github.reset()
    clock = FixedClock(CALL - timedelta(hours=47))
    bot = await restart(sqlite_url, github, clock)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed before recording the issue number")

    monkeypatch.setattr(GitHubRelay, "_remember_agenda", crash)
    with pytest.raises(RuntimeError, match="killed"):
        await bot.settle()
    await bot.close()
    assert len(agenda_issues(github)) == 1
    monkeypatch.undo()
    for _ in range(3):
        bot = await restart(sqlite_url, github, clock)
        await bot.settle()
        await bot.close()
    assert len(agenda_issues(github)) == 1


async def test_outcomes_of_one_call_carry_into_the_next_posted_agenda(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """An action item recorded on a call appears on the next call's agenda issue until done."""
    github.reset()
    clock = FixedClock(datetime(2026, 11, 26, 14, 30, tzinfo=UTC))  # during the 11-26 call
    bot = await restart(sqlite_url, github, clock)
    assert bot.gov.run_sync("meeting action hana-eridanus publish the fuzz corpus", COORDINATOR).ok
    clock.set(CALL - timedelta(hours=47))
    await bot.settle()
    await bot.close()
    [issue] = agenda_issues(github)
    carried = (
        "\\[1\\] publish the fuzz corpus — hana-eridanus (from core-sync@\u200b2026-11-26T15:00)"
    )
    assert carried in issue.body


async def test_find_issue_with_marker_over_the_wire(github: GitHubStandin) -> None:
    """The gateway finds an issue by a marker in its body, open or closed, among issues updated
    since the given time; without a match it answers None."""
    from github import Auth

    from bot.github.gateway import PyGithubGateway

    github.reset()
    github.store.now = datetime(2026, 12, 1, tzinfo=UTC)
    github.store.add_issue("Unrelated", "no marker here", "octocat", ())
    wanted = github.store.add_issue("Agenda", f"{MARKER}\n# Core client sync", "charterbot", ())
    github.store.edit_issue(wanted.number, state="closed")
    gateway = PyGithubGateway(REPO, Auth.Token(github.token), github.base_url)
    try:
        found = await gateway.find_issue_with_marker(MARKER, datetime(2026, 11, 30, tzinfo=UTC))
        assert found is not None and found.number == wanted.number
        assert (
            await gateway.find_issue_with_marker(MARKER, datetime(2026, 12, 2, tzinfo=UTC)) is None
        )
        assert await gateway.find_issue_with_marker("<!-- nothing -->") is None
        with pytest.raises(ValueError, match="marker"):
            await gateway.find_issue_with_marker("")
    finally:
        gateway.close()
