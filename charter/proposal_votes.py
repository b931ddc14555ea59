"""Votes on a proposal: cast while the outcome is open, and recomputed from history when a
comment that voted is edited or deleted.

A seat's latest vote counts; a vote is dated by when it was cast, and judged at that time
(voting must have opened, the outcome must still be open: :func:`charter.proposal.why_settled`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from charter.effects import Audit, Effect, Reply, SyncTracking
from charter.lifecycle import State, is_open
from charter.model import Charter
from charter.proposal import (
    Decision,
    Proposal,
    announce,
    refuse,
    rules_for,
    tally_of,
    track_of,
    voting_opened_by,
    why_settled,
)
from charter.proposal_transitions import close_if_settled
from charter.seats import Seat
from charter.votes import Choice, Tally, Vote, may_vote, seats_of


def cast_vote(
    p: Proposal,
    charter: Charter,
    actor_login: str,
    choice: Choice | str,
    reason: str,
    now: datetime,
    via: str = "github",
    *,
    grace: timedelta = timedelta(0),
) -> Decision:
    """Record a vote while the outcome is still open; a seat's later vote replaces its earlier.

    Refused when voting had not opened by ``now`` (the vote's own time), when the proposal is
    closed, when the actor holds no seat (and no veto) on the track, or once the votes have
    settled the outcome. A vote that settles it closes the proposal in the same step, or with
    a ``grace`` leaves the close to the timer (see :func:`close_if_settled`).
    """
    charter = rules_for(p, charter)
    track = track_of(p, charter)
    not_open = f"voting on #{p.number} has not opened yet"
    if p.state in (State.DRAFT, State.REVIEW):
        return refuse(p, actor_login, "vote", not_open)
    if p.state is not State.VOTING:
        return refuse(p, actor_login, "vote", f"#{p.number} is closed ({p.state.value})")
    if not voting_opened_by(p, now):
        return refuse(p, actor_login, "vote", not_open)
    if not may_vote(actor_login, track, charter):
        electorate = ", ".join(track.electorate)
        why = f"{actor_login} is not a voter for the {p.track} track (electorate: {electorate})"
        return refuse(p, actor_login, "vote", why)
    settled = why_settled(p, charter, now)
    if settled is not None:
        # Settled but not yet closed: refused, and left to the timer, which judges the proposal
        # as it stood when it settled (the bot waits a grace for votes cast before it).
        return refuse(p, actor_login, "vote", settled)
    current = tally_of(p, charter, now)  # the tally why_settled just read (memoised)
    vote = Vote(actor_login, Choice(choice), reason, now, via)
    held = seats_of(actor_login, current.seats)
    where = ", ".join(s.label for s in held) or "veto"
    payload = {
        "voter": actor_login,
        "choice": vote.choice.value,
        "reason": reason,
        "via": via,
        "seats": [s.id for s in held],
        "at": now.isoformat(),
    }
    voted = replace(p, votes=(*p.votes, vote))
    title = f"{actor_login} voted {vote.choice.value} on #{p.number}"
    said = f"Recorded {vote.choice.value} on #{p.number} for {where}."
    effects: list[Effect] = [
        Audit(kind="vote-cast", subject=p.subject, payload=payload),
        announce(p, charter, "vote", title, reason),
        SyncTracking(p.number),
        Reply(text=said + _replacing(current, held, actor_login, vote.choice)),
    ]
    return close_if_settled(voted, charter, effects, now, grace)


def _replacing(current: Tally, held: tuple[Seat, ...], voter: str, choice: Choice) -> str:
    """What a vote displaces: a seat's latest vote counts, so a maintainer voting for their
    client replaces a colleague's vote for it — said in the reply, so it is no surprise. A
    colleague's vote the same way is named as one it agrees with: the seat's stand is
    unchanged, and "replaces" would read as a dispute."""
    replaced: list[str] = []
    agreed: list[str] = []
    for seat in held:
        prior = current.standing.get(seat.id)
        if prior is None or prior.voter.lower() == voter.lower():
            continue
        if prior.choice is choice:
            agreed.append(f"{prior.voter}'s {prior.choice.value} for {seat.label}")
        else:
            replaced.append(f"{prior.voter}'s {prior.choice.value} for {seat.label}")
    said = f" It replaces {', '.join(replaced)}." if replaced else ""
    return said + (f" It agrees with {', '.join(agreed)}." if agreed else "")


def recompute_votes(
    p: Proposal, charter: Charter, votes: Iterable[Vote], now: datetime
) -> Decision:
    """Replace the votes with ones recomputed from history (a comment was edited or deleted).

    Only an open proposal's votes change; once decided, its votes are part of the record. The
    history changes the record only as :func:`cast_vote` would have, each change judged at its
    own time against the votes as recorded (what the bot had seen: a proposal whose outcome
    has settled stays in voting until the timer records the close, a grace later) and as
    recomputed:
    - a vote counts only if voting had opened and the outcome was still open when it was cast:
      one refused then (before voting opened, or after the outcome settled) stays out;
    - a recorded vote the history no longer holds is withdrawn only if the outcome was still
      open when that happened (:func:`_withdrawn_at`); otherwise it stays, so a comment edited
      to vote another way, or deleted, after the outcome settled (or voting closed) leaves
      the vote it cast before counting, as a new vote then would change nothing.
    """
    charter = rules_for(p, charter)
    fresh = tuple(votes)
    kept = tuple(
        v
        for v in p.votes
        if v not in fresh and why_settled(p, charter, _withdrawn_at(p, v, fresh, now)) is not None
    )
    # In time order; votes at the same instant as the record has them (a seat's later one wins).
    place = {v: i for i, v in enumerate(p.votes)}
    recomputed: tuple[Vote, ...] = ()
    for vote in sorted((*fresh, *kept), key=lambda v: (v.at, place.get(v, len(place)))):
        if vote in kept or _counts(p, charter, recomputed, vote):
            recomputed = (*recomputed, vote)
    if not is_open(p.state) or recomputed == p.votes:
        return Decision(p)
    payload = {"before": len(p.votes), "after": len(recomputed)}
    effects = (
        Audit(kind="votes-recomputed", subject=p.subject, payload=payload),
        SyncTracking(p.number),
    )
    return Decision(replace(p, votes=recomputed), effects)


def _withdrawn_at(p: Proposal, vote: Vote, fresh: tuple[Vote, ...], now: datetime) -> datetime:
    """When recorded ``vote``, which the recomputed history ``fresh`` no longer holds, was
    withdrawn: at its voter's next vote in the history that the record lacks (its comment was
    edited to vote another way, dated by that edit), or, with none, ``now`` (its comment was
    deleted: a deletion carries no time of its own, so it is dated when the bot learns of it).
    """
    recasts = [
        v.at
        for v in fresh
        if v.voter.lower() == vote.voter.lower() and v.at >= vote.at and v not in p.votes
    ]
    return min(recasts, default=now)


def _counts(p: Proposal, charter: Charter, counted: tuple[Vote, ...], vote: Vote) -> bool:
    """Whether a recomputed ``vote`` counts after the ``counted`` ones: voting had opened when
    it was cast, and the outcome was still open then in the recomputed history and, for a vote
    the record lacks (a recast), in the record too, as :func:`cast_vote` would have judged it.
    """
    if not voting_opened_by(p, vote.at):
        return False
    if vote not in p.votes and why_settled(p, charter, vote.at) is not None:
        return False
    return why_settled(replace(p, votes=counted), charter, vote.at) is None
