"""Tallies and track rules are remembered per object, never across different inputs.

One decision asks for the same tally several times (``cast_vote``, ``close_if_due``, then
``next_due_at`` on save), so ``tally_of`` remembers recent answers keyed by the identity of the
(frozen) proposal and charter and by the moment; the track's rules are built once per
(track, charter) pair. The rule: a remembered answer is only ever the one a fresh computation
would give — a changed proposal, another charter or another moment is computed anew, and a full
table starts afresh without changing any answer.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from charter import proposal as proposal_rules, standing as vote_rules
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import Proposal, tally_of
from charter.votes import Choice, Outcome, Vote, tally

SHARED = Path(os.environ.get("CHARTERBOT_SHARED_DIR") or Path(__file__).parents[3] / "shared")
REF = Charter.model_validate(
    yaml.safe_load((SHARED / "charter" / "reference-charter.yaml").read_text("utf-8"))
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CLIENTS = ["alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado", "hana-eridanus"]


def _voting(*votes: Vote) -> Proposal:
    review = REF.tracks["feature-flag"].review
    return Proposal(
        7, "t", "bob-aurora", "feature-flag", State.VOTING, {}, 3, T0 - review * 2,
        entered_review_at=T0 - review, voting_opened_at=T0, votes=votes,
    )  # fmt: skip


def _fresh(p: Proposal, charter: Charter, now: datetime) -> vote_rules.Tally:
    opened = p.voting_opened_at
    assert opened is not None
    track = charter.tracks[p.track]
    return tally(
        track,
        charter,
        p.votes,
        now,
        voting_opened_at=opened,
        voting_closes_at=opened + track.voting,
    )


def _approve(i: int, hours: float) -> Vote:
    return Vote(CLIENTS[i], Choice.APPROVE, "", T0 + timedelta(hours=hours))


def test_same_objects_and_moment_give_the_remembered_tally() -> None:
    """Asking again for the same proposal object at the same moment returns the same answer."""
    p = _voting(_approve(0, 1))
    first = tally_of(p, REF, T0 + timedelta(hours=2))
    assert tally_of(p, REF, T0 + timedelta(hours=2)) is first
    assert first == _fresh(p, REF, T0 + timedelta(hours=2))


@pytest.mark.parametrize(
    "change",
    ["another vote", "another moment", "another charter", "an equal copy of the proposal"],
)
def test_any_other_input_is_computed_anew(change: str) -> None:
    """A changed proposal, moment or charter never gets a remembered answer for other input."""
    p, now, charter = _voting(*(_approve(i, 1) for i in range(4))), T0 + timedelta(hours=2), REF
    before = tally_of(p, charter, now)
    if change == "another vote":
        p = replace(p, votes=(*p.votes, _approve(4, 1.5)))
    elif change == "another moment":
        now = T0 + timedelta(minutes=30)  # before the votes were cast
    elif change == "another charter":
        charter = REF.model_copy(update={"version": REF.version + 1})
    else:
        p = replace(p)
    after = tally_of(p, charter, now)
    assert after == _fresh(p, charter, now) and after is not before
    assert (after.cast != before.cast) is (change in ("another vote", "another moment"))


def test_a_full_table_starts_afresh_and_answers_stay_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the table of tallies or of track rules is full it is cleared; answers are unchanged."""
    monkeypatch.setattr(proposal_rules, "_TALLIES_KEPT", 2)
    monkeypatch.setattr(vote_rules, "_RULES_KEPT", 1)
    monkeypatch.setattr(proposal_rules, "_TALLIES", {})
    monkeypatch.setattr(vote_rules, "_RULES", {})
    charters = [REF.model_copy(update={"version": REF.version + i}) for i in range(3)]
    p = _voting(*(_approve(i, 1) for i in range(5)))
    for charter in charters:
        for hours in (0.5, 2, 24 * 30):
            got = tally_of(p, charter, T0 + timedelta(hours=hours))
            assert got == _fresh(p, charter, T0 + timedelta(hours=hours))
            assert len(proposal_rules._TALLIES) <= 2 and len(vote_rules._RULES) <= 1
    assert tally_of(p, REF, T0 + timedelta(hours=2)).outcome is not Outcome.EXPIRED
