"""Timers from stored timestamps: deadlines, what is due now, and when to wake next.

Reference tracks: protocol-change (review 7d, voting 5d, confirm 24h), feature-flag (2d, 3d,
lazy consensus 5d), security-patch (0d, 48h, council veto), charter-amendment (7d, 7d).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from charter.concerns import Concern
from charter.deadlines import Deadlines, deadlines, due, next_due_at
from charter.lifecycle import Event, State
from charter.model import Charter
from charter.proposal import Proposal
from charter.votes import Choice, Vote

SHARED = Path(os.environ.get("CHARTERBOT_SHARED_DIR") or Path(__file__).parents[3] / "shared")
REF = Charter.model_validate(
    yaml.safe_load((SHARED / "charter" / "reference-charter.yaml").read_text("utf-8"))
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIENTS = ["alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado", "hana-eridanus"]
D = timedelta(days=1)
H = timedelta(hours=1)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def prop(track: str, state: State, **kw: Any) -> Proposal:
    return Proposal(7, "t", "bob-aurora", track, state, {}, 3, T0 - 30 * D, **kw)


def voting(track: str, *specs: tuple[str, str, float]) -> Proposal:
    """In voting since T0 (review began one review period earlier), with the given votes."""
    votes = tuple(Vote(who, Choice(c), "", h(at)) for who, c, at in specs)
    entered = T0 - REF.tracks[track].review
    return prop(track, State.VOTING, entered_review_at=entered, voting_opened_at=T0, votes=votes)


def approve_all(track: str, voters: list[str], start: float = 1) -> Proposal:
    return voting(track, *((w, "approve", start + i) for i, w in enumerate(voters)))


@pytest.mark.parametrize(
    ("track", "review", "voting_", "lazy"),
    [
        ("protocol-change", 7 * D, 5 * D, None),
        ("feature-flag", 2 * D, 3 * D, 5 * D),
        ("security-patch", 0 * D, 48 * H, None),
        ("charter-amendment", 7 * D, 7 * D, None),
    ],
)
def test_deadlines_in_review_are_planned_from_entry(
    track: str, review: timedelta, voting_: timedelta, lazy: timedelta | None
) -> None:
    """In review: review ends after the track's review; voting is planned right after it."""
    p = prop(track, State.REVIEW, entered_review_at=T0)
    ends = T0 + review
    assert deadlines(p, REF) == Deadlines(
        review_ends=ends,
        voting_opens=ends,
        voting_closes=ends + voting_,
        confirm_until=None,
        lazy_until=None if lazy is None else ends + voting_ + lazy,
    )


def test_deadlines_of_a_draft_are_unknown() -> None:
    """A draft has not entered review, so nothing is scheduled yet."""
    assert deadlines(prop("feature-flag", State.DRAFT), REF) == Deadlines(None, None, None)


def test_voting_counts_from_the_actual_opening() -> None:
    """Voting that opened late (the bot was down) still runs its full window from opening."""
    p = prop(
        "feature-flag", State.VOTING, entered_review_at=T0, voting_opened_at=T0 + 2 * D + 5 * H
    )
    got = deadlines(p, REF)
    assert (got.review_ends, got.voting_opens, got.voting_closes, got.lazy_until) == (
        T0 + 2 * D,
        T0 + 2 * D + 5 * H,
        T0 + 5 * D + 5 * H,
        T0 + 10 * D + 5 * H,
    )


def concern(raised: float, resolved: float | None = None) -> Concern:
    at = None if resolved is None else h(resolved)
    return Concern("abi", "breaks", "carmen-borealis", h(raised), "carmen-borealis", at)


def with_concern(p: Proposal, raised: float, resolved: float | None = None) -> Proposal:
    return replace(p, concerns=(concern(raised, resolved),))


def test_confirm_until_as_stored() -> None:
    """With every seat approving, confirm ends 24h after the last vote that changed course;
    a concern open then keeps it unset until it is resolved (the tally after the last input)."""
    assert deadlines(approve_all("protocol-change", CLIENTS), REF).confirm_until == h(5 + 24)
    assert deadlines(approve_all("protocol-change", CLIENTS[:4]), REF).confirm_until is None
    held = with_concern(approve_all("protocol-change", CLIENTS), 0.5)
    assert deadlines(held, REF).confirm_until is None
    resolved = with_concern(approve_all("protocol-change", CLIENTS), 0.5, 10)
    assert deadlines(resolved, REF).confirm_until == h(5 + 24)


# -- due --------------------------------------------------------------------------------------

PASS, FAIL = Event.VOTING_CLOSED_PASS, Event.VOTING_CLOSED_FAIL
NO_QUORUM = Event.VOTING_CLOSED_NO_QUORUM
ALL_AT_1 = [(w, "approve", 1) for w in CLIENTS]
REJECT_3 = [(w, "reject", 1) for w in CLIENTS[:3]]
SEVEN = [*CLIENTS, "ines-coord", "jonas-coord"]  # every charter-amendment seat
REVIEWING = {t: prop(t, State.REVIEW, entered_review_at=T0) for t in REF.tracks}

DUE = [
    # (id, proposal, now, event)
    ("pc-review-running", REVIEWING["protocol-change"], T0 + 7 * D - H, None),
    ("pc-review-ended", REVIEWING["protocol-change"], T0 + 7 * D, Event.REVIEW_ENDED),
    ("sp-review-is-0d", REVIEWING["security-patch"], T0, Event.REVIEW_ENDED),
    ("ff-review-ended", REVIEWING["feature-flag"], T0 + 2 * D, Event.REVIEW_ENDED),
    ("ca-review-running", REVIEWING["charter-amendment"], T0 + 6 * D, None),
    ("pc-voting-open", approve_all("protocol-change", CLIENTS[:3]), h(100), None),
    ("pc-confirm-running", approve_all("protocol-change", CLIENTS), h(28), None),
    ("pc-confirm-elapsed", approve_all("protocol-change", CLIENTS), h(29), PASS),
    ("pc-close-no-quorum", approve_all("protocol-change", CLIENTS[:4]), h(120), NO_QUORUM),
    ("ca-early-close", approve_all("charter-amendment", SEVEN), h(8), PASS),
    ("ca-close-no-quorum", voting("charter-amendment"), h(168), NO_QUORUM),
    ("sp-veto", voting("security-patch", ("kofi-sec", "reject", 2)), h(2), FAIL),
    ("sp-close-pass", approve_all("security-patch", CLIENTS[:4]), h(48), PASS),
    ("ff-lazy-running", voting("feature-flag"), h(72), None),
    ("ff-lazy-elapsed", voting("feature-flag"), h(72 + 120), PASS),
    ("ff-close-fail", voting("feature-flag", *REJECT_3), h(72), FAIL),
    ("draft", prop("feature-flag", State.DRAFT), h(1000), None),
    ("accepted", prop("feature-flag", State.ACCEPTED, voting_opened_at=T0), h(1000), None),
]  # fmt: skip


@pytest.mark.parametrize(("p", "now", "event"), [pytest.param(*r[1:], id=r[0]) for r in DUE])
def test_due(p: Proposal, now: datetime, event: Event | None) -> None:
    """The timer event firing now: review ended, or voting closed (at close, early, after
    confirm, on a veto, after lazy consensus); nothing in other states."""
    assert due(p, REF, now) is event


# -- next_due_at ------------------------------------------------------------------------------

NEXT = [
    # (id, proposal, when due fires first)
    ("pc-review", REVIEWING["protocol-change"], T0 + 7 * D),
    ("sp-review", REVIEWING["security-patch"], T0),
    ("pc-waiting-for-close", approve_all("protocol-change", CLIENTS[:3]), h(120)),
    ("pc-confirm", approve_all("protocol-change", CLIENTS), h(5 + 24)),
    # every seat voted at the opening instant: the confirm hold runs from it
    ("pc-confirm-from-opening", voting("protocol-change", *((w, "approve", 0) for w in CLIENTS)),
     h(24)),
    ("ca-early", approve_all("charter-amendment", SEVEN), h(7)),
    ("sp-veto", voting("security-patch", ("lena-sec", "reject", 3)), h(3)),
    ("ff-lazy", voting("feature-flag", ("alice-aurora", "approve", 1)), h(72 + 120)),
    ("ff-lazy-reject", voting("feature-flag", ("emeka-cirrus", "reject", 80)), h(80)),
    ("ff-close", voting("feature-flag", *((w, "approve", 1) for w in CLIENTS[:3])), h(72)),
    # Confirm elapsed before a later, non-flipping re-vote: the proposal was due back then.
    ("pc-overdue", voting("protocol-change", *ALL_AT_1, ("bob-aurora", "approve", 40)), h(25)),
    # A concern counts from when it was raised until it was resolved: resolving the last one
    # after every seat approved settles the outcome at that instant, not at the last vote.
    ("ca-resolved", with_concern(approve_all("charter-amendment", SEVEN), 0.5, 20), h(20)),
    ("ca-raised-late", with_concern(approve_all("charter-amendment", SEVEN), 30, 40), h(7)),
    ("ca-held-to-close", with_concern(approve_all("charter-amendment", SEVEN), 0.5), h(168)),
    ("pc-resolved-in-hold", with_concern(approve_all("protocol-change", CLIENTS), 0.5, 10),
     h(5 + 24)),
    ("pc-resolved-after-hold", with_concern(approve_all("protocol-change", CLIENTS), 0.5, 40),
     h(40)),
    ("draft", prop("feature-flag", State.DRAFT), None),
    ("rejected", prop("feature-flag", State.REJECTED), None),
]  # fmt: skip


@pytest.mark.parametrize(("p", "expected"), [pytest.param(*r[1:], id=r[0]) for r in NEXT])
def test_next_due_at(p: Proposal, expected: datetime | None) -> None:
    """next_due_at is the first moment due() fires, computed from what is stored."""
    got = next_due_at(p, REF)
    assert got == expected
    if got is not None:
        assert due(p, REF, got) is not None
        assert due(p, REF, got - timedelta(microseconds=1)) is None
