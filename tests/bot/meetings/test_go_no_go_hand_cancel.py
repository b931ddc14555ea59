"""A go/no-go call cancelled by hand: the bot schedules none in its place (the coordinator
cancelled it on purpose), the reply says so and how to go on, and `meeting schedule
go-no-go-<n>-<stage> <when>` holds the call again, as a go/no-go call whose decision is the
gate's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.meetings_hand_cancel import requested
from bot.messages import Actor, Message, plain_text
from bot.service import Governance
from charter.load import load_charter
from storage import meetings as store
from storage.db import session_scope
from tests.bot.meetings.conftest import (
    COORDINATOR,
    MAINTAINER,
    announcements,
    charter_with,
    make_gov,
)
from tests.bot.meetings.test_go_no_go import SOAK_END, on_canary
from tests.bot.meetings.test_go_no_go_retry import gate
from tests.paths import reference_charter_text

NOW = SOAK_END - timedelta(days=1)  # go-no-go-7-production is stored for 2026-06-15 10:00 UTC
BASE = "go-no-go-7-production"
LATER = datetime(2026, 6, 16, 9, 0, tzinfo=UTC)
GITHUB_COORDINATOR = Actor(login="ines-coord", surface="github", display="ines-coord")
STAGES = ("staging", "canary", "production")


def setup(db_url: str, *, confidential: bool = False) -> Governance:
    gov = make_gov(db_url, charter_with(), FixedClock(NOW))
    on_canary(gov, confidential=confidential)
    gov.tick(NOW)
    return gov


def rows(gov: Governance) -> list[tuple[str, str, bool, str]]:
    with session_scope(gov.engine) as session:
        return [(r.id, r.kind, r.cancelled, r.title) for r in store.adhoc_rows(session)]


def token_of(reply: Message) -> str:
    found = re.search(r"/charter confirm (\S+)", plain_text(reply))
    assert found is not None, plain_text(reply)
    return found.group(1)


def ask_again(gov: Governance, when: str, at: datetime, who: Actor = COORDINATOR) -> Message:
    """Ask for the call again and confirm the preview."""
    preview = gov.run_sync(f"meeting schedule {BASE} {when}", who, at)
    assert preview.ok and "Schedule this go/no-go call?" in plain_text(preview)
    return gov.run_sync(f"confirm {token_of(preview)}", who, at)


def test_the_cancel_reply_says_no_call_replaces_it_and_how_to_go_on(db_url: str) -> None:
    """The reply to cancelling a go/no-go call says no new call comes by itself and names the
    command that schedules it again and the override for a decision made elsewhere; and indeed
    the ticks up to ten days past the soak's end store none."""
    gov = setup(db_url)
    reply = plain_text(gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW))
    assert (
        "No new go/no-go call will be scheduled automatically for #7 entering production" in reply
    )
    assert f"/charter meeting schedule {BASE} <when>" in reply
    assert (
        "coordinators enter the stage with an override: /charter advance 7 to production" in reply
    )
    for day in range(12):
        gov.tick(NOW + timedelta(days=day, hours=1))
    assert [(r[0], r[2]) for r in rows(gov)] == [(BASE, True)]
    assert not gate(gov).passed
    gov.engine.dispose()


def test_an_ordinary_calls_cancel_reply_says_nothing_of_go_no_go(db_url: str) -> None:
    gov = setup(db_url)
    preview = gov.run_sync("meeting schedule Sync in 2 hours", COORDINATOR, NOW)
    done = gov.run_sync(f"confirm {token_of(preview)}", COORDINATOR, NOW)
    call_id = done.title.removeprefix("Scheduled ") if done.title else ""
    reply = plain_text(gov.run_sync(f"meeting cancel {call_id}", COORDINATOR, NOW))
    assert "is cancelled" in reply and "go/no-go" not in reply
    gov.engine.dispose()


def test_scheduling_the_call_again_holds_a_go_no_go_call_whose_decision_is_the_gates(
    db_url: str,
) -> None:
    """After the cancel, `meeting schedule go-no-go-7-production <when>` stores attempt 2 at
    that time, announced like the bot's; `go` on it passes the gate; a no-go on it brings the
    automatic retry, attempt 3."""
    gov = setup(db_url)
    gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    done = ask_again(gov, "2026-06-17 14:00Z", LATER)
    assert done.ok and done.title == f"Scheduled {BASE}-2"
    assert rows(gov)[-1] == (
        f"{BASE}-2",
        "go-no-go",
        False,
        "Go/no-go: #7 to production (attempt 2)",
    )
    said = [a["text"] for a in announcements(gov.engine) if a["title"].endswith("(attempt 2)")]
    assert said and "scheduled by ines-coord (attempt 2)" in said[0]
    during = datetime(2026, 6, 17, 14, 20, tzinfo=UTC)
    reply = gov.run_sync("meeting decide no-go: borealis forks", COORDINATOR, during)
    assert "Recorded as the production go/no-go decision" in plain_text(reply)
    gov.tick(during + timedelta(hours=1))
    assert [r[0] for r in rows(gov)] == [BASE, f"{BASE}-2", f"{BASE}-3"]
    gov.engine.dispose()


def test_go_on_the_call_scheduled_again_passes_the_gate(db_url: str) -> None:
    gov = setup(db_url)
    gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    ask_again(gov, "2026-06-17 14:00Z", LATER)
    assert not gate(gov).passed
    gov.run_sync(
        "meeting decide go, all green", COORDINATOR, datetime(2026, 6, 17, 14, 5, tzinfo=UTC)
    )
    assert gate(gov).passed
    gov.engine.dispose()


@pytest.mark.parametrize(
    ("cancel", "command", "says"),
    [
        (False, f"meeting schedule {BASE} 2026-06-17 14:00Z",
         f"{BASE} is already scheduled for #7 entering production (2026-06-15 10:00 UTC); to "
         f"change its time: /charter meeting move {BASE} <when>."),
        (True, "meeting schedule go-no-go-7-canary 2026-06-17 14:00Z",
         "The charter holds no go/no-go call before canary (only before production)."),
        (True, "meeting schedule go-no-go-7-prod 2026-06-17 14:00Z",
         "go-no-go-7-prod names no stage of the charter; a go/no-go call is "
         "go-no-go-<n>-<stage>, the stage one of staging, canary, production."),
        (True, "meeting schedule go-no-go-99-production 2026-06-17 14:00Z",
         "#99 has no rollout under way to hold a go/no-go call for."),
        (True, f"meeting schedule {BASE} 2026-06-17 14:00Z for 8",
         f"{BASE} is a call about #7, not #8."),
    ],
    ids=["waiting", "not-next", "unknown-stage", "no-rollout", "other-proposal"],
)  # fmt: skip
def test_a_go_no_go_call_is_scheduled_again_only_when_its_rollout_needs_it(
    db_url: str, cancel: bool, command: str, says: str
) -> None:
    gov = setup(db_url)
    if cancel:
        gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    reply = gov.run_sync(command, COORDINATOR, LATER if cancel else NOW)  # NOW: the call waits
    assert not reply.ok and plain_text(reply) == f"error: {says}"
    gov.engine.dispose()


def test_the_request_is_checked_again_at_confirmation(db_url: str) -> None:
    """Two previews, both confirmed: the second stores nothing (a call for the stage waits)."""
    gov = setup(db_url)
    gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    first = gov.run_sync(f"meeting schedule {BASE} 2026-06-17 14:00Z", COORDINATOR, LATER)
    second = gov.run_sync(f"meeting schedule {BASE} 2026-06-18 14:00Z", COORDINATOR, LATER)
    assert gov.run_sync(f"confirm {token_of(first)}", COORDINATOR, LATER).ok
    late = gov.run_sync(f"confirm {token_of(second)}", COORDINATOR, LATER)
    assert not late.ok and plain_text(late).endswith("Nothing was scheduled.")
    assert [r[0] for r in rows(gov)] == [BASE, f"{BASE}-2"]
    gov.engine.dispose()


def test_a_private_calls_request_is_no_rollout_to_those_who_may_not_see_it(db_url: str) -> None:
    """A confidential rollout's call asked for again is private; someone who may not see it
    (a maintainer, #7 not stored) is answered as for a proposal without a rollout."""
    gov = setup(db_url, confidential=True)
    gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    hidden = plain_text(
        gov.run_sync(f"meeting schedule {BASE} 2026-06-17 14:00Z", MAINTAINER, LATER)
    )
    other = "meeting schedule go-no-go-99-production 2026-06-17 14:00Z"
    none = plain_text(gov.run_sync(other, MAINTAINER, LATER))
    assert hidden == none.replace("#99", "#7")
    assert ask_again(gov, "2026-06-17 14:00Z", LATER).ok
    with session_scope(gov.engine) as session:
        assert [r.private for r in store.adhoc_rows(session)] == [True, True]
    about = [a for a in announcements(gov.engine) if "#7" in a["title"]]
    assert about and all(a["confidential"] for a in about)
    gov.engine.dispose()


def test_a_private_call_is_no_meeting_to_cancel_from_a_github_comment(db_url: str) -> None:
    """A reply to a GitHub comment is public: a coordinator there is told a private go/no-go
    call does not exist, and it stays scheduled; the same cancel from chat goes through."""
    gov = setup(db_url, confidential=True)
    public = plain_text(gov.run_sync(f"meeting cancel {BASE}", GITHUB_COORDINATOR, NOW))
    assert public.startswith(f"error: There is no meeting {BASE};") and "#7" not in public
    assert rows(gov)[0][2] is False
    assert gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW).ok
    gov.engine.dispose()


def test_a_private_call_is_no_meeting_to_move_from_a_github_comment(db_url: str) -> None:
    """The same for ``meeting move``: its preview would name the private call and its time in
    a public reply; there it does not exist, and from chat the move is previewed."""
    gov = setup(db_url, confidential=True)
    move = f"meeting move {BASE} 2026-06-15 16:00Z"
    public = plain_text(gov.run_sync(move, GITHUB_COORDINATOR, NOW))
    assert public.startswith(f"error: There is no meeting {BASE};") and "#7" not in public
    assert "confirm" not in public
    assert gov.run_sync(move, COORDINATOR, NOW).ok
    gov.engine.dispose()


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("go-no-go-7-production", (7, "production")),
        ("GO-NO-GO-7-Production", (7, "production")),
        ("go-no-go-7-production-3", (7, "production")),  # any attempt's id
        ("go-no-go-12-canary", (12, "canary")),
        ("go-no-go-7-prod", "go-no-go-7-prod names no stage"),
        ("go-no-go-7-production-x", "go-no-go-7-production-x names no stage"),
        ("Go/no-go for #7", None),
        ("go-no-go-x-production", None),
        ("weekly go-no-go-7-production", None),
    ],
)
def test_requested_reads_a_go_no_go_call_id_as_a_title(
    title: str, expected: tuple[int, str] | str | None
) -> None:
    found = requested(title, STAGES)
    if isinstance(expected, str):
        assert isinstance(found, str) and found.startswith(expected)
    else:
        assert found == expected


@pytest.mark.parametrize(
    "command",
    [
        f"meeting cancel {BASE}",
        f"meeting move {BASE} 2026-06-15 16:00Z",
        f"meeting schedule {BASE} 2026-06-17 14:00Z",
    ],
)
def test_only_coordinators_cancel_move_or_schedule_a_go_no_go_call(
    db_url: str, command: str
) -> None:
    """A client's maintainer may schedule and cancel ordinary calls, but a go/no-go call's
    decision is a rollout gate's: cancelling, moving or holding it again is a coordinator's, as
    deciding it is; the call stays as it was."""
    gov = setup(db_url)
    said = plain_text(gov.run_sync(command, MAINTAINER, NOW))
    assert said.startswith("error: Only coordinators may schedule, move or cancel a go/no-go"), said
    assert rows(gov)[0][2] is False  # not cancelled
    gov.engine.dispose()


def test_a_confirmed_move_of_a_go_no_go_call_is_asked_again_as_a_move(db_url: str) -> None:
    """confirm re-authorises the command it completes: a coordinator who previewed moving the
    gate's call and is no longer one when confirming (the charter changed meanwhile) is
    refused, as their cancel or move now would be, and the call stays where it was."""
    gov = setup(db_url)
    preview = gov.run_sync(f"meeting move {BASE} 2026-06-16 09:00Z", COORDINATOR, NOW)
    assert preview.ok, plain_text(preview)
    gov.engine.dispose()
    text = (
        reference_charter_text()
        .replace("coordinators: [ines-coord, jonas-coord]", "coordinators: [jonas-coord]")
        .replace("maintainers: [hana-eridanus]", "maintainers: [hana-eridanus, ines-coord]")
    )
    assert "coordinators: [jonas-coord]" in text and "hana-eridanus, ines-coord" in text
    demoted = make_gov(db_url, load_charter(text, "c.yaml"), FixedClock(NOW))
    reply = demoted.run_sync(f"confirm {token_of(preview)}", COORDINATOR, NOW)
    assert not reply.ok and "Only coordinators may" in plain_text(reply), plain_text(reply)
    with session_scope(demoted.engine) as session:
        (row,) = [r for r in store.adhoc_rows(session) if r.id == BASE]
        assert row.starts_at.replace(tzinfo=UTC) == datetime(2026, 6, 15, 10, tzinfo=UTC)
    demoted.engine.dispose()
