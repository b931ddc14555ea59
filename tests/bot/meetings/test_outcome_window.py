"""`meeting decide|action` without `--call` and no call in progress: the latest held call takes
the outcome only within ``WRITE_UP`` (24 hours) of its end, the write-up right after a call.
Later nothing is recorded, and the answer names that call with the command recording on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.messages import Actor, plain_text
from bot.service import Governance
from storage.db import session_scope
from storage.models.meetings import MeetingOutcomeRow
from tests.bot.meetings.conftest import COORDINATOR, charter_with, make_gov

DAY = timedelta(hours=24)  # the write-up window (bot.meetings_outcomes.DAY)
CORE = "core-sync@2026-11-26T15:00"  # Thursday 15:00-16:30 Berlin = 14:00-15:30 UTC
CORE_END = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
SECURITY = "security-sync@2026-12-01T17:00"  # private (council only), 17:00-18:00 UTC
SECURITY_END = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
GITHUB_COORDINATOR = Actor(login="ines-coord", surface="github", display="ines-coord")


@pytest.fixture
def gov(db_url: str) -> Iterator[Governance]:
    """The reference charter's calls: core-sync every other Thursday, the security council's
    sync (announced only to private channels) on the first Tuesday of the month."""
    g = make_gov(db_url, charter_with(), FixedClock(CORE_END))
    yield g
    g.engine.dispose()


def outcomes(gov: Governance) -> list[tuple[str, str, str]]:
    with session_scope(gov.engine) as session:
        rows = session.exec(select(MeetingOutcomeRow)).all()
        return [(r.occurrence_key, r.kind, r.text) for r in rows]


@pytest.mark.parametrize(
    ("command", "kind", "text"),
    [
        ("meeting decide go ahead with drills", "decision", "go ahead with drills"),
        ("meeting action @alice-aurora rebase the fork", "action", "rebase the fork"),
        ("meeting decide minutes https://notes.example/core", "minutes", "https://notes.example/core"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("after", [timedelta(minutes=30), DAY], ids=["right-after", "a-day-after"])
def test_the_latest_held_call_takes_the_write_up_within_a_day(
    gov: Governance, command: str, kind: str, text: str, after: timedelta
) -> None:
    """Up to (and at) a day after the call ended, the outcome goes to it as before."""
    reply = gov.run_sync(command, COORDINATOR, CORE_END + after)
    assert reply.ok, plain_text(reply)
    assert f"({CORE})" in plain_text(reply)
    assert outcomes(gov) == [(CORE, kind, text)]


@pytest.mark.parametrize(
    ("command", "then"),
    [
        (
            "meeting decide go ahead with drills",
            f"/charter meeting decide --call {CORE} go ahead with drills",
        ),
        (
            "meeting action @alice-aurora rebase the fork",
            f"/charter meeting action --call {CORE} @alice-aurora rebase the fork",
        ),
        (
            "meeting decide minutes https://notes.example/core",
            f"/charter meeting decide --call {CORE} minutes https://notes.example/core",
        ),
    ],
    ids=["decide", "action", "minutes"],
)
@pytest.mark.parametrize(
    "after",
    [DAY + timedelta(minutes=1), timedelta(days=2, hours=9, minutes=30)],
    ids=["a-day-and-a-minute", "three-days-on"],
)
def test_a_call_long_over_takes_nothing_and_the_answer_names_it(
    gov: Governance, command: str, then: str, after: timedelta
) -> None:
    """A day after the call ended, nothing is recorded: the answer names the latest held call
    and the exact command to record on it, which then does."""
    reply = gov.run_sync(command, COORDINATOR, CORE_END + after)
    said = plain_text(reply)
    assert not reply.ok
    to = "To record on it"
    if command.startswith("meeting decide go"):  # "go ahead…" is a gate's go on a go/no-go call
        to = (
            "A go/no-go decision counts only on the rollout's go/no-go call, and none is"
            " scheduled for a rollout under way. To record on Core client sync all the same"
            " (for no gate)"
        )
    assert said.endswith(
        f"No call is in progress, and the latest, Core client sync ({CORE}), ended over 24 hours"
        f" ago; nothing was recorded. {to}: {then}"
    ), said
    assert outcomes(gov) == []
    again = gov.run_sync(then.removeprefix("/charter "), COORDINATOR, CORE_END + after)
    assert again.ok, plain_text(again)
    assert len(outcomes(gov)) == 1 and outcomes(gov)[0][0] == CORE


def test_a_github_comment_is_told_the_command_for_a_public_call(gov: Governance) -> None:
    """From a GitHub comment the command is written as a comment writes it."""
    reply = gov.run_sync("meeting decide ship it", GITHUB_COORDINATOR, CORE_END + timedelta(days=3))
    said = plain_text(reply)
    assert not reply.ok and said.endswith(f"To record on it: /meeting decide --call {CORE} ship it")
    assert outcomes(gov) == []


@pytest.mark.parametrize(
    ("who", "after", "named"),
    [
        (COORDINATOR, timedelta(hours=2), None),  # within a day: recorded on it, from chat
        (COORDINATOR, timedelta(days=2), SECURITY),  # long over: named to one who may see it
        (GITHUB_COORDINATOR, timedelta(hours=2), ""),  # public: as when no call took place
        (GITHUB_COORDINATOR, timedelta(days=2), ""),
    ],
    ids=["chat-recent", "chat-long-over", "github-recent", "github-long-over"],
)
def test_a_private_call_long_over_is_never_named_in_a_github_comment(
    gov: Governance, who: Actor, after: timedelta, named: str | None
) -> None:
    """The security council's sync (private) is the latest held call: from chat it takes the
    write-up within a day and is named after; a GitHub comment's public reply is the one given
    when no call has taken place, however long ago it was, and names no call."""
    reply = gov.run_sync("meeting decide rotate keys", who, SECURITY_END + after)
    said = plain_text(reply)
    if named is None:
        assert reply.ok and outcomes(gov) == [(SECURITY, "decision", "rotate keys")], said
        return
    assert not reply.ok and outcomes(gov) == []
    if named:
        assert f"--call {SECURITY} rotate keys" in said, said
    else:
        assert said.endswith("No call has taken place yet to record this on."), said
        assert "security" not in said.lower() and "core-sync" not in said
