"""The proposal aggregate, what it is judged by, and the helpers its decisions share.

The decisions are pure functions ``(proposal, charter, …, now) -> Decision``: the proposal as it
is afterwards plus the effects the application must carry out. They live by what they decide:
:mod:`charter.proposal_transitions` (review, voting, withdrawal, close),
:mod:`charter.proposal_votes` (casting and recomputing votes) and
:mod:`charter.proposal_concerns` (raising and resolving concerns). Rules shared by all of them:
- every state change emits an ``Audit``, ``SetLabels`` (``charter:<state>``) and ``SyncTracking``
  (:func:`transition`);
- a command the rules refuse changes nothing and emits ``Audit(kind="command-refused")`` and
  ``Reply(ok=False, text=<why>)`` (:func:`refuse`);
- announcements of a confidential track carry ``confidential=True`` (:func:`announce`);
- a vote or a resolved concern that settles the outcome closes the proposal in the same step,
  unless the caller gives a ``grace`` (the bot's wait for votes still on their way): then the
  timer closes it no sooner than that long after it settled, judged as it stood then
  (:func:`settled_note`); once settled, a proposal takes no more input (:func:`why_settled`).
Which timer is due is :mod:`charter.deadlines`' business; it calls
:func:`charter.proposal_transitions.open_voting` and
:func:`charter.proposal_transitions.close_if_due`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from charter import concerns as concern_rules
from charter.concerns import Concern
from charter.effects import Announce, Audit, Effect, Reply, SetLabels, SyncTracking
from charter.lifecycle import Event, State, next_state
from charter.model import AnnounceKind, Charter, Track
from charter.votes import Outcome, Tally, Vote, tally


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


def transition(
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


def announce(p: Proposal, charter: Charter, kind: AnnounceKind, title: str, text: str) -> Announce:
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


def why_settled(p: Proposal, charter: Charter, now: datetime) -> str | None:
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
