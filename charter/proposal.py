"""The proposal aggregate and the named decisions that change it.

Each decision is a pure function ``(proposal, charter, …, now) -> Decision``: the proposal as it
is afterwards plus the effects the application must carry out. Rules shared by all of them:
- every state change emits an ``Audit``, ``SetLabels`` (``charter:<state>``) and ``SyncTracking``;
- a command the rules refuse changes nothing and emits ``Audit(kind="command-refused")`` and
  ``Reply(ok=False, text=<why>)``;
- announcements of a confidential track carry ``confidential=True``;
- a vote or a resolved concern that settles the outcome closes the proposal in the same step,
  unless the caller gives a ``grace`` (the bot's wait for votes still on their way): then the
  timer closes it no sooner than that long after it settled, judged as it stood then
  (:func:`settled_note`).
Which timer is due is :mod:`charter.deadlines`' business; it calls :func:`open_voting` and
:func:`close_if_due`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from charter import concerns as concern_rules
from charter.concerns import Concern, ConcernRefused
from charter.effects import Announce, Audit, Comment, Effect, Reply, SetLabels, SyncTracking
from charter.lifecycle import Event, State, is_open, next_state
from charter.model import AnnounceKind, Charter, Track
from charter.seats import Seat
from charter.votes import Choice, Outcome, Tally, Vote, may_vote, seats, seats_of, tally, when


@dataclass(frozen=True)
class Proposal:
    number: int
    title: str
    author: str  # GitHub login
    track: str
    state: State
    fields: Mapping[str, Any]  # the issue form, as parsed by intake
    charter_version: int  # the charter in force when the proposal was opened
    created_at: datetime
    entered_review_at: datetime | None = None
    voting_opened_at: datetime | None = None
    decided_at: datetime | None = None
    outcome: Outcome | None = None
    votes: tuple[Vote, ...] = ()
    concerns: tuple[Concern, ...] = ()
    withdrawn_by: str | None = None

    @property
    def subject(self) -> str:
        return f"proposal:{self.number}"


@dataclass(frozen=True)
class Decision:
    proposal: Proposal
    effects: tuple[Effect, ...] = field(default=())


class UnknownTrack(ValueError):
    """The proposal names a track the charter does not define."""


class IncompleteRecord(ValueError):
    """A stored proposal lacks a timestamp its state requires."""


class NotDue(ValueError):
    """A timer decision was asked for before its time."""


def rules_for(p: Proposal, charter: Charter) -> Charter:
    """The charter that decides ``p``: the version in force when it was opened, when
    ``charter`` keeps it (an amendment takes effect for proposals opened after it); otherwise
    ``charter`` itself. Every rule below judges a proposal by it."""
    return charter.for_version(p.charter_version)


def named_clients(p: Proposal, charter: Charter) -> tuple[str, ...]:
    """The clients of ``charter`` that ``p``'s form names as affected (possibly none)."""
    named = p.fields.get("clients")
    return tuple(cl for cl in named if cl in charter.client_ids) if isinstance(named, list) else ()


def track_of(p: Proposal, charter: Charter) -> Track:
    charter = rules_for(p, charter)
    if p.track not in charter.tracks:
        known = ", ".join(charter.tracks)
        raise UnknownTrack(f"proposal #{p.number} names track '{p.track}'; tracks: {known}")
    return charter.tracks[p.track]


def _stamp(p: Proposal, value: datetime | None, name: str) -> datetime:
    if value is None:
        raise IncompleteRecord(f"proposal #{p.number} is {p.state.value} but has no {name}")
    return value


def review_ends(p: Proposal, charter: Charter) -> datetime:
    return _stamp(p, p.entered_review_at, "entered_review_at") + track_of(p, charter).review


def voting_window(p: Proposal, charter: Charter) -> tuple[datetime, datetime]:
    """When voting opened and when it closes (the track's ``voting`` after opening)."""
    opened = _stamp(p, p.voting_opened_at, "voting_opened_at")
    return opened, opened + track_of(p, charter).voting


# Recent tallies by (proposal object, charter object, moment). One decision asks for the same
# tally several times (cast_vote, close_if_due, then next_due_at on save); both objects are
# frozen, so the answer cannot change. Entries hold the objects, so an id is never reused
# while its entry lives; the table is cleared when full (it only needs the last decision).
_TALLIES_KEPT = 64
_TALLIES: dict[tuple[int, int, datetime], tuple[Proposal, Charter, Tally]] = {}


def tally_of(p: Proposal, charter: Charter, now: datetime) -> Tally:
    """The tally of ``p``'s votes at ``now``; voting must have opened."""
    charter = rules_for(p, charter)
    key = (id(p), id(charter), now)
    hit = _TALLIES.get(key)
    if hit is not None:
        return hit[2]
    opened, closes = voting_window(p, charter)
    result = tally(
        track_of(p, charter),
        charter,
        p.votes,
        now,
        voting_opened_at=opened,
        voting_closes_at=closes,
        open_concerns=tuple(c.name for c in concern_rules.open_at(p.concerns, now)),
    )
    if len(_TALLIES) >= _TALLIES_KEPT:
        _TALLIES.clear()
    _TALLIES[key] = (p, charter, result)
    return result


def label(state: State) -> str:
    return f"charter:{state.value}"


# -- helpers shared by the decisions -------------------------------------------------------

_AUDIT_KIND = {
    Event.INTAKE_VALID: "review-started",
    Event.REVIEW_ENDED: "voting-opened",
    Event.VOTING_CLOSED_PASS: "proposal-decided",
    Event.VOTING_CLOSED_FAIL: "proposal-decided",
    Event.VOTING_CLOSED_NO_QUORUM: "proposal-decided",
    Event.WITHDRAWN: "proposal-withdrawn",
}

# The lifecycle event that closes voting with each settled outcome.
CLOSING_EVENT = {
    Outcome.ACCEPTED: Event.VOTING_CLOSED_PASS,
    Outcome.REJECTED: Event.VOTING_CLOSED_FAIL,
    Outcome.EXPIRED: Event.VOTING_CLOSED_NO_QUORUM,
}


def _move(
    p: Proposal,
    charter: Charter,
    event: Event,
    now: datetime,
    payload: Mapping[str, Any],
    **changes: Any,
) -> tuple[Proposal, list[Effect]]:
    """Apply a lifecycle transition and the effects every state change has."""
    state = next_state(p.state, event)
    moved = replace(p, state=state, **changes)
    record = {
        "event": event.value,
        "from": p.state.value,
        "to": state.value,
        "at": now.isoformat(),
        "charter_version": charter.version,
        **payload,
    }
    audit = Audit(kind=_AUDIT_KIND[event], subject=p.subject, payload=record)
    return moved, [audit, SetLabels(p.number, (label(state),)), SyncTracking(p.number)]


def _announce(p: Proposal, charter: Charter, kind: AnnounceKind, title: str, text: str) -> Announce:
    return Announce(
        kind=kind,
        title=title,
        text=text,
        proposal=p.number,
        track=p.track,
        confidential=track_of(p, charter).confidential,
    )


def refuse(p: Proposal, actor: str, command: str, why: str) -> Decision:
    """A refused command: ``p`` unchanged, the refusal audited, the reason replied."""
    audit = Audit(
        kind="command-refused",
        subject=p.subject,
        payload={"command": command, "actor": actor, "why": why},
    )
    return Decision(p, (audit, Reply(text=why, ok=False)))


def _settled(p: Proposal, charter: Charter, now: datetime) -> str | None:
    """Why ``p`` takes no more input: in voting with its outcome already settled at ``now`` (a
    deadline passed; the timer closes it). None while input can still change the outcome."""
    if p.state is not State.VOTING or p.track not in charter.tracks:
        return None
    current = tally_of(p, charter, now)
    if current.outcome is Outcome.PENDING:
        return None
    return f"voting on #{p.number} has closed: {current.reason}"


def voting_opened_by(p: Proposal, at: datetime) -> bool:
    """Whether voting on ``p`` had opened by ``at``. A vote is dated by when it was cast (a
    GitHub comment's time), so one cast during review that reaches the bot after voting opened
    is refused as it would have been on time, not recorded for a tally that ignores it."""
    return p.voting_opened_at is not None and p.voting_opened_at <= at


def settled_note(p: Proposal, outcome: Outcome, grace: timedelta) -> str:
    """What the author of the input that settled ``p``'s outcome is told when the close is
    left to the timer: it is recorded once the votes cast before that input are in, which is
    ``grace`` later or, while the bot is still catching up on what it missed (after a start),
    later still. So the note promises no exact delay, only the least one."""
    return (
        f"Voting on #{p.number} is settled ({outcome.value}); the decision is recorded once votes"
        f" cast before it have arrived (at least {grace.total_seconds():g} s)."
    )


def _then_close(
    p: Proposal, charter: Charter, effects: list[Effect], now: datetime, grace: timedelta
) -> Decision:
    """Close ``p`` if the input just applied settled its outcome. With a ``grace`` the close is
    left to the timer, which fires ``grace`` after the settling instant and judges ``p`` as it
    stood then: a vote cast before this input but arriving after it (a GitHub veto dated before
    the chat vote that filled the last seat) still counts."""
    closing = close_if_due(p, charter, now)
    if not closing.effects:
        return Decision(p, tuple(effects))
    if grace > timedelta(0):
        outcome = tally_of(p, charter, now).outcome  # the tally close_if_due just read
        return Decision(p, (*effects, Reply(text=settled_note(p, outcome, grace))))
    return Decision(closing.proposal, (*effects, *closing.effects))


# -- the decisions ------------------------------------------------------------------------


def enter_review(p: Proposal, charter: Charter, now: datetime) -> Decision:
    """A draft whose form passed intake enters review; review lasts the track's ``review``."""
    charter = rules_for(p, charter)
    track = track_of(p, charter)
    moved, effects = _move(p, charter, Event.INTAKE_VALID, now, {}, entered_review_at=now)
    text = f"{p.track} proposal by {p.author}; review until {when(now + track.review)}"
    effects.append(_announce(p, charter, "proposal-opened", f"#{p.number} {p.title}", text))
    return Decision(moved, tuple(effects))


def open_voting(p: Proposal, charter: Charter, now: datetime) -> Decision:
    """Once review has ended, voting opens for the track's ``voting`` window, counted from now.

    Counting from the actual opening (not the planned one) gives voters the full window even
    when the bot was down when review ended.
    """
    charter = rules_for(p, charter)
    track, ends = track_of(p, charter), review_ends(p, charter)
    if now < ends:
        raise NotDue(f"review of #{p.number} runs until {when(ends)}; voting cannot open yet")
    moved, effects = _move(p, charter, Event.REVIEW_ENDED, now, {}, voting_opened_at=now)
    closes = now + track.voting
    count = len(seats(track, charter))
    text = f"{count} seats may vote until {when(closes)} (quorum {track.quorum:.0%})"
    title = f"Voting opened on #{p.number} {p.title}"
    effects.append(_announce(p, charter, "voting-opened", title, text))
    return Decision(moved, tuple(effects))


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
    a ``grace`` leaves the close to the timer (see :func:`_then_close`).
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
    settled = _settled(p, charter, now)
    if settled is not None:
        # Settled but not yet closed: refused, and left to the timer, which judges the proposal
        # as it stood when it settled (the bot waits a grace for votes cast before it).
        return refuse(p, actor_login, "vote", settled)
    current = tally_of(p, charter, now)  # the tally _settled just read (memoised)
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
        _announce(p, charter, "vote", title, reason),
        SyncTracking(p.number),
        Reply(text=said + _replacing(current, held, actor_login, vote.choice)),
    ]
    return _then_close(voted, charter, effects, now, grace)


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


def raise_concern(
    p: Proposal, charter: Charter, actor_login: str, name: str, text: str, now: datetime
) -> Decision:
    """An open proposal takes named concerns; while one is open it cannot be accepted."""
    charter = rules_for(p, charter)
    if not is_open(p.state):
        why = f"#{p.number} is closed ({p.state.value}); concerns can no longer be raised"
        return refuse(p, actor_login, "concern", why)
    settled = _settled(p, charter, now)
    if settled is not None:
        return refuse(p, actor_login, "concern", settled)
    try:
        updated = concern_rules.raise_concern(p.concerns, name, text, actor_login, now)
    except ConcernRefused as refused:
        return refuse(p, actor_login, "concern", str(refused))
    raised = next(c for c in updated if c.open and c.named(name))
    payload = {"name": raised.name, "text": text, "by": actor_login, "at": now.isoformat()}
    effects: tuple[Effect, ...] = (
        Audit(kind="concern-raised", subject=p.subject, payload=payload),
        SyncTracking(p.number),
        Reply(text=f"Concern '{raised.name}' is open; #{p.number} cannot pass until resolved."),
    )
    return Decision(replace(p, concerns=updated), effects)


def resolve_concern(
    p: Proposal,
    charter: Charter,
    actor_login: str,
    name: str,
    now: datetime,
    *,
    may_resolve_any: bool = False,
    grace: timedelta = timedelta(0),
) -> Decision:
    """Resolve an open concern (its raiser, or a coordinator); may settle the outcome, which
    closes the proposal at once or, with a ``grace``, by the timer (see :func:`_then_close`)."""
    charter = rules_for(p, charter)
    if not is_open(p.state):
        why = f"#{p.number} is closed ({p.state.value}); its concerns are final"
        return refuse(p, actor_login, "resolve", why)
    settled = _settled(p, charter, now)
    if settled is not None:
        return refuse(p, actor_login, "resolve", settled)
    try:
        updated = concern_rules.resolve(
            p.concerns, name, actor_login, now, may_resolve_any=may_resolve_any
        )
    except ConcernRefused as refused:
        return refuse(p, actor_login, "resolve", str(refused))
    payload = {"name": name, "by": actor_login, "at": now.isoformat()}
    effects: list[Effect] = [
        Audit(kind="concern-resolved", subject=p.subject, payload=payload),
        SyncTracking(p.number),
        Reply(text=f"Concern '{name}' on #{p.number} is resolved."),
    ]
    return _then_close(replace(p, concerns=updated), charter, effects, now, grace)


def withdraw(
    p: Proposal, charter: Charter, actor_login: str, is_coordinator: bool, now: datetime
) -> Decision:
    """The author or a coordinator may withdraw an open proposal; that is final. Not once the
    votes have settled its outcome (the timer closes it with that outcome): like a vote, a
    withdrawal must come while the outcome is still open."""
    charter = rules_for(p, charter)
    if not is_open(p.state):
        return refuse(p, actor_login, "withdraw", f"#{p.number} is already {p.state.value}")
    if actor_login.lower() != p.author.lower() and not is_coordinator:
        why = f"only the author ({p.author}) or a coordinator may withdraw #{p.number}"
        return refuse(p, actor_login, "withdraw", why)
    settled = _settled(p, charter, now)
    if settled is not None:
        return refuse(p, actor_login, "withdraw", settled)
    moved, effects = _move(
        p,
        charter,
        Event.WITHDRAWN,
        now,
        {"by": actor_login},
        withdrawn_by=actor_login,
        decided_at=now,
    )
    text = f"#{p.number} {p.title} was withdrawn by {actor_login}."
    effects += [
        _announce(p, charter, "decision", f"#{p.number} withdrawn", text),
        Comment(p.number, text, key=f"withdrawn:{p.number}"),
        Reply(text=text),
    ]
    return Decision(moved, tuple(effects))


def close_if_due(p: Proposal, charter: Charter, now: datetime) -> Decision:
    """Close voting once the tally has settled the outcome (see :func:`charter.votes.tally`).

    Nothing happens (no effects) unless the proposal is in voting and the outcome is settled.
    """
    charter = rules_for(p, charter)
    if p.state is not State.VOTING:
        return Decision(p)
    result = tally_of(p, charter, now)
    if result.outcome is Outcome.PENDING:
        return Decision(p)
    outcome, summary = result.outcome, result.summary()
    payload = {"outcome": outcome.value, "reason": result.reason, "tally": summary}
    event = CLOSING_EVENT[outcome]
    moved, effects = _move(p, charter, event, now, payload, decided_at=now, outcome=outcome)
    counts = f"{result.approve} approve, {result.reject} reject, {result.abstain} abstain"
    body = (
        f"**Decision: {outcome.value}.** {result.reason[:1].upper()}{result.reason[1:]}.\n\n"
        f"Votes: {counts} of {len(result.seats)} seats. Charter version {charter.version}."
    )
    title = f"#{p.number} {p.title}: {outcome.value}"
    effects += [
        _announce(p, charter, "decision", title, result.reason),
        Comment(p.number, body, key=f"decision:{p.number}"),
    ]
    return Decision(moved, tuple(effects))


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
        if v not in fresh and _settled(p, charter, _withdrawn_at(p, v, fresh, now)) is not None
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
    if vote not in p.votes and _settled(p, charter, vote.at) is not None:
        return False
    return _settled(replace(p, votes=counted), charter, vote.at) is None
