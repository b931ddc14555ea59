"""The wording of the go/no-go "cancelled by hand" flow, as a user walk found it: a stage the
charter holds no call before, a call cancelled twice, the call already scheduled, the public
cancel announcement, and a go/no-go decision with no call in progress."""

from __future__ import annotations

import pytest

from bot.messages import plain_text
from charter.rollout import Rollout
from storage import rollouts as rollout_store
from storage.db import session_scope
from tests.bot.meetings.conftest import COORDINATOR, announcements
from tests.bot.meetings.test_go_no_go import CANARY_SINCE, CLIENTS
from tests.bot.meetings.test_go_no_go_hand_cancel import (
    BASE,
    GITHUB_COORDINATOR,
    LATER,
    NOW,
    ask_again,
    rows,
    setup,
)

HOLD_AGAIN = "To hold it again: /charter meeting schedule go-no-go-7-production <when>."
BY = "by ines-coord on 2026-06-14 09:17 UTC"


def test_a_stage_without_a_go_no_go_call_is_said_so_not_that_it_is_next(db_url: str) -> None:
    """#8 on staging enters canary next, and the charter holds no go/no-go call before canary:
    the answer says so and which stage has one (before: "#8 needs no go/no-go call for canary
    now: it enters canary next")."""
    gov = setup(db_url)
    rollout = Rollout(
        proposal=8,
        clients=CLIENTS,
        started_at=CANARY_SINCE,
        stage_index=0,
        positions=dict.fromkeys(CLIENTS, 0),
        stage_entered_at={"staging": CANARY_SINCE},
    )
    with session_scope(gov.engine) as session:
        rollout_store.save_rollout(session, rollout, gov.charter, CANARY_SINCE)
    reply = gov.run_sync("meeting schedule go-no-go-8-canary 2026-06-17 14:00Z", COORDINATOR, NOW)
    assert not reply.ok
    assert plain_text(reply) == (
        "error: The charter holds no go/no-go call before canary (only before production)."
    )
    gov.engine.dispose()


@pytest.mark.parametrize("ref", [BASE, f"{BASE}@2026-06-15T10:00"], ids=["id", "key"])
def test_cancelling_a_cancelled_call_says_it_was_already_cancelled(db_url: str, ref: str) -> None:
    gov = setup(db_url)
    assert gov.run_sync(f"meeting cancel {ref}", COORDINATOR, NOW).ok
    again = gov.run_sync(f"meeting cancel {ref}", COORDINATOR, LATER)
    assert not again.ok
    assert plain_text(again) == (
        f"error: {BASE} (2026-06-15 10:00 UTC) was already cancelled {BY}. {HOLD_AGAIN}"
    )
    gov.engine.dispose()


def test_a_cancelled_attempt_says_so_and_an_earlier_one_names_the_call_waiting(
    db_url: str,
) -> None:
    """The call held again (attempt 2) and cancelled: cancelling it again says so; cancelling
    attempt 1 again while attempt 3 waits names attempt 3."""
    gov = setup(db_url)
    gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    ask_again(gov, "2026-06-17 14:00Z", LATER)
    assert gov.run_sync(f"meeting cancel {BASE}-2", COORDINATOR, LATER).ok
    again = plain_text(gov.run_sync(f"meeting cancel {BASE}-2", COORDINATOR, LATER))
    assert again == (
        f"error: {BASE}-2 (2026-06-17 14:00 UTC) was already cancelled by ines-coord on"
        f" 2026-06-16 09:00 UTC. {HOLD_AGAIN}"
    )
    ask_again(gov, "2026-06-18 14:00Z", LATER)
    first = plain_text(gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, LATER))
    assert first == (
        f"error: {BASE} (2026-06-15 10:00 UTC) was already cancelled {BY}. {BASE}-3 is already"
        " scheduled for #7 entering production (2026-06-18 14:00 UTC); to change its time:"
        f" /charter meeting move {BASE}-3 <when>."
    )
    gov.engine.dispose()


def test_a_private_cancelled_call_is_still_no_meeting_from_a_github_comment(db_url: str) -> None:
    gov = setup(db_url, confidential=True)
    gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    public = plain_text(gov.run_sync(f"meeting cancel {BASE}", GITHUB_COORDINATOR, LATER))
    assert public.startswith(f"error: There is no meeting {BASE};")
    assert "#7" not in public and "cancelled" not in public
    gov.engine.dispose()


def test_the_waiting_call_is_named_for_the_proposal_and_stage(db_url: str) -> None:
    gov = setup(db_url)
    reply = gov.run_sync(f"meeting schedule {BASE} 2026-06-17 14:00Z", COORDINATOR, NOW)
    assert plain_text(reply).startswith(
        f"error: {BASE} is already scheduled for #7 entering production (2026-06-15 10:00 UTC)"
    )
    gov.engine.dispose()


@pytest.mark.parametrize("confidential", [False, True])
def test_the_cancel_announcement_says_the_gate_waits(db_url: str, confidential: bool) -> None:
    """The public announcement says no call replaces it and what the gate waits for, naming no
    call id beyond the one cancelled; a private call's stays private."""
    gov = setup(db_url, confidential=confidential)
    gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    said = [a for a in announcements(gov.engine) if a["title"].startswith("Cancelled")]
    assert len(said) == 1 and said[0]["confidential"] is confidential
    assert said[0]["text"] == (
        f"Go/no-go: #7 to production ({BASE}@2026-06-15T10:00) is cancelled. No new go/no-go"
        " call will be scheduled automatically: #7's gate into production waits until a"
        " coordinator holds the call again or the rollout advances with an override."
    )
    gov.engine.dispose()


NO_CALL = (
    "error: No call is in progress, and the latest, Core client sync (core-sync@2026-06-11T15:00),"
    " ended over 24 hours ago; nothing was recorded."
)
ANYWAY = (
    "To record on Core client sync all the same (for no gate): /charter meeting decide --call"
    " core-sync@2026-06-11T15:00"
)


def test_a_go_decision_with_no_call_in_progress_is_not_sent_to_an_ordinary_call(
    db_url: str,
) -> None:
    """The hint named only `--call core-sync@… go all clear`, which would not count for the
    gate: it says first where a go/no-go decision counts, none (the call cancelled) or the one
    held again; any other decision keeps the hint alone."""
    gov = setup(db_url)
    gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    none = plain_text(gov.run_sync("meeting decide go all clear", COORDINATOR, LATER))
    assert none == (
        f"{NO_CALL} A go/no-go decision counts only on the rollout's go/no-go call, and none is"
        f" scheduled for a rollout under way. {ANYWAY} go all clear"
    )
    ask_again(gov, "2026-06-17 14:00Z", LATER)
    named = plain_text(gov.run_sync("meeting decide no-go: forks", COORDINATOR, LATER))
    assert named == (
        f"{NO_CALL} A go/no-go decision counts only on the rollout's go/no-go call, once it has"
        f" started: {BASE}-2 (2026-06-17 14:00 UTC): /charter meeting decide --call {BASE}-2"
        f" no-go: forks. {ANYWAY} no-go: forks"
    )
    other = plain_text(gov.run_sync("meeting decide all clear", COORDINATOR, LATER))
    assert other == (
        f"{NO_CALL} To record on it: /charter meeting decide --call core-sync@2026-06-11T15:00"
        " all clear"
    )
    gov.engine.dispose()


def test_a_private_go_no_go_call_is_not_named_in_a_public_reply(db_url: str) -> None:
    gov = setup(db_url, confidential=True)
    gov.run_sync(f"meeting cancel {BASE}", COORDINATOR, NOW)
    ask_again(gov, "2026-06-17 14:00Z", LATER)
    assert [r[2] for r in rows(gov)] == [True, False]
    public = plain_text(gov.run_sync("meeting decide go all clear", GITHUB_COORDINATOR, LATER))
    assert "and none is scheduled for a rollout under way. To record on" in public
    assert BASE not in public and "#7" not in public
    private = plain_text(gov.run_sync("meeting decide go all clear", COORDINATOR, LATER))
    assert f"--call {BASE}-2 go all clear" in private
    gov.engine.dispose()
