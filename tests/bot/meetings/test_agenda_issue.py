"""The agenda as a GitHub issue, against the GitHub stand-in: once per occurrence, edited in
place, never duplicated by restarts, state changes or a crash between create and record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.github.relay import GitHubRelay
from tests.bot.harness import REPO, Bot
from tests.bot.meetings.conftest import COORDINATOR, MAINTAINER
from tests.standins.github_server import GitHubStandin, running_github_standin

CALL = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # core-sync, 15:00 Berlin (winter time)
KEY = "core-sync@2026-12-10T15:00"
MARKER = f"<!-- charterbot:agenda:{KEY} -->"


@pytest.fixture(scope="module")
def standin() -> Iterator[GitHubStandin]:
    with running_github_standin(repo=REPO) as gh:
        yield gh


def agenda_issues(standin: GitHubStandin) -> list[Any]:
    return [i for i in standin.store.issues.values() if MARKER in (i.body or "")]


async def restart(url: str, standin: GitHubStandin, clock: FixedClock) -> Bot:
    bot = Bot(url, standin, clock)
    standin.store.now = clock.now().replace(microsecond=0)
    return bot


async def test_ten_restarts_with_changes_keep_one_issue_edited_in_place(
    sqlite_url: str, standin: GitHubStandin
) -> None:
    """Ten restarts, each while the agenda's state changes (an item added, an action item
    recorded), post one issue; it is edited only when its text changed, and ends up current."""
    standin.reset()
    clock = FixedClock(CALL - timedelta(hours=48) + timedelta(minutes=1))
    edits_before = 0
    for i in range(10):
        bot = await restart(sqlite_url, standin, clock)
        if i % 3 == 1:  # a change between restarts: the next settle must edit, not create
            reply = bot.gov.run_sync(f"agenda add core-sync Item number {i}", MAINTAINER)
            assert reply.ok
        await bot.settle()
        await bot.settle()
        await bot.close()
        clock.advance(timedelta(minutes=7))
        issues = agenda_issues(standin)
        assert len(issues) == 1, [i.title for i in issues]
        if i == 0:
            edits_before = _edits(standin)
    [issue] = agenda_issues(standin)
    assert issue.title.startswith("Agenda: Core client sync — 2026-12-10 15:00 CET")
    assert "meeting-agenda" in issue.labels
    for i in (1, 4, 7):
        assert f"Item number {i} — alice-aurora" in issue.body
    assert _edits(standin) - edits_before == 3  # one edit per change, none on plain restarts


def _edits(standin: GitHubStandin) -> int:
    return sum(1 for r in standin.requests if r.method == "PATCH" and "/issues/" in r.path)


async def test_a_crash_after_github_created_the_issue_does_not_duplicate_it(
    sqlite_url: str, standin: GitHubStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the process dies after GitHub created the issue but before its number was stored,
    the retry finds the issue by its hidden marker instead of opening a second one."""
    standin.reset()
    clock = FixedClock(CALL - timedelta(hours=47))
    bot = await restart(sqlite_url, standin, clock)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed before recording the issue number")

    monkeypatch.setattr(GitHubRelay, "_remember_agenda", crash)
    with pytest.raises(RuntimeError, match="killed"):
        await bot.settle()
    await bot.close()
    assert len(agenda_issues(standin)) == 1
    monkeypatch.undo()
    for _ in range(3):
        bot = await restart(sqlite_url, standin, clock)
        await bot.settle()
        await bot.close()
    assert len(agenda_issues(standin)) == 1


async def test_outcomes_of_one_call_carry_into_the_next_posted_agenda(
    sqlite_url: str, standin: GitHubStandin
) -> None:
    """An action item recorded on a call appears on the next call's agenda issue until done."""
    standin.reset()
    clock = FixedClock(datetime(2026, 11, 26, 14, 30, tzinfo=UTC))  # during the 11-26 call
    bot = await restart(sqlite_url, standin, clock)
    assert bot.gov.run_sync("meeting action hana-eridanus publish the fuzz corpus", COORDINATOR).ok
    clock.set(CALL - timedelta(hours=47))
    await bot.settle()
    await bot.close()
    [issue] = agenda_issues(standin)
    carried = (
        "\\[1\\] publish the fuzz corpus — hana-eridanus (from core-sync@\u200b2026-11-26T15:00)"
    )
    assert carried in issue.body


async def test_find_issue_with_marker_over_the_wire(standin: GitHubStandin) -> None:
    """The gateway finds an issue by a marker in its body, open or closed, among issues updated
    since the given time; without a match it answers None."""
    from github import Auth

    from bot.github.gateway import PyGithubGateway

    standin.reset()
    standin.store.now = datetime(2026, 12, 1, tzinfo=UTC)
    standin.store.add_issue("Unrelated", "no marker here", "octocat", ())
    wanted = standin.store.add_issue("Agenda", f"{MARKER}\n# Core client sync", "charterbot", ())
    standin.store.edit_issue(wanted.number, state="closed")
    gateway = PyGithubGateway(REPO, Auth.Token(standin.token), standin.base_url)
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
