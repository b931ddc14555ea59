"""Who may do what: one decision for every command, whichever door it came through.

Roles (:func:`roles_for`): an actor without a verified GitHub login is ``anonymous``; a login
that maintains a client is a ``maintainer``; the charter roles ``coordinators`` and
``security-council`` make a ``coordinator`` and a ``security-council`` member; any other
charter role is reported under its own name; a login with none of these is a ``contributor``.
"Staff" below means anyone who is a maintainer or holds any charter role.

Rules (:func:`authorize`):

- anonymous may read and link, nothing else, and is told to run ``/charter link`` first;
- vote: a seat in the track's electorate (or a veto on it), as :mod:`charter.seats` counts;
  on a track with ``author_may_vote: false`` not the proposal's own author (compared
  case-insensitively), whose seats other holders may still cast — a choice each track makes,
  since a maintainer who writes a proposal is, by default, one who may cast their client's
  seat on it (quorum 1.0 over the clients needs that when a client has one maintainer);
- withdraw: the proposal's author or a coordinator;
- ready: a maintainer of that client, or a coordinator;
- drill (report or plan a rollback drill): a maintainer of that client, or a member of a role in
  ``rollout.override_roles`` (who may pass the gate it feeds anyway);
- override (advance past a failing gate, or lift the incidents' holds on one rollout with
  ``rollout resume <n> --override``): a member of a role in ``rollout.override_roles``;
- pause a rollout by hand (the safe direction, "stop the line"): a member of a role in
  ``rollout.override_roles``, the security council (who may roll the whole rollout back) or a
  maintainer of a client in that rollout (``rollout_clients``;
  unknown, any maintainer passes, and the service asks again once it has loaded the rollout);
  with no ``override_roles`` nobody, since no one could resume it (an incident is the way);
- resume a rollout paused by hand: a member of a role in ``rollout.override_roles`` only (when
  none of those roles has a member, as after an amendment, coordinators and the security
  council, so that a hold placed earlier can still be lifted);
- rollback: coordinators and the security council; a client's maintainers for their client;
- flag, disclose: coordinators and the security council;
- meeting-decide, activation (move an accepted proposal's activation target): coordinators;
- go-no-go-call (schedule, move or cancel a go/no-go call: a title or id ``go-no-go-…``, on
  top of meeting-schedule): coordinators, who decide it; the call's outcome is a rollout gate's,
  so cancelling or moving it is not any staff member's to do;
- concern, resolve-concern, advance, incident-*, meeting-schedule, meeting-action and
  subscribe-channel (announcements into a shared channel): staff — a contributor may comment,
  but a blocking concern or an operational action needs someone answerable under the charter;
  who may resolve a given concern (its raiser or a coordinator) is :mod:`charter.concerns`'s rule;
  the refusal says who may, and what the contributor can do instead: comment on the proposal,
  or for a command not about one (an incident, a call, a shared channel) tell or ask staff, or
  subscribe themselves;
- agenda-add, subscribe (for oneself): any linked login;
- feedback (ask someone for non-blocking feedback on a proposal): whoever may raise a concern
  or vote on it, which is staff: every seat is a client's (its maintainers) or a charter role's
  member's, so every voter is staff.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from charter import commands as c
from charter.actors import Actor
from charter.model import Charter
from charter.seats import may_vote
from charter.text import join_and


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    CONTRIBUTOR = "contributor"
    MAINTAINER = "maintainer"
    SECURITY_COUNCIL = "security-council"
    COORDINATOR = "coordinator"


class Privilege(StrEnum):
    READ = "read"
    VOTE = "vote"
    CONCERN = "concern"
    FEEDBACK = "feedback"
    RESOLVE_CONCERN = "resolve-concern"
    WITHDRAW = "withdraw"
    LINK = "link"
    READY = "ready"
    DRILL = "drill"
    ADVANCE = "advance"
    OVERRIDE = "override"
    PAUSE = "pause"
    RESUME = "resume"
    ROLLBACK = "rollback"
    FLAG = "flag"
    INCIDENT_DECLARE = "incident-declare"
    INCIDENT_MANAGE = "incident-manage"
    DISCLOSE = "disclose"
    MEETING_SCHEDULE = "meeting-schedule"
    MEETING_DECIDE = "meeting-decide"
    GO_NO_GO_CALL = "go-no-go-call"
    ACTIVATION = "activation"
    MEETING_ACTION = "meeting-action"
    AGENDA_ADD = "agenda-add"
    SUBSCRIBE = "subscribe"
    SUBSCRIBE_CHANNEL = "subscribe-channel"


class ProposalLike(Protocol):
    """What authorization reads of a proposal (``charter.proposal.Proposal`` fits)."""

    @property
    def author(self) -> str: ...

    @property
    def track(self) -> str: ...


@dataclass(frozen=True)
class Refusal:
    reason: str  # a sentence to show the person, saying why and what would allow it

    def __str__(self) -> str:
        return self.reason


COMMAND_PRIVILEGE: dict[type[c.Command], Privilege] = {
    c.ListProposals: Privilege.READ,
    c.Show: Privilege.READ,
    c.Status: Privilege.READ,
    c.Help: Privilege.READ,
    c.WhoAmI: Privilege.READ,
    c.Todo: Privilege.READ,
    c.ShowRollout: Privilege.READ,
    c.PauseRollout: Privilege.PAUSE,
    c.ResumeRollout: Privilege.RESUME,
    c.Inventory: Privilege.READ,
    c.Meetings: Privilege.READ,
    c.Subscriptions: Privilege.READ,
    c.Confirm: Privilege.READ,  # completes an action the service re-authorises when it runs
    c.Link: Privilege.LINK,
    c.CastVote: Privilege.VOTE,
    c.RaiseConcern: Privilege.CONCERN,
    c.ResolveConcern: Privilege.RESOLVE_CONCERN,
    c.RequestFeedback: Privilege.FEEDBACK,
    c.Withdraw: Privilege.WITHDRAW,
    c.Disclose: Privilege.DISCLOSE,
    c.Ready: Privilege.READY,
    c.Drill: Privilege.DRILL,
    c.DrillSchedule: Privilege.DRILL,
    c.Advance: Privilege.ADVANCE,  # plus OVERRIDE when a reason is given: required_privileges
    c.Rollback: Privilege.ROLLBACK,
    c.MoveActivation: Privilege.ACTIVATION,
    c.Flag: Privilege.FLAG,
    c.IncidentDeclare: Privilege.INCIDENT_DECLARE,
    c.IncidentRole: Privilege.INCIDENT_MANAGE,
    c.IncidentUpdate: Privilege.INCIDENT_MANAGE,
    c.IncidentSeverity: Privilege.INCIDENT_MANAGE,
    c.IncidentResolve: Privilege.INCIDENT_MANAGE,
    c.IncidentAdd: Privilege.INCIDENT_MANAGE,  # as update and severity: whoever manages it
    c.MeetingSchedule: Privilege.MEETING_SCHEDULE,
    c.MeetingCancel: Privilege.MEETING_SCHEDULE,
    c.MeetingMove: Privilege.MEETING_SCHEDULE,
    c.MeetingDecide: Privilege.MEETING_DECIDE,
    c.MeetingAction: Privilege.MEETING_ACTION,
    c.AgendaAdd: Privilege.AGENDA_ADD,
    c.Subscribe: Privilege.SUBSCRIBE,  # plus SUBSCRIBE_CHANNEL for "here"
    c.Unsubscribe: Privilege.SUBSCRIBE,
}

GO_NO_GO_PREFIX = "go-no-go-"  # every go/no-go call's id: go-no-go-<n>-<stage>[-<attempt>]
_CHARTER_ROLES = {"coordinators": Role.COORDINATOR, "security-council": Role.SECURITY_COUNCIL}
_COORD = "a coordinator"
_COUNCIL = "coordinators and the security council"
_OPEN = frozenset({Privilege.READ, Privilege.LINK})
_ANY_LINKED = frozenset({Privilege.AGENDA_ADD, Privilege.SUBSCRIBE})
_STAFF_ONLY = {
    Privilege.CONCERN: "raise a blocking concern",
    Privilege.RESOLVE_CONCERN: "resolve a blocking concern",
    Privilege.FEEDBACK: "ask for feedback on a proposal",
    Privilege.ADVANCE: "advance a rollout",
    Privilege.INCIDENT_DECLARE: "declare an incident",
    Privilege.INCIDENT_MANAGE: "manage an incident",
    Privilege.MEETING_SCHEDULE: "schedule, move or cancel a meeting",
    Privilege.MEETING_ACTION: "record a meeting action",
    Privilege.SUBSCRIBE_CHANNEL: "subscribe a shared channel",
}
# What a contributor refused a staff-only privilege can do instead; commenting on the proposal
# unless the command is not about one (an incident, a call, a shared channel).
_INSTEAD = {
    Privilege.INCIDENT_DECLARE: "tell one of them what you see",
    Privilege.INCIDENT_MANAGE: "tell one of them what you know",
    Privilege.MEETING_SCHEDULE: "ask one of them to",
    Privilege.MEETING_ACTION: "ask one of them to",
    Privilege.SUBSCRIBE_CHANNEL: "you can still subscribe yourself (/charter subscribe me)",
}
_COUNCIL_OR_COORDINATOR = {
    Privilege.FLAG: "switch a feature flag",
    Privilege.DISCLOSE: "disclose a confidential proposal",
}


def roles_for(actor: Actor, charter: Charter) -> frozenset[str]:
    """The actor's roles: :class:`Role` members, plus other charter roles by their own name."""
    if actor.login is None:
        return frozenset({Role.ANONYMOUS})
    roles: set[str] = {_CHARTER_ROLES.get(r, r) for r in charter.roles_of(actor.login)}
    if charter.client_of(actor.login) is not None:
        roles.add(Role.MAINTAINER)
    return frozenset(roles or {Role.CONTRIBUTOR})


def required_privileges(command: c.Command) -> tuple[Privilege, ...]:
    """Every privilege a command needs: its own, and the extra one some forms ask for."""
    own = COMMAND_PRIVILEGE[type(command)]
    if isinstance(command, c.Advance | c.ResumeRollout) and command.override_reason is not None:
        return (own, Privilege.OVERRIDE)
    if isinstance(command, c.Subscribe) and command.target == "here":
        return (own, Privilege.SUBSCRIBE_CHANNEL)
    if isinstance(command, c.MeetingSchedule | c.MeetingCancel | c.MeetingMove):
        named = command.title if isinstance(command, c.MeetingSchedule) else command.id
        if named.strip().lower().startswith(GO_NO_GO_PREFIX):
            return (own, Privilege.GO_NO_GO_CALL)
    return (own,)


def authorize_command(
    command: c.Command,
    actor: Actor,
    charter: Charter,
    *,
    track: str | None = None,
    proposal_author: str | None = None,
    proposal: ProposalLike | None = None,
    rollout_clients: Collection[str] | None = None,
) -> Refusal | None:
    """Decide a whole command: every privilege it needs, for every client it names.
    ``rollout_clients`` (the clients of the rollout it acts on) narrows a pause."""
    clients: Iterable[str | None] = (None,)
    if isinstance(command, c.Ready | c.Drill | c.DrillSchedule):
        clients = (command.client,)
    elif isinstance(command, c.Rollback) and command.clients:
        clients = command.clients
    for privilege in required_privileges(command):
        for client in clients:
            refusal = authorize(
                privilege,
                actor,
                charter,
                track=track,
                proposal_author=proposal_author,
                client=client,
                proposal=proposal,
                rollout_clients=rollout_clients,
            )
            if refusal is not None:
                return refusal
    return None


def authorize(
    privilege: Privilege,
    actor: Actor,
    charter: Charter,
    *,
    track: str | None = None,
    proposal_author: str | None = None,
    client: str | None = None,
    proposal: ProposalLike | None = None,
    rollout_clients: Collection[str] | None = None,
) -> Refusal | None:
    """``None`` when ``actor`` may use ``privilege``; otherwise why not (see the module rules).

    ``track`` is required for VOTE; ``proposal_author`` matters for WITHDRAW; ``client``
    narrows READY and ROLLBACK to one client; ``rollout_clients`` narrows PAUSE to the
    maintainers of a client in that rollout. ``proposal`` (docs/CONTRACTS.md's form) supplies
    the track and author when they are not given.
    """
    if proposal is not None:
        track = track or proposal.track
        proposal_author = proposal_author or proposal.author
    if privilege in _OPEN:
        return None
    if actor.login is None:
        return Refusal(
            "You have not linked a GitHub login yet, so you can only read; run /charter link"
            " first, then try again."
        )
    login, roles = actor.login, roles_for(actor, charter)
    if privilege in _ANY_LINKED:
        return None
    if privilege in _STAFF_ONLY:
        return None if Role.CONTRIBUTOR not in roles else _staff_refusal(privilege, charter)
    if privilege in _COUNCIL_OR_COORDINATOR:
        if roles & {Role.COORDINATOR, Role.SECURITY_COUNCIL}:
            return None
        what = _COUNCIL_OR_COORDINATOR[privilege]
        return Refusal(f"Only coordinators and the security council may {what}.")
    if privilege in (Privilege.PAUSE, Privilege.RESUME):
        return _hold(privilege, login, roles, charter, rollout_clients)
    return _special(privilege, login, roles, charter, track, proposal_author, client)


def _special(
    privilege: Privilege,
    login: str,
    roles: frozenset[str],
    charter: Charter,
    track: str | None,
    proposal_author: str | None,
    client: str | None,
) -> Refusal | None:
    coordinator = Role.COORDINATOR in roles
    if privilege is Privilege.VOTE:
        return _vote(login, charter, track, proposal_author)
    if privilege is Privilege.WITHDRAW:
        if coordinator or (proposal_author or "").lower() == login.lower():
            return None
        author = f" ({proposal_author})" if proposal_author else ""
        return Refusal(f"Only the proposal's author{author} or a coordinator may withdraw it.")
    if privilege is Privilege.READY:
        return None if coordinator else _maintainer_of(login, charter, client, "report", _COORD)
    if privilege is Privilege.DRILL:
        return _drill(login, charter, client)
    if privilege is Privilege.OVERRIDE:
        allowed = charter.rollout.override_roles
        if set(allowed) & set(charter.roles_of(login)):
            return None
        if not allowed:
            return Refusal("This charter lets no one override a rollout gate.")
        return Refusal(f"Only members of {join_and(list(allowed))} may override a rollout gate.")
    if privilege is Privilege.ROLLBACK:
        if roles & {Role.COORDINATOR, Role.SECURITY_COUNCIL}:
            return None
        if client is None:
            return Refusal(
                "Only coordinators and the security council may roll back every client at once;"
                " a maintainer may roll back their own client."
            )
        return _maintainer_of(login, charter, client, "roll back", _COUNCIL)
    if privilege is Privilege.ACTIVATION:
        return None if coordinator else Refusal("Only coordinators may move an activation target.")
    if privilege is Privilege.GO_NO_GO_CALL:
        return (
            None
            if coordinator
            else Refusal(
                "Only coordinators may schedule, move or cancel a go/no-go call: its decision"
                " is a rollout gate's; ask one of them to."
            )
        )
    assert privilege is Privilege.MEETING_DECIDE, privilege  # every privilege is handled
    return None if coordinator else Refusal("Only coordinators may record a meeting decision.")


def _drill(login: str, charter: Charter, client: str | None) -> Refusal | None:
    """A client's maintainers report and plan its drills; so may the override roles' members."""
    allowed = charter.rollout.override_roles
    if set(allowed) & set(charter.roles_of(login)):
        return None
    others = (
        f"members of {join_and(list(allowed))}"
        if allowed
        else "the rollout's override roles (none in this charter)"
    )
    return _maintainer_of(login, charter, client, "report or plan a rollback drill of", others)


def _hold(
    privilege: Privilege,
    login: str,
    roles: frozenset[str],
    charter: Charter,
    rollout_clients: Collection[str] | None,
) -> Refusal | None:
    """Pausing a rollout by hand stops the line, so more people may do it than lift it: the
    override roles, the security council and the maintainers of its clients pause, only the
    override roles resume. A hold nobody could lift is never placed: with no override role,
    nobody pauses by hand. A hold placed under an earlier charter may outlive its override
    roles: when no override role has a member, coordinators and the security council resume."""
    allowed = charter.rollout.override_roles
    if set(allowed) & set(charter.roles_of(login)):
        return None
    unheld = not any(charter.roles.get(r) for r in allowed)
    if privilege is Privilege.RESUME and unheld:
        if roles & {Role.COORDINATOR, Role.SECURITY_COUNCIL}:
            return None
        return Refusal(
            "No rollout.override_roles has a member, so coordinators and the security council"
            " resume a rollout paused by hand; ask one of them."
        )
    if not allowed:
        return Refusal(
            "This charter names no rollout.override_roles, so no one could resume a rollout"
            " paused by hand; declare an incident instead, which lifts when it is resolved."
        )
    who = _members(charter, allowed)
    if privilege is Privilege.RESUME:
        return Refusal(
            f"Only members of {who} may resume a rollout; ask one of them. A client's"
            " maintainers may pause a rollout, not resume it."
        )
    if Role.SECURITY_COUNCIL in roles:
        return None
    mine = charter.client_of(login)
    if mine is not None and (rollout_clients is None or mine.id in rollout_clients):
        return None
    if mine is not None:
        theirs = join_and(list(rollout_clients or ()))
        return Refusal(
            f"Only members of {who}, the security council and the maintainers of a client in"
            f" this rollout ({theirs}) may pause it; {mine.id} is not in it. Tell one of them"
            " what you found."
        )
    return Refusal(
        f"Only members of {who}, the security council and the maintainers of a client in the"
        " rollout may pause it; tell one of them what you found."
    )


def _members(charter: Charter, roles: Iterable[str]) -> str:
    """Roles with their members, for a refusal that says whom to ask: "coordinators (ines)"."""
    return join_and(
        [f"{r} ({join_and(list(charter.roles.get(r, ()))) or 'no one'})" for r in roles]
    )


def staff(charter: Charter) -> str:
    """Who holds the staff-only privileges, as a refusal names them."""
    roles = join_and(sorted(charter.roles)) if charter.roles else "none"
    return f"client maintainers and holders of a charter role ({roles})"


def _staff_refusal(privilege: Privilege, charter: Charter) -> Refusal:
    return Refusal(
        f"Only {staff(charter)} may {_STAFF_ONLY[privilege]};"
        f" {_INSTEAD.get(privilege, 'you can still comment on the proposal')}."
    )


def _vote(
    login: str, charter: Charter, track_name: str | None, author: str | None
) -> Refusal | None:
    if track_name is None:
        raise ValueError("authorizing a vote needs the proposal's track")
    track = charter.tracks.get(track_name)
    if track is None:
        return Refusal(f"There is no track {track_name} in this charter.")
    if may_vote(login, track, charter):
        if track.author_may_vote or (author or "").lower() != login.lower():
            return None
        return _author_refusal(login, charter, track_name)
    parts = []
    for entry in track.electorate:
        if entry == "clients":
            parts.append(
                f"one per client ({join_and(charter.client_ids)}), cast by its maintainers"
            )
        else:
            members = join_and(list(charter.roles.get(entry, ()))) or "no one"
            parts.append(f"one per member of {entry} ({members})")
    return Refusal(f"You are not a voter for track {track_name}: its seats are {join_and(parts)}.")


def _author_refusal(login: str, charter: Charter, track_name: str) -> Refusal:
    """Why the author may not vote on their own proposal, and who may cast their client's
    seat instead (its other maintainers; none left: the seat stays empty)."""
    why = (
        f"You wrote this proposal, and track {track_name} does not let a proposal's author"
        " cast a seat's vote on it (author_may_vote: false)"
    )
    client = charter.client_of(login)
    if client is None or "clients" not in charter.tracks[track_name].electorate:
        return Refusal(f"{why}.")
    others = [m for m in client.maintainers if m.lower() != login.lower()]
    if not others:
        return Refusal(f"{why}; {client.id} has no other maintainer to cast its seat.")
    return Refusal(f"{why}; another maintainer of {client.id} ({join_and(others)}) may.")


def _maintainer_of(
    login: str, charter: Charter, client_id: str | None, verb: str, others: str
) -> Refusal | None:
    mine = charter.client_of(login)
    if client_id is None:
        if mine is not None:
            return None
        return Refusal(f"Only client maintainers or {others} may {verb} a client's release.")
    client = charter.client(client_id)
    if client is None:
        known = join_and(charter.client_ids)
        return Refusal(f"There is no client {client_id} in this charter; the clients are {known}.")
    if mine is not None and mine.id == client.id:
        return None
    maintainers = join_and(list(client.maintainers)) or "no one"
    return Refusal(
        f"Only maintainers of {client.id} ({maintainers}) or {others} may {verb} {client.id}."
    )
