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
from charter.seats import Seat, seats
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
    p: Proposal,
    charter: Charter,
    votes: Iterable[Vote],
    now: datetime,
    comment: str | None = None,
) -> Decision:
    """Replace the votes with ones recomputed from history (a comment was edited or deleted:
    ``comment``, its id, when known).

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

    The audit names each voter whose standing vote changed (:func:`_changes`), and each such
    change is announced as a vote cast is, so the log and the feed tell how every seat stands.
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
    changes = _changes(p, charter, recomputed, comment)
    payload = {"before": len(p.votes), "after": len(recomputed), "changes": changes}
    effects = (
        Audit(kind="votes-recomputed", subject=p.subject, payload=payload),
        *_announced(p, charter, changes),
        SyncTracking(p.number),
    )
    return Decision(replace(p, votes=recomputed), effects)


def _standing(votes: Iterable[Vote]) -> dict[str, Vote]:
    """Each voter's latest vote (logins compared case-insensitively), as a seat counts it."""
    return {v.voter.lower(): v for v in votes}


def _changes(
    p: Proposal, charter: Charter, recomputed: tuple[Vote, ...], comment: str | None
) -> list[dict[str, object]]:
    """Per voter whose latest vote the recomputation changed: the seats it fills, the choice
    before and after (``None``: no vote), what happened (``changed``, ``removed``, ``added``,
    or ``reworded``: the same choice with another reason or time) and the comment whose edit
    or deletion did it. A vote replaced by the voter's later one changes no seat's stand, so
    it is not listed."""
    before, after = _standing(p.votes), _standing(recomputed)
    track = charter.tracks.get(p.track)
    table = seats(track, charter) if track is not None else ()
    changes: list[dict[str, object]] = []
    for login in dict.fromkeys((*before, *after)):
        old, new = before.get(login), after.get(login)
        cast = new or old
        if cast is None or old == new:
            continue
        voter = cast.voter
        what = _what(old, new)
        changes.append(
            {
                "voter": voter,
                "seats": [s.id for s in seats_of(voter, table)],
                "from": old.choice.value if old else None,
                "to": new.choice.value if new else None,
                "change": what,
                "reason": new.reason if new else "",
                "comment": comment,
            }
        )
    return changes


def _what(old: Vote | None, new: Vote | None) -> str:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    return "changed" if new.choice is not old.choice else "reworded"


def _announced(p: Proposal, charter: Charter, changes: list[dict[str, object]]) -> list[Effect]:
    """Each changed stand, announced as :func:`cast_vote` announces a vote. A reworded reason
    changes no stand (audited only); on a track the charter no longer has nothing is
    announced, as whether it is confidential is no longer known."""
    if p.track not in charter.tracks:
        return []
    effects: list[Effect] = []
    for change in changes:
        voter, old, new = change["voter"], change["from"], change["to"]
        if change["change"] == "reworded":
            continue
        if new is None:
            title = f"{voter} withdrew their {old} vote on #{p.number}"
        elif old is None:
            title = f"{voter} voted {new} on #{p.number}"
        else:
            title = f"{voter} changed their vote on #{p.number} from {old} to {new}"
        effects.append(announce(p, charter, "vote", title, str(change["reason"])))
    return effects


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
