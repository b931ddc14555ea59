"""When a recorded vote the edited history no longer holds was withdrawn
(:func:`charter.proposal_votes.recompute_votes`): at its voter's first later vote that the
record lacks, or, with none, now; a vote withdrawn once the outcome settled keeps counting."""

from __future__ import annotations

from datetime import datetime

import pytest

from charter.proposal import Proposal
from charter.proposal_votes import recompute_votes
from charter.votes import Choice, Vote
from tests.charter.test_proposal import CLIENTS, COUNCIL, REF, h, prop, votes


def _vote(voter: str, choice: str, at: float) -> Vote:
    return Vote(voter, Choice(choice), "", h(at))


# A security patch every seat approved at h(1), mateo-sec last at h(2): settled (accepted).
EIGHT = (
    *votes(*((w, "approve", 1) for w in [*CLIENTS, *COUNCIL[:2]])),
    _vote("mateo-sec", "approve", 2),
)
KOFI = _vote("kofi-sec", "approve", 1)
# Four clients approved a security patch at h(1): it settles when voting closes at h(48).
FOUR = votes(*((w, "approve", 1) for w in CLIENTS[:4]))
CARMEN = FOUR[1]
# ... and carmen-borealis then changed her vote to reject at h(1.5), which the record holds.
CHANGED = (*FOUR, _vote("carmen-borealis", "reject", 1.5))


def _without(recorded: tuple[Vote, ...], gone: Vote, *more: Vote) -> tuple[Vote, ...]:
    return (*(v for v in recorded if v != gone), *more)


@pytest.mark.parametrize(
    ("recorded", "history", "now", "expected"),
    [
        pytest.param(
            FOUR, _without(FOUR, CARMEN, _vote("hana-eridanus", "approve", 10)), h(48.01),
            (*FOUR, _vote("hana-eridanus", "approve", 10)),
            id="another-voters-new-vote-dates-nothing",
        ),
        pytest.param(
            EIGHT, _without(EIGHT, KOFI, _vote("kofi-sec", "approve", 0.5)), h(2.01),
            (_vote("kofi-sec", "approve", 0.5), *EIGHT),
            id="a-vote-from-before-dates-nothing",
        ),
        pytest.param(
            CHANGED, _without(CHANGED, CARMEN), h(48.01), CHANGED,
            id="a-recorded-later-vote-dates-nothing",
        ),
        pytest.param(
            FOUR,
            _without(FOUR, CARMEN, _vote("carmen-borealis", "reject", 10),
                     _vote("carmen-borealis", "abstain", 48.01)),
            h(48.01),
            (FOUR[0], *FOUR[2:], _vote("carmen-borealis", "reject", 10)),
            id="the-first-recast-dates-it",
        ),
        pytest.param(
            EIGHT, _without(EIGHT, KOFI, _vote("mateo-sec", "reject", 0.5)), h(2.01),
            (_vote("mateo-sec", "reject", 0.5), KOFI),
            id="kept-though-the-recomputed-history-settled-before-it",
        ),
    ],
)  # fmt: skip
def test_a_withdrawn_vote_is_dated_by_its_voters_first_new_recast(
    recorded: tuple[Vote, ...], history: tuple[Vote, ...], now: datetime, expected: tuple[Vote, ...]
) -> None:
    """A recorded vote the history lacks was withdrawn at the earliest vote of the same voter,
    cast no earlier, that the record lacks (a recast), else ``now`` (a deletion). Withdrawn
    after the outcome settled, it stays, even where the recomputed history (here a veto the
    bot never saw) would have refused it; withdrawn while it was open, it goes."""
    p: Proposal = prop("security-patch", votes=recorded)
    assert recompute_votes(p, REF, history, now).proposal.votes == expected
