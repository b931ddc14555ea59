"""A proposal is decided by the charter version in force when it was opened.

The reference charter: "Once accepted, the new version takes effect for proposals opened after
it." Here version 4 amends the protocol-change track (voting 10d instead of 5d, quorum 0.6
instead of 1.0, no confirm period) and adds a sixth client; the running charter is v4 and
keeps v3 (:func:`charter.model.keeping`).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from charter.deadlines import deadlines, next_due_at
from charter.lifecycle import State
from charter.model import Charter, keeping
from charter.proposal import Proposal, rules_for, tally_of, track_of
from charter.proposal_transitions import close_if_due, open_voting
from charter.proposal_votes import cast_vote
from charter.votes import Choice, Outcome, Vote

SHARED = Path(os.environ.get("CHARTERBOT_SHARED_DIR") or Path(__file__).parents[3] / "shared")
RAW = yaml.safe_load((SHARED / "charter" / "reference-charter.yaml").read_text("utf-8"))
V3 = Charter.model_validate(RAW)


def _v4() -> Charter:
    data: dict[str, Any] = yaml.safe_load(
        (SHARED / "charter" / "reference-charter.yaml").read_text()
    )
    data["charter"]["version"] = 4
    track = data["tracks"]["protocol-change"]
    track.update(voting="10d", quorum=0.6, approval=0.6)
    del track["confirm"]
    data["clients"].append({"id": "fornax", "name": "Fornax", "maintainers": ["olga-fornax"]})
    return Charter.model_validate(data)


V4 = _v4()
LIVE = keeping(V4, {3: V3, 4: V3})  # its own version is always itself, whatever is passed
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
D = timedelta(days=1)
CLIENTS = ["alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado", "hana-eridanus"]


def voting(version: int, *voters: str) -> Proposal:
    votes = tuple(
        Vote(who, Choice.APPROVE, "", T0 + (i + 1) * timedelta(hours=1))
        for i, who in enumerate(voters)
    )
    return Proposal(
        7,
        "t",
        "alice-aurora",
        "protocol-change",
        State.VOTING,
        {},
        version,
        T0 - 30 * D,
        entered_review_at=T0 - 7 * D,
        voting_opened_at=T0,
        votes=votes,
    )


@pytest.mark.parametrize(
    ("charter", "version", "decides"),
    [
        (LIVE, 3, 3),  # kept: the version the proposal was opened under
        (LIVE, 4, 4),  # the running version
        (LIVE, 2, 4),  # never kept: the running charter
        (V4, 3, 4),  # a charter that keeps nothing answers for itself
        (LIVE.for_version(3), 3, 3),  # a kept version answers for itself
    ],
)
def test_rules_for_picks_the_version_opened_under(
    charter: Charter, version: int, decides: int
) -> None:
    assert rules_for(voting(version), charter).version == decides


def test_keeping_leaves_the_original_alone() -> None:
    assert V4.for_version(3) is V4
    assert LIVE.for_version(3) is V3 and LIVE.for_version(4) is LIVE


@pytest.mark.parametrize(
    ("version", "voting_closes", "seats"),
    [(3, T0 + 5 * D, 5), (4, T0 + 10 * D, 6)],
)
def test_deadlines_and_seats_follow_the_version(
    version: int, voting_closes: datetime, seats: int
) -> None:
    p = voting(version)
    assert deadlines(p, LIVE).voting_closes == voting_closes
    assert track_of(p, LIVE).voting == voting_closes - T0
    assert len(tally_of(p, LIVE, T0 + D).seats) == seats


@pytest.mark.parametrize(
    ("version", "outcome_at_close"),
    [
        (3, Outcome.EXPIRED),  # v3: quorum 1.0, four of five clients is not enough
        (4, Outcome.ACCEPTED),  # v4: quorum 0.6 of six seats, four approvals carry it
    ],
)
def test_the_outcome_follows_the_version(version: int, outcome_at_close: Outcome) -> None:
    p = voting(version, *CLIENTS[:4])
    closes = deadlines(p, LIVE).voting_closes
    assert closes is not None and next_due_at(p, LIVE) == closes
    decision = close_if_due(p, LIVE, closes)
    assert decision.proposal.outcome is outcome_at_close
    comment = next(e for e in decision.effects if getattr(e, "body", "").startswith("**Decision"))
    assert f"Charter version {version}." in comment.body  # type: ignore[attr-defined]


def test_a_seat_added_by_a_later_version_cannot_vote_on_an_earlier_proposal() -> None:
    refused = cast_vote(voting(3), LIVE, "olga-fornax", "approve", "", T0 + D)
    assert refused.proposal.votes == ()
    recorded = cast_vote(voting(4), LIVE, "olga-fornax", "approve", "", T0 + D)
    assert [v.voter for v in recorded.proposal.votes] == ["olga-fornax"]


def test_opening_voting_uses_the_version_too() -> None:
    in_review = Proposal(
        8,
        "t",
        "alice-aurora",
        "protocol-change",
        State.REVIEW,
        {},
        3,
        T0 - 30 * D,
        entered_review_at=T0 - 7 * D,
    )
    opened = open_voting(in_review, LIVE, T0).proposal
    assert deadlines(opened, LIVE).voting_closes == T0 + 5 * D
