"""Every command a person can give charterbot, as transport-neutral data.

GitHub comments, Discord, Slack and the console all parse into these classes
(:mod:`charter.grammar`), so the service decides the same way whichever door a command came
through. A proposal number is ``None`` when a GitHub comment left it implicit and no issue
number was supplied to the parser: the caller fills in the issue the comment was made on.

Values are already validated by the parser: numbers are positive and at most 10^9, names are
lowercase identifiers of at most 64 characters, free text is cleaned of invisible characters
and at most 1000 characters long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

VoteChoice = Literal["approve", "reject", "abstain"]
FlagState = Literal["on", "off"]
SubscribeTarget = Literal["here", "me", "email", "webhook"]

# -- proposals ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListProposals:
    """List the open proposals."""


@dataclass(frozen=True, slots=True)
class Show:
    n: int | None


@dataclass(frozen=True, slots=True)
class CastVote:
    n: int | None
    choice: VoteChoice
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RaiseConcern:
    n: int | None
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class ResolveConcern:
    n: int | None
    name: str


@dataclass(frozen=True, slots=True)
class RequestFeedback:
    """Ask people for their feedback on a proposal (rfcbot's ``f? @user``). It never blocks:
    the request is listed on the tracking message until the person answers
    (:mod:`charter.feedback`). ``users`` are GitHub logins without "@", or chat mentions
    (``<@U0BOB>``) the service reads as the login their user linked; at most
    ``MAX_FEEDBACK_USERS``, no login twice."""

    n: int | None
    users: tuple[str, ...]
    note: str = ""


MAX_FEEDBACK_USERS = 10


@dataclass(frozen=True, slots=True)
class Withdraw:
    n: int | None


@dataclass(frozen=True, slots=True)
class Status:
    n: int | None


@dataclass(frozen=True, slots=True)
class Link:
    """Start linking a chat identity to a GitHub login."""


@dataclass(frozen=True, slots=True)
class WhoAmI:
    pass


@dataclass(frozen=True, slots=True)
class Todo:
    """What awaits the asker: the votes their seats owe, their open concerns, and the votes
    about to open for them (:mod:`charter.todo`)."""


@dataclass(frozen=True, slots=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Disclose:
    n: int | None


# -- rollout --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ready:
    n: int | None
    client: str
    stage: str
    version: str
    ref: str | None = None  # commit SHA or tag of the reported release
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Drill:
    """A client's rollback drill on a stage (:mod:`charter.drills`): how long the node took to
    be healthy again after reverting the release (``recovered``), or None when it did not
    recover, ``notes`` then saying what went wrong (required)."""

    n: int | None
    client: str
    stage: str
    recovered: timedelta | None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class DrillSchedule:
    """Plan a client's rollback drill on a stage; shown as planned until one is reported."""

    n: int | None
    client: str
    stage: str
    when_text: str  # kept raw; the service reads it in the charter's zone (charter.when)


@dataclass(frozen=True, slots=True)
class Advance:
    n: int | None
    override_reason: str | None = None
    stage: str | None = None  # "to <stage>": the stage to enter, which must be the next one


@dataclass(frozen=True, slots=True)
class ShowRollout:
    n: int | None


@dataclass(frozen=True, slots=True)
class PauseRollout:
    """Hold a rollout by hand ("stop the line"): it does not advance, enter its first stage or
    complete until a coordinator resumes it (:func:`charter.rollout.pause`)."""

    n: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class ResumeRollout:
    """Lift a rollout's hold by hand; an incident's hold stays until the incident is resolved
    (:func:`charter.rollout.resume`), unless ``override_reason`` is given: then every hold of
    the rollout is lifted, the incidents' too (:func:`charter.rollout.override_holds`)."""

    n: int | None
    reason: str = ""
    override_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Inventory:
    n: int | None = None  # None: every client's releases across all rollouts


@dataclass(frozen=True, slots=True)
class MoveActivation:
    n: int | None
    target: str  # as typed: a UTC date-time or a chain position (charter.intake)
    reason: str


@dataclass(frozen=True, slots=True)
class Rollback:
    n: int | None
    clients: tuple[str, ...]  # empty: every client in the rollout
    reason: str


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    state: FlagState
    reason: str


# -- incidents ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentDeclare:
    severity: str
    summary: str
    proposals: tuple[int, ...] = ()
    clients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IncidentRole:
    incident: int | None  # None: the incident of the channel or thread the command came from
    role: str
    user: str


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    incident: int | None
    text: str


@dataclass(frozen=True, slots=True)
class IncidentSeverity:
    incident: int | None
    severity: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class IncidentResolve:
    incident: int | None
    text: str = ""


@dataclass(frozen=True, slots=True)
class IncidentAdd:
    """Widen an open incident's scope: name more proposals and/or clients (at least one)."""

    incident: int | None
    proposals: tuple[int, ...] = ()
    clients: tuple[str, ...] = ()


# -- meetings -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Meetings:
    next_n: int = 5


@dataclass(frozen=True, slots=True)
class MeetingSchedule:
    title: str
    when_text: str  # kept raw; charter.meetings interprets it in the charter's zone
    duration: timedelta | None = None
    proposal: int | None = None


@dataclass(frozen=True, slots=True)
class MeetingCancel:
    id: str


@dataclass(frozen=True, slots=True)
class MeetingMove:
    id: str
    when_text: str


@dataclass(frozen=True, slots=True)
class MeetingDecide:
    text: str
    call: str | None = None  # ``--call <meeting-id>``; else the call in progress (or latest)


@dataclass(frozen=True, slots=True)
class MeetingAction:
    who: str
    text: str
    call: str | None = None  # ``--call <meeting-id>``; else the call in progress (or latest)


@dataclass(frozen=True, slots=True)
class AgendaAdd:
    meeting: str
    text: str


@dataclass(frozen=True, slots=True)
class Confirm:
    token: str


# -- subscriptions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subscribe:
    target: SubscribeTarget = "here"
    address: str | None = None  # the e-mail address or webhook URL
    kinds: tuple[str, ...] = ()  # empty: every kind
    tracks: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    proposal: int | None = None
    min_severity: str | None = None
    labels: tuple[str, ...] = ()
    not_labels: tuple[str, ...] = ()
    lang: str | None = None
    digest_at: str | None = None  # "HH:MM" in the charter's zone: one daily digest (see
    # charter.subscriptions: not the subscriber's linked zone, and replies name the zone)


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    id: int | None = None  # None and not every: list them and say how to remove one or all
    every: bool = False  # ``unsubscribe all``: what is delivered where it is typed


@dataclass(frozen=True, slots=True)
class Subscriptions:
    pass


Command = (
    ListProposals
    | Show
    | CastVote
    | RaiseConcern
    | ResolveConcern
    | RequestFeedback
    | Withdraw
    | Status
    | Link
    | WhoAmI
    | Todo
    | Help
    | Disclose
    | Ready
    | Drill
    | DrillSchedule
    | Advance
    | ShowRollout
    | PauseRollout
    | ResumeRollout
    | Inventory
    | Rollback
    | Flag
    | IncidentDeclare
    | IncidentRole
    | IncidentUpdate
    | IncidentSeverity
    | MoveActivation
    | IncidentResolve
    | IncidentAdd
    | Meetings
    | MeetingSchedule
    | MeetingCancel
    | MeetingMove
    | MeetingDecide
    | MeetingAction
    | AgendaAdd
    | Confirm
    | Subscribe
    | Unsubscribe
    | Subscriptions
)


@dataclass(frozen=True, slots=True)
class ParseError:
    """A command that could not be read.

    ``message`` is a plain sentence saying what is wrong; ``usage`` shows the correct form.
    """

    message: str
    usage: str

    def __str__(self) -> str:
        return f"{self.message}\nUsage: {self.usage}"
