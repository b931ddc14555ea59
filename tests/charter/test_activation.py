"""Moving an accepted proposal's activation target: when it may move, to what, and what the
move records (charter.activation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from charter.activation import move_activation
from charter.effects import Announce, Audit, Reply, SyncTracking
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import Proposal
from tests.charter.rollout_support import reference, reference_data

CHARTER = reference()  # protocol-change: activation at least 21d after the decision
DECIDED = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
NOW = DECIDED + timedelta(days=3)


def proposal(
    state: State = State.ACCEPTED, track: str = "protocol-change", **fields: Any
) -> Proposal:
    return Proposal(
        42,
        "Raise the gas target",
        "alice-aurora",
        track,
        state,
        {"activation": "2027-03-25T14:00Z", **fields},
        3,
        DECIDED - timedelta(days=20),
        decided_at=None if state in (State.DRAFT, State.REVIEW, State.VOTING) else DECIDED,
    )


def test_a_move_records_announces_and_updates_the_target() -> None:
    decision = move_activation(
        proposal(), CHARTER, "2027-04-08 14:00Z", "borealis needs two weeks", "ines-coord", NOW
    )
    assert decision.proposal.fields["activation"] == "2027-04-08T14:00Z"
    audit, announce, sync, reply = decision.effects
    assert audit == Audit(
        "activation-moved",
        "proposal:42",
        {
            "from": "2027-03-25T14:00Z",
            "to": "2027-04-08T14:00Z",
            "by": "ines-coord",
            "reason": "borealis needs two weeks",
        },
    )
    assert isinstance(announce, Announce) and announce.kind == "rollout"
    assert announce.title == "#42 activation moved to 2027-04-08T14:00Z"
    assert announce.text == (
        "Raise the gas target: was 2027-03-25T14:00Z. borealis needs two weeks — ines-coord"
    )
    assert sync == SyncTracking(42)
    assert reply == Reply(
        "#42's activation target is now 2027-04-08T14:00Z (was 2027-03-25T14:00Z)."
    )


@pytest.mark.parametrize(
    ("p", "target", "refusal"),
    [
        (proposal(State.DRAFT), "epoch 9", "#42 is draft: its author edits the issue form"),
        (proposal(State.REVIEW), "epoch 9", "#42 is review: its author edits the issue form"),
        (
            proposal(State.VOTING),
            "epoch 9",
            "#42 is voting: the target is part of what is voted on; it moves only once accepted",
        ),
        (
            proposal(State.COMPLETED),
            "epoch 9",
            "#42 is completed: its rollout is complete; activation no longer moves.",
        ),
        (proposal(State.REJECTED), "epoch 9", "#42 is rejected: it will not be activated."),
        (proposal(State.EXPIRED), "epoch 9", "#42 is expired: it will not be activated."),
        (proposal(State.WITHDRAWN), "epoch 9", "#42 is withdrawn: it will not be activated."),
        (
            proposal(State.ROLLED_BACK),
            "epoch 9",
            "#42 is rolled-back: its rollout was rolled back and ended; it will not be activated.",
        ),
        (proposal(), "next tuesday", "Activation target must be a UTC date-time"),
        (proposal(), "2027-03-25 14:00 UTC", "already 2027-03-25T14:00Z"),
        (proposal(), "2027-03-04T12:00Z", "2027-03-04T12:00Z is in the past"),
        (
            proposal(),
            "2027-03-20T00:00Z",
            "2027-03-20T00:00Z is too early: #42 was decided on 2027-03-01 12:00 UTC and its"
            " track needs activation at least 3w after the decision, so the earliest target is"
            " 2027-03-22 12:00 UTC.",
        ),
    ],
    ids=[
        "draft",
        "review",
        "voting",
        "completed",
        "rejected",
        "expired",
        "withdrawn",
        "rolled-back",
        "unreadable",
        "same",
        "past",
        "too-early",
    ],
)
def test_refusals(p: Proposal, target: str, refusal: str) -> None:
    """Each refusal says why for its state: a completed rollout's target no longer moves, a
    proposal that will not be activated (rejected, expired, withdrawn, rolled back) says so."""
    decision = move_activation(p, CHARTER, target, "why", "ines-coord", NOW)
    assert decision.proposal == p
    audit, reply = decision.effects
    assert isinstance(audit, Audit) and audit.kind == "command-refused"
    assert isinstance(reply, Reply) and not reply.ok and refusal in reply.text


@pytest.mark.parametrize(
    ("p", "target", "now_set"),
    [
        (proposal(State.ROLLING_OUT), "epoch 412000", "epoch 412000"),  # a chain position: no floor
        (proposal(track="feature-flag"), "2027-03-05T00:00Z", "2027-03-05T00:00Z"),  # no floor
        (proposal(activation=None), "2027-04-01T00:00Z", "2027-04-01T00:00Z"),  # none set before
        # a bare time is read in the charter's zone (UTC in the reference charter)
        (proposal(activation=None), "2027-04-01T14:00", "2027-04-01T14:00Z"),
        (proposal(activation=None), "2027-04-01 14:00", "2027-04-01T14:00Z"),
    ],
    ids=["chain-position", "track-without-floor", "first-target", "bare-time", "bare-spaced"],
)
def test_moves_without_a_floor_to_check(p: Proposal, target: str, now_set: str) -> None:
    decision = move_activation(p, CHARTER, target, "  agreed \n on the call ", "ines-coord", NOW)
    assert decision.proposal.fields["activation"] == now_set
    reply = decision.effects[-1]
    assert isinstance(reply, Reply) and reply.ok
    audit = decision.effects[0]
    assert isinstance(audit, Audit) and audit.payload["reason"] == "agreed on the call"


@pytest.mark.parametrize(
    ("zone", "target", "now_set"),
    [
        ("Europe/Berlin", "2027-04-01T14:00", "2027-04-01T12:00Z"),  # CEST, UTC+2
        ("Europe/Berlin", "2027-11-15 14:00", "2027-11-15T13:00Z"),  # CET, UTC+1
        ("Europe/Berlin", "2027-04-01T14:00Z", "2027-04-01T14:00Z"),  # a zone given wins
        ("America/New_York", "2027-04-01T09:30", "2027-04-01T13:30Z"),  # EDT, UTC-4
    ],
)
def test_a_bare_time_is_read_in_the_charters_zone(zone: str, target: str, now_set: str) -> None:
    """The reference charter says bare dates and times in commands are read in its zone."""
    data = reference_data()
    data["charter"]["timezone"] = zone
    charter = Charter.model_validate(data)
    p = proposal(activation=None)
    decision = move_activation(p, charter, target, "slipped", "ines-coord", NOW)
    assert decision.proposal.fields["activation"] == now_set
