"""The instants that bound a vote (charter.standing, charter.votes, charter.verdict): voting
opens at its first instant and closes at its last, exclusive; lazy consensus counts a vote cast
at the very close as late; one seat is all the seats of a one-seat track."""

from __future__ import annotations

import pytest

from charter.model import Charter
from charter.votes import LazyVotes, Outcome
from tests.charter.test_votes import CLIENTS, FF_CLOSE, PC_CLOSE, REF, h, run, v


@pytest.mark.parametrize(
    ("track", "cast", "at", "ignored"),
    [
        ("protocol-change", 0, 1, []),
        ("protocol-change", -0.001, 1, ["cast before voting opened"]),
        ("protocol-change", PC_CLOSE, PC_CLOSE + 1, ["cast after voting closed"]),
        ("feature-flag", FF_CLOSE, FF_CLOSE + 1, []),  # lazy consensus: counted, as late
        ("feature-flag", FF_CLOSE + 120, FF_CLOSE + 121, ["cast after voting closed"]),
    ],
    ids=["at-opening", "just-before-opening", "at-close", "at-close-lazy", "at-lazy-end"],
)
def test_a_vote_counts_from_the_opening_instant_until_just_before_the_close(
    track: str, cast: float, at: float, ignored: list[str]
) -> None:
    """Voting is open in [opened, close): a vote at the opening instant counts, one at the
    close (or at the end of lazy consensus) is ignored as cast after voting closed."""
    result = run(track, [v("alice-aurora", "approve", cast)], at)
    assert [i.why for i in result.ignored] == ignored
    assert list(result.standing) == ([] if ignored else ["client:aurora"])


def test_a_vote_at_the_close_is_a_lazy_consensus_vote() -> None:
    """With lazy consensus, a vote cast at the very instant voting closes is counted apart
    (as cast during lazy consensus), not in the counts quorum was judged on."""
    votes = [v("alice-aurora", "approve", 1), v("carmen-borealis", "approve", FF_CLOSE)]
    result = run("feature-flag", votes, FF_CLOSE + 1)
    assert (result.approve, result.quorum_met) == (1, False)
    assert result.lazy_votes == LazyVotes(approve=1)
    assert result.outcome is Outcome.PENDING


def _one_seat() -> Charter:
    """charter-amendment voted by the coordinators alone, and ines-coord the only one."""
    track = REF.tracks["charter-amendment"].model_copy(update={"electorate": ("coordinators",)})
    return REF.model_copy(
        update={
            "roles": {**REF.roles, "coordinators": ("ines-coord",)},
            "tracks": {**REF.tracks, "charter-amendment": track},
        }
    )


@pytest.mark.parametrize(("votes", "all_voted"), [([], False), (["ines-coord"], True)])
def test_the_only_seat_voting_is_every_seat_voting(votes: list[str], all_voted: bool) -> None:
    """A track with one seat has every seat voted once that seat has."""
    result = run("charter-amendment", [v(w, "approve", 1) for w in votes], 2, charter=_one_seat())
    assert result.all_voted is all_voted


@pytest.mark.parametrize(
    ("at", "outcome", "reason"),
    [
        (-1, Outcome.PENDING, "voting opens 2026-03-02 09:00 UTC"),
        (0, Outcome.PENDING, "voting open until"),
    ],
    ids=["before", "at-opening"],
)
def test_voting_is_open_from_its_opening_instant(at: float, outcome: Outcome, reason: str) -> None:
    """Before the opening instant the reason says when voting opens; at it, voting is open."""
    result = run("protocol-change", [], at)
    assert result.outcome is outcome
    assert result.reason.startswith(reason), result.reason


def test_lazy_consensus_rejecters_are_named_in_order() -> None:
    """Those whose rejects failed lazy consensus are named by login, sorted, whatever the
    order they voted in."""
    votes = [v(who, "reject", FF_CLOSE + 1 + i) for i, who in enumerate(reversed(CLIENTS))]
    result = run("feature-flag", votes, FF_CLOSE + 10)
    assert result.outcome is Outcome.REJECTED
    assert result.reason == (
        "quorum was missed and lazy consensus failed: rejected by " + ", ".join(sorted(CLIENTS))
    )
    assert h(FF_CLOSE + 120) == result.lazy_until
