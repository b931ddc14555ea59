"""`meeting decide|action --call <id>`: naming the call an outcome is recorded on. With two calls
in progress at once (a go/no-go call during a series' call) nothing is guessed: the answer lists
them; `--call` picks one, and a go/no-go decision lands on the right stage's gate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.messages import Actor, plain_text
from bot.service import Governance
from storage import (
    audit_query,
    meeting_outcomes as outcome_store,
    meetings as store,
    rollout_reports as report_store,
)
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow, MeetingOutcomeRow
from tests.bot.meetings.conftest import COORDINATOR, HOURLY, MAINTAINER, charter_with, make_gov
from tests.bot.meetings.test_go_no_go import SOAK_END, on_canary

GO_NO_GO = "go-no-go-7-production"  # 2026-06-15 10:00-11:00 UTC
GO_KEY = f"{GO_NO_GO}@2026-06-15T10:00"
HOURLY_KEY = "hourly@2026-06-15T10:30"  # 10:30-10:45 UTC, during the go/no-go call
BOTH = datetime(2026, 6, 15, 10, 35, tzinfo=UTC)  # both calls in progress
GO_ONLY = datetime(2026, 6, 15, 10, 50, tzinfo=UTC)  # the hourly one is over
BEFORE = datetime(2026, 6, 15, 9, 50, tzinfo=UTC)  # the go/no-go call has not started


def two_calls(db_url: str, *, confidential: bool = False) -> Governance:
    """An hourly series and #7's go/no-go call before production (private when
    ``confidential``), which the 10:30 hourly call overlaps."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with([HOURLY]), FixedClock(now))
    on_canary(gov, confidential=confidential)
    gov.tick(now)
    with session_scope(gov.engine) as session:
        assert session.get(AdhocMeetingRow, GO_NO_GO) is not None
    return gov


@pytest.fixture
def gov(db_url: str) -> Iterator[Governance]:
    g = two_calls(db_url)
    yield g
    g.engine.dispose()


def outcomes(gov: Governance) -> list[tuple[str, str, str]]:
    """(occurrence key, kind, text) of every outcome recorded."""
    with session_scope(gov.engine) as session:
        rows = session.exec(select(MeetingOutcomeRow)).all()
        return [(r.occurrence_key, r.kind, r.text) for r in rows]


def gate(gov: Governance) -> list[tuple[str, str]]:
    with session_scope(gov.engine) as session:
        return [(d.stage, d.decision) for d in report_store.go_no_go(session, 7)]


@pytest.mark.parametrize(
    "command",
    [
        "meeting decide go, all five clients are green",
        "meeting decide minutes https://notes.example/gng",
        "meeting action @alice-aurora rebase the fork branch",
    ],
)
def test_two_calls_in_progress_are_listed_and_nothing_is_recorded(
    gov: Governance, command: str
) -> None:
    """With the hourly call and the go/no-go call both in progress, an outcome without --call
    is refused with both calls, their ids and the command naming each; no gate decision."""
    reply = gov.run_sync(command, COORDINATOR, BOTH)
    said = plain_text(reply)
    verb, args = ("action", "<who> <text>") if "action" in command else ("decide", "<text>")
    assert not reply.ok
    assert "Several calls are in progress; nothing was recorded." in said
    for title, call_id in (("Hourly standup", "hourly"), ("Go/no-go: #7 to production", GO_NO_GO)):
        assert f"{title} ({call_id}): /charter meeting {verb} --call {call_id} {args}" in said
    assert outcomes(gov) == [] and gate(gov) == []


def test_one_call_in_progress_takes_the_outcome_as_before(gov: Governance) -> None:
    """Once the hourly call is over, only the go/no-go call is in progress: it is the one."""
    reply = gov.run_sync("meeting decide go, all green", COORDINATOR, GO_ONLY)
    assert reply.ok, plain_text(reply)
    assert outcomes(gov) == [(GO_KEY, "decision", "go, all green")]
    assert gate(gov) == [("production", "go")]


@pytest.mark.parametrize(
    ("call", "key", "gated"),
    [
        (GO_NO_GO, GO_KEY, [("production", "go")]),
        (GO_KEY, GO_KEY, [("production", "go")]),  # its occurrence key
        (f"#{GO_NO_GO}", GO_KEY, [("production", "go")]),
        ("hourly", HOURLY_KEY, []),  # the series' call in progress: no gate decision
        (HOURLY_KEY, HOURLY_KEY, []),
        ("hourly@2026-06-15T09:30", "hourly@2026-06-15T09:30", []),  # one held earlier
    ],
)
def test_call_names_where_the_decision_goes(
    gov: Governance, call: str, key: str, gated: list[tuple[str, str]]
) -> None:
    """`--call` records on the call named (its occurrence in progress, or the one its key
    names); a leading go on the go/no-go call is the production gate's decision for #7."""
    reply = gov.run_sync(f"meeting decide --call {call} go, all green", COORDINATOR, BOTH)
    said = plain_text(reply)
    assert reply.ok, said
    assert f"({key})" in said
    assert outcomes(gov) == [(key, "decision", "go, all green")]
    assert gate(gov) == gated
    with session_scope(gov.engine) as session:
        audited = [(r.kind, r.subject) for r in audit_query.entries(session)]
    assert ("meeting-decision", f"meeting:{key}") in audited


def open_items(gov: Governance) -> list[int]:
    with session_scope(gov.engine) as session:
        return [int(row.id or 0) for row in outcome_store.open_actions(session)]


def closed_audited(gov: Governance) -> list[str]:
    """The subjects of the `meeting-action-done` audit entries."""
    with session_scope(gov.engine) as session:
        entries = audit_query.entries(session)
        return [r.subject for r in entries if r.kind == "meeting-action-done"]


@pytest.mark.parametrize("call", ["hourly", HOURLY_KEY], ids=["id", "key"])
def test_call_takes_minutes_and_action_items_to_the_call_named(gov: Governance, call: str) -> None:
    """The `minutes <url>` and `done <n>` sub-forms work with --call too; `done` with the call
    (or the occurrence) the item is on."""
    runs = [
        f"meeting decide --call {GO_NO_GO} minutes https://notes.example/gng",
        "meeting action —call hourly @alice-aurora rebase the fork branch",
        f"meeting action --call {call} @alice-aurora done 2",
    ]
    for command in runs:
        reply = gov.run_sync(command, COORDINATOR, BOTH)
        assert reply.ok, plain_text(reply)
    assert outcomes(gov) == [
        (GO_KEY, "minutes", "https://notes.example/gng"),
        (HOURLY_KEY, "action", "rebase the fork branch"),
    ]
    assert open_items(gov) == [] and closed_audited(gov) == [f"meeting:{HOURLY_KEY}"]


@pytest.mark.parametrize(
    "call", [GO_NO_GO, GO_KEY, "hourly@2026-06-15T09:30"], ids=["other-call", "its-key", "earlier"]
)
def test_call_refuses_to_close_an_item_of_another_call(gov: Governance, call: str) -> None:
    """`--call X … done <n>` closes item n only when it is on X (on the occurrence, when a key
    is named): an item of the hourly call stays open when another call is named."""
    added = gov.run_sync("meeting action --call hourly @alice-aurora rebase", COORDINATOR, BOTH)
    assert added.ok, plain_text(added)
    (number,) = open_items(gov)
    reply = gov.run_sync(
        f"meeting action --call {call} @alice-aurora done {number}", COORDINATOR, BOTH
    )
    assert not reply.ok and plain_text(reply).endswith(f"[{number}] is not on {call}."), plain_text(
        reply
    )
    assert open_items(gov) == [number] and closed_audited(gov) == []


@pytest.mark.parametrize(
    ("command", "now", "refusal"),
    [
        (
            f"meeting decide --call {GO_NO_GO} go",
            BEFORE,
            f"{GO_KEY} has not started: decisions are recorded on a call in progress or held.",
        ),
        (
            f"meeting action --call {GO_KEY} @alice-aurora rebase",
            BEFORE,
            f"{GO_KEY} has not started: decisions are recorded on a call in progress or held.",
        ),
        (
            "meeting decide --call hourly@2026-06-15T11:30 go",
            BOTH,
            "hourly@2026-06-15T11:30 has not started: decisions are recorded on a call in"
            " progress or held.",
        ),
        (
            f"meeting action --call {GO_KEY} @alice-aurora done 1",
            BEFORE,
            f"{GO_KEY} has not started",
        ),
        ("meeting decide --call nope go", BOTH, "There is no meeting nope; known: hourly, "),
        (
            "meeting decide --call hourly@2026-06-15T10:45 go",
            BOTH,
            "hourly@2026-06-15T10:45 is not an occurrence of hourly.",
        ),
    ],
    ids=["adhoc", "adhoc-key", "series-key", "done", "unknown", "no-occurrence"],
)
def test_call_refuses_a_call_not_started_or_unknown(
    gov: Governance, command: str, now: datetime, refusal: str
) -> None:
    reply = gov.run_sync(command, COORDINATOR, now)
    assert not reply.ok and refusal in plain_text(reply), plain_text(reply)
    assert outcomes(gov) == [] and gate(gov) == []


@pytest.mark.parametrize(
    ("call", "refusal"),
    [
        (GO_NO_GO, f"{GO_NO_GO} is cancelled."),
        ("hourly@2026-06-15T10:30", "hourly@2026-06-15T10:30 is cancelled."),
    ],
)
def test_call_refuses_a_cancelled_call(gov: Governance, call: str, refusal: str) -> None:
    """A cancelled call (an ad-hoc one, or one occurrence of a series) takes no outcome."""
    with session_scope(gov.engine) as session:
        row = session.get(AdhocMeetingRow, GO_NO_GO)
        assert row is not None
        row.cancelled = True
        session.add(row)
        store.set_exception(
            session, key="hourly@2026-06-15T10:30", meeting_id="hourly", moved_to=None,
            by="ines-coord", now=BEFORE,
        )  # fmt: skip
    reply = gov.run_sync(f"meeting decide --call {call} go", COORDINATOR, BOTH)
    assert not reply.ok and refusal in plain_text(reply), plain_text(reply)
    assert outcomes(gov) == [] and gate(gov) == []


GITHUB_COORDINATOR = Actor(login="ines-coord", surface="github", display="ines-coord")


@pytest.mark.parametrize(
    ("who", "listed", "recorded_on"),
    [
        (COORDINATOR, True, None),  # may see it: both calls are listed
        (GITHUB_COORDINATOR, False, HOURLY_KEY),  # a public comment: as the public sees it
        (MAINTAINER, False, HOURLY_KEY),  # may not see it: one call in progress, to them
    ],
    ids=["coordinator", "github-comment", "maintainer"],
)
def test_a_private_call_in_progress_is_listed_only_to_those_who_may_see_it(
    db_url: str, who: Actor, listed: bool, recorded_on: str | None
) -> None:
    """During a confidential rollout's go/no-go call and the hourly call, the listing names
    the private call only to one who may see it; to one who may not, and in a GitHub comment
    (whose reply is public), only the hourly call is in progress, and the item goes there:
    the reply does not say that another call is in progress."""
    gov = two_calls(db_url, confidential=True)
    reply = gov.run_sync("meeting action @alice-aurora rebase", who, BOTH)
    said = plain_text(reply)
    recorded = outcomes(gov)
    gov.engine.dispose()
    assert (GO_NO_GO in said) is listed and ("#7" in said) is listed
    assert ("in progress" in said) is listed
    if recorded_on is None:
        assert not reply.ok and "meeting action --call hourly <who> <text>" in said
        assert recorded == []
    else:
        assert reply.ok and recorded == [(recorded_on, "action", "rebase")]


@pytest.mark.parametrize(
    "call", [GO_NO_GO, GO_KEY, f"{GO_NO_GO}@2026-06-15T11:00"], ids=["id", "key", "other-key"]
)
def test_call_does_not_reveal_a_private_call_to_one_who_may_not_see_it(
    db_url: str, call: str
) -> None:
    """Naming a private call one may not see is answered as for any unknown meeting: its id is
    not among the known ones, and nothing is recorded on it."""
    gov = two_calls(db_url, confidential=True)
    hidden = plain_text(gov.run_sync(f"meeting action --call {call} @bob x", MAINTAINER, BOTH))
    shown = gov.run_sync(f"meeting action --call {call} @bob x", COORDINATOR, BOTH)
    recorded = outcomes(gov)
    gov.engine.dispose()
    assert hidden.endswith(f"There is no meeting {GO_NO_GO}; known: hourly."), hidden
    assert shown.ok is (call != f"{GO_NO_GO}@2026-06-15T11:00")
    assert len(recorded) == int(shown.ok)


NO_CALL = "No call has taken place yet to record this on."
UNKNOWN = f"There is no meeting {GO_NO_GO}; known: hourly."


@pytest.mark.parametrize(
    ("command", "at", "answer"),
    [
        ("meeting decide go, all green", GO_ONLY, NO_CALL),  # the private call is in progress
        ("meeting action @alice-aurora rebase", GO_ONLY, NO_CALL),
        (f"meeting decide --call {GO_NO_GO} go, all green", BOTH, UNKNOWN),  # named
        (f"meeting action --call {GO_NO_GO} @alice-aurora rebase", GO_ONLY, UNKNOWN),
        (f"meeting decide --call {GO_KEY} go, all green", GO_ONLY, UNKNOWN),
    ],
    ids=["only-call", "only-call-action", "named", "named-action", "named-key"],
)
def test_nothing_is_recorded_on_a_private_call_from_a_github_comment(
    db_url: str, command: str, at: datetime, answer: str
) -> None:
    """A coordinator may record on a confidential rollout's go/no-go call, but not from a
    GitHub comment: its reply is public on the issue. There the call is as the public sees it:
    named, it is no meeting (the answer to one who may not see it); the call an outcome would
    go to, it is answered as when no call has taken place. Nothing says it exists or is in
    progress; nothing is recorded, and no gate decision."""
    gov = two_calls(db_url, confidential=True)
    reply = gov.run_sync(command, GITHUB_COORDINATOR, at)
    said, recorded, decided = plain_text(reply), outcomes(gov), gate(gov)
    chat = gov.run_sync(command, COORDINATOR, at)
    gov.engine.dispose()
    assert not reply.ok and said.endswith(answer), said
    assert "#7" not in said and "in progress" not in said and "chat" not in said
    assert recorded == [] and decided == []
    assert chat.ok  # from chat it is recorded


def test_a_github_decision_goes_to_the_one_public_call_in_progress(db_url: str) -> None:
    """With the private go/no-go call and the hourly call in progress, a GitHub comment's
    decision goes to the hourly call, the only one the public can see: no gate decision."""
    gov = two_calls(db_url, confidential=True)
    reply = gov.run_sync("meeting decide we ship friday", GITHUB_COORDINATOR, BOTH)
    recorded, decided = outcomes(gov), gate(gov)
    gov.engine.dispose()
    assert reply.ok, plain_text(reply)
    assert recorded == [(HOURLY_KEY, "decision", "we ship friday")] and decided == []


def item_on_private_call(db_url: str) -> tuple[Governance, int]:
    """#7's private go/no-go call (confidential rollout) with alice-aurora's item on it."""
    gov = two_calls(db_url, confidential=True)
    cmd = f"meeting action --call {GO_NO_GO} @alice-aurora rotate the signing key"
    reply = gov.run_sync(cmd, COORDINATOR, GO_ONLY)
    assert reply.ok, plain_text(reply)
    (number,) = open_items(gov)
    return gov, number


@pytest.mark.parametrize(
    ("who", "call"),
    [
        (GITHUB_COORDINATOR, None),  # may see it, but the reply is a public comment
        (GITHUB_COORDINATOR, GO_NO_GO),
        (MAINTAINER, None),  # may not see the call
        (MAINTAINER, "hourly"),  # nor be told the item is on another call
    ],
    ids=["github", "github-call", "maintainer", "maintainer-other-call"],
)
def test_an_item_on_a_private_call_is_closed_only_where_it_may_be_seen(
    db_url: str, who: Actor, call: str | None
) -> None:
    """An item on a call the asker may not see (from a GitHub comment, a private one) is
    answered as a number without an open item (or the call named is no meeting) and stays
    open; from chat, a coordinator closes it."""
    gov, number = item_on_private_call(db_url)
    named = "" if call is None else f"--call {call} "
    done = f"meeting action {named}@alice-aurora done"
    reply = gov.run_sync(f"{done} {number}", who, GO_ONLY)
    unknown = gov.run_sync(f"{done} {number + 100}", who, GO_ONLY)
    still_open, audited = open_items(gov), closed_audited(gov)
    chat = gov.run_sync(
        f"meeting action --call {GO_NO_GO} @alice-aurora done {number}", COORDINATOR, GO_ONLY
    )
    closed = open_items(gov) == [] and closed_audited(gov) == [f"meeting:{GO_KEY}"]
    gov.engine.dispose()
    said = plain_text(reply)
    assert not reply.ok and said == plain_text(unknown).replace(f"{number + 100}", f"{number}")
    assert GO_NO_GO not in said or call == GO_NO_GO  # the id typed, echoed as for any unknown
    assert still_open == [number] and audited == []
    assert chat.ok and closed, plain_text(chat)
