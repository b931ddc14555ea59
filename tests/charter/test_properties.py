"""Properties of the tally and the timers that must hold for any votes whatsoever."""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from hypothesis import assume, event, given, settings, strategies as st

from charter.deadlines import due, next_due_at
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import Proposal
from charter.votes import Choice, Outcome, Tally, Vote, seats, seats_of, tally

SHARED = Path(os.environ.get("CHARTERBOT_SHARED_DIR") or Path(__file__).parents[3] / "shared")
REF = Charter.model_validate(
    yaml.safe_load((SHARED / "charter" / "reference-charter.yaml").read_text("utf-8"))
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MEMBERS = sorted(
    {m for c in REF.clients for m in c.maintainers} | {m for r in REF.roles.values() for m in r}
)
LOGINS = [*MEMBERS, "mallory", "Alice-Aurora", "KOFI-SEC"]
FAST = settings(max_examples=150, deadline=None)

tracks = st.sampled_from(sorted(REF.tracks))
minutes = st.integers(min_value=-600, max_value=14 * 24 * 60)  # before opening .. after lazy end
votes_st = st.lists(
    st.builds(
        lambda who, choice, m: Vote(who, choice, "", T0 + timedelta(minutes=m)),
        st.sampled_from(LOGINS),
        st.sampled_from(list(Choice)),
        minutes,
    ),
    max_size=14,
)


@st.composite
def likely_accepted(draw: st.DrawFn) -> tuple[str, list[Vote], int]:
    """A track, mostly approving votes from its seat holders inside the window, and a moment
    around or after the close, so that many of these tallies come out accepted."""
    track = draw(tracks)
    rules = REF.tracks[track]
    table = seats(rules, REF)
    window = int(rules.voting.total_seconds() // 60)
    choices = st.sampled_from([Choice.APPROVE] * 8 + [Choice.ABSTAIN, Choice.REJECT])
    times = st.integers(min_value=0, max_value=window - 1)

    def vote(members: tuple[str, ...]) -> Vote:
        at = T0 + timedelta(minutes=draw(times))
        return Vote(draw(st.sampled_from(members)), draw(choices), "", at)

    # Most seats vote once; a few more votes (possibly replacing) come on top.
    votes = [vote(seat.members) for seat in table if draw(st.integers(0, 5)) < 5]
    everyone = tuple(sorted({m for seat in table for m in seat.members}))
    votes += [vote(everyone) for _ in range(draw(st.integers(0, len(table))))]
    now = draw(st.integers(min_value=window - 24 * 60, max_value=window + 7 * 24 * 60))
    return track, votes, now


concerns_st = st.lists(st.sampled_from(["abi", "docs"]), max_size=2, unique=True)


def run(track: str, votes: list[Vote], now: int, concerns: Sequence[str] = ()) -> Tally:
    rules = REF.tracks[track]
    return tally(
        rules,
        REF,
        votes,
        T0 + timedelta(minutes=now),
        voting_opened_at=T0,
        voting_closes_at=T0 + rules.voting,
        open_concerns=tuple(concerns),
    )


def seat_key(login: str) -> str:
    client = REF.client_of(login)
    return client.id if client else login.lower()


def essence(t: Tally) -> tuple[object, ...]:
    return (
        t.outcome, t.reason, dict(t.standing), t.approve, t.reject, t.abstain, t.vetoed_by,
        t.held_since, t.confirm_until, t.lazy_until, Counter((i.vote, i.why) for i in t.ignored),
    )  # fmt: skip


@FAST
@given(tracks, votes_st, minutes, concerns_st)
def test_tally_never_raises(track: str, votes: list[Vote], now: int, concerns: list[str]) -> None:
    """Any list of votes, at any moment, gives a tally whose numbers add up."""
    t = run(track, votes, now, concerns)
    assert t.outcome in Outcome
    assert t.approve + t.reject + t.abstain == t.cast <= len(t.seats)
    assert t.all_voted == (t.cast == len(t.seats))


@FAST
@given(tracks, votes_st, minutes, st.randoms(use_true_random=False))
def test_order_of_votes_from_different_seats_does_not_matter(
    track: str, votes: list[Vote], now: int, rnd: random.Random
) -> None:
    """Interleaving different seats' votes differently never changes the tally."""
    groups: dict[str, list[Vote]] = {}
    for vote in votes:
        groups.setdefault(seat_key(vote.voter), []).append(vote)
    slots = [key for key, group in groups.items() for _ in group]
    rnd.shuffle(slots)
    queues = {key: iter(group) for key, group in groups.items()}
    shuffled = [next(queues[key]) for key in slots]
    assert essence(run(track, shuffled, now)) == essence(run(track, votes, now))


@FAST
@given(tracks, votes_st, st.sampled_from(MEMBERS), st.sampled_from(list(Choice)))
def test_a_seats_later_vote_replaces_its_earlier(
    track: str, votes: list[Vote], who: str, choice: Choice
) -> None:
    """Whatever a seat voted before, its later vote is the one that stands."""
    rules = REF.tracks[track]
    held = seats_of(who, seats(rules, REF))
    assume(held)
    members = {m.lower() for s in held for m in s.members}
    earlier = [v.at for v in votes if v.voter.lower() in members]
    at = max([T0, *earlier]) + timedelta(minutes=1)
    assume(at < T0 + rules.voting)
    late = Vote(who, choice, "", at)
    t = run(track, [*votes, late], int((at - T0).total_seconds() // 60))
    assert all(t.standing[s.id] == late for s in held)


@FAST
@given(likely_accepted(), st.sampled_from(LOGINS), minutes, st.sampled_from([[]] * 3 + [["abi"]]))
def test_adding_an_approve_never_turns_accepted_into_rejected(
    scenario: tuple[str, list[Vote], int], who: str, at: int, concerns: list[str]
) -> None:
    """An extra approve, from anyone at any time up to now, keeps an accepted outcome accepted."""
    track, votes, now = scenario
    before = run(track, votes, now, concerns).outcome
    extra = Vote(who, Choice.APPROVE, "", T0 + timedelta(minutes=min(at, now)))
    after = run(track, [*votes, extra], now, concerns).outcome
    event(f"accepted before: {before is Outcome.ACCEPTED}")  # --hypothesis-show-statistics
    assert after is Outcome.ACCEPTED or before is not Outcome.ACCEPTED


@settings(max_examples=60, deadline=None)
@given(tracks, votes_st)
def test_next_due_at_is_the_first_moment_due_fires(track: str, votes: list[Vote]) -> None:
    """The scheduler wakes exactly when the proposal becomes due, never a moment later."""
    p = Proposal(1, "t", "bob-aurora", track, State.VOTING, {}, 3, T0, T0, T0, votes=tuple(votes))
    moment = next_due_at(p, REF)
    assert moment is not None
    assert due(p, REF, moment) is not None
    assert due(p, REF, moment - timedelta(microseconds=1)) is None
