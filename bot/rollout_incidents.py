"""Incidents and kill switches wired into the service (part of the rollout area).

Rules:
- Declaring an incident at ``rollout.pause_on_incident`` or worse pauses, in the same
  transaction, every active rollout it names (or every one, when it names nothing); each pause
  is announced with the matrix.
- An incident command without ``#<id>`` acts on the only open incident; with several open, the
  reply lists them and asks which. A confidential incident (it names an undisclosed
  confidential proposal, or holds one paused otherwise than as it started, by its client or
  as one naming nothing: see below) is listed only as "a confidential incident (<severity>)",
  without id or summary, to whoever may not see that proposal (:func:`bot.rollouts.visible`);
  the refusal's audit entry, which the public may read, words every confidential one so. Its
  declarer is the exception: they still see and manage it (update, role, severity, resolve).
  (An incident naming nothing no longer turns confidential by pausing a rollout hidden from
  them, see below; one recorded so by an earlier version still exists, and stays theirs.)
- A rollout's hold by an incident is worded as :func:`_pause_reason` says: the incident's id,
  severity and summary (or "a confidential incident (<severity>)"); when the incident's
  severity changes, every hold of it is worded anew, so a pause line never shows an old one.
- A reply names only the rollouts its reader may see (paused, resumed or still held); the others
  are left out entirely, not even counted (coordinators and the council, who may see them, get
  them by number).
- A rollout that starts while an open incident at ``pause_on_incident`` or worse names it starts
  paused by it (:func:`hold_at_start`; :func:`charter.incidents.holding`).
- A public incident stays public when it pauses, by naming its client or by naming nothing
  (declared, added with ``incident add … clients``, or raised to ``pause_on_incident``), an
  embargoed rollout it does not name by number (:func:`charter.incidents.quietly_held`; a
  network-wide sev1 stays on the public page): that rollout is held as one starting under the
  incident is (:func:`_hold_all`: worded as :func:`hold_at_start` words it, recorded
  ``at_start`` under the rollout's own subject, withheld from the public while the proposal
  is, announced only where it may be seen), the incident's news and audit entries neither name
  nor count it, and resolving lifts the hold. Only naming the proposal by number (its
  declarer's choice, refused by ``incident add`` on a public incident) makes an incident
  confidential. A public incident's review draft (a public issue) leaves out the audit lines
  of such embargoed rollouts (:func:`_told`).
- ``incident declare ... for <n>`` names only proposals the declarer may see: a confidential
  rollout hidden from them (:func:`bot.rollouts.visible`) is answered as a proposal that does
  not exist, so the command can neither confirm nor pause it.
- The assignee of an incident role gets the role's instructions privately: an outbox item of
  kind ``direct-message`` with payload ``{login, text}``. A role holder is a GitHub login; a
  chat mention (``<@U0BOB>``) is read as the login its user linked on the surface the command
  came from, and refused when there is none.
- ``incident add [#<id>] [for <n>…] [clients <c> …]`` widens an open incident's scope
  (:mod:`charter.incident_scope`): it picks the incident as ``incident update`` does, answers a
  proposal hidden from the actor as one that does not exist (as declaring does), and pauses the
  newly named rollouts at once, worded as the declaration's pauses. A public incident stays
  public, as when an embargoed rollout starts under it: naming an undisclosed confidential
  proposal in it is refused, and the reply says to declare a separate confidential incident
  for that proposal (the exact command) or to disclose it first; the refusal is audited under
  that proposal (``proposal:<n>``, withheld from the public while it is), so the public log
  does not tie the incident to the embargo. An incident that is confidential already (it
  names or holds one: :func:`_secret`) may name more of them.
- Resolving lifts that incident's pauses on every rollout it holds, completed or not (a rollout
  also held by another incident stays paused); a rollout left with no hold then does what waited
  for it (enters its first stage, or completes: :func:`charter.rollout.resume`). A rollout
  whose proposal has ended (``storage.rollouts.ENDED_STATES``: rolled back for good,
  withdrawn…) has its hold lifted silently: audited, never announced as resumed. It also drafts
  the post-incident review as a GitHub issue (outbox kind ``create-issue``, payload
  ``{title, body, labels, key}``) due ``incidents.review_within`` after resolution, and
  schedules the review as a call on the due date whose agenda links that issue
  (:func:`bot.meetings_timers.schedule_incident_review`); for a confidential incident the
  draft goes to private channels and the call is private.
- ``/charter flag <name> off "<reason>"`` switches the flag off in every registry entry of that
  name and broadcasts the kill-switch instruction (announce kind ``rollout``); ``on`` allows it
  back. Both are audited.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from sqlmodel import Session

from bot import meetings_timers as timers
from bot.identity import mentioned_login, unlinked_mention
from bot.meetings_lookup import may_see
from bot.messages import Actor, Message
from bot.rollouts import save, visible  # the rollout side owns saving and the lifecycle
from charter import (
    commands as c,
    incident_scope as scope_rules,
    incidents as rules,
    rollout as rollout_rules,
)
from charter.effects import Announce, Audit, Effect, Reply, SyncTracking
from charter.gates import CONFIDENTIAL_INCIDENT
from charter.incidents import DirectMessage, Incident, IncidentEffect
from charter.prerequisites import form_minimums
from storage import (
    incidents as incident_store,
    outbox,
    proposals as repo,
    rollouts as store,
)
from storage.dashboard_queries import confidential_incidents, hidden_numbers, started_holds

if TYPE_CHECKING:
    from bot.service import Governance, Outcome

REVIEW_LABEL = "post-incident-review"


def install_on(gov: Governance) -> None:
    gov.register(c.IncidentDeclare, declare)
    gov.register(c.IncidentRole, assign_role)
    gov.register(c.IncidentUpdate, update)
    gov.register(c.IncidentSeverity, reclassify)
    gov.register(c.IncidentResolve, resolve)
    gov.register(c.IncidentAdd, add_scope)
    gov.register(c.Flag, flag)


def _effects(
    gov: Governance,
    session: Session,
    effects: Iterable[IncidentEffect],
    actor: Actor | str,
    now: datetime,
) -> Outcome:
    """Carry out effects; a private brief becomes a ``direct-message`` outbox item."""
    plain: list[Effect] = []
    for effect in effects:
        if isinstance(effect, DirectMessage):
            payload = {"login": effect.login, "text": effect.text}
            outbox.enqueue(session, kind="direct-message", payload=payload, now=now)
        else:
            plain.append(effect)
    return gov.effects(session, plain, actor, now)


def _reply(outcome: Outcome, extra: Iterable[str] = (), *, first: bool = False) -> Message:
    """The replies, then ``extra`` (before them when ``first``: the news, then the details)."""
    said = [r.text for r in outcome.replies]
    text = "\n".join([*extra, *said] if first else [*said, *extra]) or "Done."
    return Message.text_only(text, ok=all(r.ok for r in outcome.replies))


def _seen(gov: Governance, stored: repo.Stored | None, actor: Actor) -> bool:
    """Whether ``actor`` may know the proposal exists (a hidden confidential one does not)."""
    return stored is not None and visible(gov, stored, actor)


def _pick(
    gov: Governance, session: Session, cmd: object, number: int | None, actor: Actor, now: datetime
) -> Incident | Message:
    """The incident a command means: the one named, or the only open one; else the refusal.
    A confidential incident the actor may not see (see :func:`_unseen`) does not exist to them:
    named, it is answered as a missing one, and as the only open one it is not picked."""
    secret = confidential_incidents(session)
    unseen = _unseen(gov, session, actor) if secret else set()
    if number is not None:
        found = incident_store.load_incident(session, number)
        if found is None or found.id in unseen:
            return gov.refuse(session, actor, cmd, f"There is no incident #{number}.", now)
        return found
    open_ = incident_store.incidents(session, open_only=True)
    if len(open_) == 1 and open_[0].id not in unseen:
        return open_[0]
    if not open_ or len(open_) == 1:
        return gov.refuse(
            session, actor, cmd, "There is no open incident; name one with #<id>.", now
        )
    gov.refuse(session, actor, cmd, _several(open_, secret), now)  # the audit log is public
    return Message.text_only(_several(open_, unseen), ok=False)


def _unseen(gov: Governance, session: Session, actor: Actor) -> set[str]:
    """Ids of the confidential incidents ``actor`` may not see: those naming or holding paused
    an undisclosed confidential proposal hidden from them (:func:`bot.rollouts.visible`),
    except the ones they declared, which they still manage (the replies leave out what is
    hidden: :func:`_listed`): an earlier version made an incident naming nothing confidential
    when it paused a rollout hidden from its declarer, and such records remain."""
    hidden = [n for n in hidden_numbers(session) if not _seen(gov, repo.load(session, n), actor)]
    secret = confidential_incidents(session, hidden) if hidden else set()
    return {i for i in secret if not _declared_by(session, i, actor)}


def _declared_by(session: Session, incident: str, actor: Actor) -> bool:
    found = incident_store.load_incident(session, int(incident))
    login = (actor.login or "").lower()
    return found is not None and bool(login) and found.declared_by.lower() == login


def _listed(gov: Governance, session: Session, numbers: Iterable[int], actor: Actor) -> str:
    """``numbers`` as a reply to ``actor`` says them ("#1, #3"): only those ``actor`` may see
    (:func:`bot.rollouts.visible`); a rollout hidden from them is left out entirely, not even
    counted, so a reply cannot be used to learn that one exists."""
    return ", ".join(f"#{n}" for n in numbers if _seen(gov, repo.load(session, n), actor))


def _several(open_: Iterable[Incident], confidential: Collection[str]) -> str:
    """The question which incident is meant, listing the open ones: a confidential one (its id
    in ``confidential``) only by its severity, as :func:`charter.gates.incident_reason` words
    it, so neither its id nor its summary is said."""
    listed = ", ".join(
        f"{CONFIDENTIAL_INCIDENT} ({i.severity})"
        if i.id in confidential
        else f"#{i.id} ({i.severity}: {i.summary})"
        for i in open_
    )
    return f"Several incidents are open ({listed}); say which with #<id>."


# -- incidents --------------------------------------------------------------------------------


def declare(
    gov: Governance, session: Session, cmd: c.IncidentDeclare, actor: Actor, now: datetime
) -> Message:
    charter, by = gov.charter, actor.name
    unknown = [n for n in cmd.proposals if not _seen(gov, repo.load(session, n), actor)]
    if unknown:
        missing = ", ".join(f"#{n}" for n in unknown)
        return gov.refuse(session, actor, cmd, f"There is no proposal {missing}.", now)
    try:  # validate before reserving a number, so a refusal leaves no row behind
        rules.declare(
            charter,
            id="0",
            severity=cmd.severity,
            summary=cmd.summary,
            by=by,
            now=now,
            clients=cmd.clients,
        )
    except ValueError as error:
        return gov.refuse(session, actor, cmd, str(error), now)
    number = incident_store.new_incident_id(session, cmd.severity, cmd.summary, by, now)
    active = store.rollouts(session, gov.charter, active_only=True)
    decision = rules.declare(
        charter,
        id=str(number),
        severity=cmd.severity,
        summary=cmd.summary,
        by=by,
        now=now,
        proposals=cmd.proposals,
        clients=cmd.clients,
        rollouts=active,
        embargoed=_embargoed(gov, session, active),
    )
    incident_store.save_incident(session, decision.incident)
    outcome = _effects(gov, session, decision.effects, actor, now)
    said = _hold_all(gov, session, decision, actor, now)
    return _reply(outcome, [f"Incident #{number} declared ({cmd.severity}).{said}"])


def _embargoed(
    gov: Governance, session: Session, active: Iterable[rollout_rules.Rollout]
) -> list[int]:
    """The active rollouts' proposals that are confidential and not disclosed yet."""
    return gov.undisclosed_secrets(session, [r.proposal for r in active])


def _hold_all(
    gov: Governance,
    session: Session,
    decision: rules.IncidentDecision,
    actor: Actor,
    now: datetime,
) -> str:
    """Pause what ``decision`` pauses, and hold what it holds quietly (embargoed rollouts it
    names by a client or by naming nothing: :func:`charter.incidents.quietly_held`) as
    :func:`hold_at_start` holds one starting under it, so the incident stays public;
    " Paused: #n, …." for the reply, naming only the rollouts ``actor`` may see
    (:func:`_listed`)."""
    incident = decision.incident
    reason = _pause_reason(gov, session, incident, decision.pause)
    paused = [n for n in decision.pause if _pause(gov, session, n, incident.id, reason, actor, now)]
    quiet = _pause_reason(gov, session, incident, [])  # as it reads after the pauses above
    held = [
        n
        for n in decision.hold
        if _pause(gov, session, n, incident.id, quiet, actor, now, at_start=True)
    ]
    listed = _listed(gov, session, sorted([*paused, *held]), actor)
    return f" Paused: {listed}." if listed else ""


def hold_at_start(
    gov: Governance, session: Session, rollout: rollout_rules.Rollout
) -> tuple[rollout_rules.Rollout, tuple[Effect, ...]]:
    """A rollout starting now, paused by each open incident that would have paused it had it
    been under way (:func:`charter.incidents.holding`), and the pauses' effects (audited and
    announced, worded as a declaration's pauses are: :func:`_pause_reason`). A hold placed so
    on a hidden rollout does not make the incident confidential: staff who work on a public
    incident keep seeing it, and nobody learns that an embargoed rollout just started."""
    open_ = incident_store.incidents(session, open_only=True)
    effects: list[Effect] = []
    for incident in rules.holding(gov.charter, open_, rollout.proposal, rollout.clients):
        # Such a hold leaves a public incident public (recorded at_start: it is under the
        # rollout's own subject, withheld while the rollout is), so it is worded as it is now.
        reason = _pause_reason(gov, session, incident, [])
        decision = rollout_rules.pause(rollout, incident.id, reason, gov.charter, at_start=True)
        rollout = decision.rollout
        effects.extend(decision.effects)
    return rollout, tuple(effects)


def _pause(
    gov: Governance,
    session: Session,
    n: int,
    incident: str,
    reason: str,
    actor: Actor,
    now: datetime,
    *,
    at_start: bool = False,
) -> bool:
    """Pause ``n``'s rollout for ``incident``; ``at_start``: recorded as a hold placed as it
    started (:func:`hold_at_start`), which leaves the incident public."""
    rollout = store.load_rollout(session, n, gov.charter, for_update=True)
    stored = repo.load(session, n)
    if rollout is None or stored is None or rollout.completed_at is not None:
        return False
    if any(key == incident for key, _ in rollout.pauses):
        return False  # already paused by this incident (raised, lowered, raised again)
    decision = rollout_rules.pause(rollout, incident, reason, gov.charter, at_start=at_start)
    save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    return True


def assign_role(
    gov: Governance, session: Session, cmd: c.IncidentRole, actor: Actor, now: datetime
) -> Message:
    incident = _pick(gov, session, cmd, cmd.incident, actor, now)
    if isinstance(incident, Message):
        return incident
    login = mentioned_login(session, cmd.user, actor)
    if login is None:
        why = unlinked_mention(
            "the role cannot be given to them", f"incident role {cmd.role} @their-login"
        )
        return gov.refuse(session, actor, cmd, why, now)
    try:
        decision = rules.assign_role(gov.charter, incident, cmd.role, login, actor.name, now)
    except ValueError as error:
        return gov.refuse(session, actor, cmd, str(error), now)
    return _finish(gov, session, cmd, decision, actor, now)


def update(
    gov: Governance, session: Session, cmd: c.IncidentUpdate, actor: Actor, now: datetime
) -> Message:
    incident = _pick(gov, session, cmd, cmd.incident, actor, now)
    if isinstance(incident, Message):
        return incident
    try:
        decision = rules.update(incident, cmd.text, actor.name, now)
    except ValueError as error:
        return gov.refuse(session, actor, cmd, str(error), now)
    return _finish(
        gov, session, cmd, decision, actor, now, done=f"Update added to incident #{incident.id}."
    )


def reclassify(
    gov: Governance, session: Session, cmd: c.IncidentSeverity, actor: Actor, now: datetime
) -> Message:
    incident = _pick(gov, session, cmd, cmd.incident, actor, now)
    if isinstance(incident, Message):
        return incident
    active = store.rollouts(session, gov.charter, active_only=True)
    try:
        decision = rules.reclassify(
            gov.charter,
            incident,
            cmd.severity,
            cmd.reason,
            actor.name,
            now,
            active,
            embargoed=_embargoed(gov, session, active),
        )
    except ValueError as error:
        return gov.refuse(session, actor, cmd, str(error), now)
    outcome = _record(gov, session, cmd, decision, actor, now)
    if isinstance(outcome, Message):
        return outcome
    reason = _pause_reason(gov, session, decision.incident, decision.pause)
    _reword(gov, session, incident.id, reason, actor, now)
    said = _hold_all(gov, session, decision, actor, now)
    return _reply(outcome, [f"Incident #{incident.id} is now {cmd.severity}.{said}"])


def add_scope(
    gov: Governance, session: Session, cmd: c.IncidentAdd, actor: Actor, now: datetime
) -> Message:
    """Name more proposals and clients in an open incident; pause what that newly names, as
    :func:`declare` does (a proposal hidden from the actor does not exist to them)."""
    unknown = [n for n in cmd.proposals if not _seen(gov, repo.load(session, n), actor)]
    if unknown:
        missing = ", ".join(f"#{n}" for n in unknown)
        return gov.refuse(session, actor, cmd, f"There is no proposal {missing}.", now)
    incident = _pick(gov, session, cmd, cmd.incident, actor, now)
    if isinstance(incident, Message):
        return incident
    active = store.rollouts(session, gov.charter, active_only=True)
    embargoed = gov.undisclosed_secrets(session, cmd.proposals)
    try:
        decision = scope_rules.add_scope(
            gov.charter,
            incident,
            by=actor.name,
            now=now,
            proposals=cmd.proposals,
            clients=cmd.clients,
            rollouts=active,
            embargoed=[*embargoed, *_embargoed(gov, session, active)],
            confidential=_secret(gov, session, incident),
        )
    except ValueError as error:
        return gov.refuse(session, actor, cmd, str(error), now)
    refused = next((e for e in decision.effects if isinstance(e, Reply) and not e.ok), None)
    if refused is not None and embargoed:
        return _refuse_about(gov, session, cmd, refused.text, embargoed, actor, now)
    outcome = _record(gov, session, cmd, decision, actor, now)
    if isinstance(outcome, Message):
        return outcome
    if decision.incident is incident:  # nothing new to name: the rule's reply says so
        return _reply(outcome)
    reason = _pause_reason(gov, session, decision.incident, decision.pause)
    _reword(gov, session, incident.id, reason, actor, now)  # its holds say what it is now
    said = _hold_all(gov, session, decision, actor, now)
    new_proposals = decision.incident.proposals[len(incident.proposals) :]
    seen = [n for n in new_proposals if _seen(gov, repo.load(session, n), actor)]
    scope = scope_rules.describe(seen, decision.incident.clients[len(incident.clients) :])
    done = f"Incident #{incident.id} now also concerns {scope}.{said}"
    return _reply(outcome, [done], first=True)


def _refuse_about(
    gov: Governance,
    session: Session,
    cmd: c.IncidentAdd,
    why: str,
    numbers: Iterable[int],
    actor: Actor,
    now: datetime,
) -> Message:
    """Refuse, auditing the refusal under the first of ``numbers`` (undisclosed confidential
    proposals) and naming them all, so the public log withholds it while they are hidden."""
    first, *_ = numbers = list(numbers)
    payload = {"command": type(cmd).__name__, "why": why, "surface": actor.surface}
    refusal = Audit("command-refused", f"proposal:{first}", payload | {"proposals": numbers})
    gov.effects(session, [refusal], actor, now)
    return Message.text_only(why, ok=False)


def _reword(
    gov: Governance, session: Session, incident: str, reason: str, actor: Actor, now: datetime
) -> None:
    """Give every hold of ``incident`` the reason it has now (:func:`_pause_reason`, worded
    for the new severity), so no pause line says the old one. Not announced: the severity
    change is, once, by the incident's own announcement."""
    for held in store.rollouts(session, gov.charter):
        if not any(key == incident and said != reason for key, said in held.pauses):
            continue
        rollout = store.load_rollout(session, held.proposal, gov.charter, for_update=True)
        stored = repo.load(session, held.proposal)
        assert rollout is not None
        assert stored is not None
        pauses = tuple((k, reason if k == incident else said) for k, said in rollout.pauses)
        after = replace(rollout, pauses=pauses)
        save(gov, session, stored, rollout, after, [SyncTracking(held.proposal)], actor, now)


def _record(
    gov: Governance,
    session: Session,
    cmd: object,
    decision: rules.IncidentDecision,
    actor: Actor,
    now: datetime,
) -> Outcome | Message:
    """Save the incident and carry out the decision, or refuse (the incident unchanged)."""
    refused = next((e.text for e in decision.effects if isinstance(e, Reply) and not e.ok), None)
    if refused is not None:
        return gov.refuse(session, actor, cmd, refused, now)
    effects = decision.effects
    if _secret(gov, session, decision.incident):
        effects = tuple(_private(e) for e in effects)
    incident_store.save_incident(session, decision.incident, review_due_at=decision.review_due_at)
    return _effects(gov, session, effects, actor, now)


def _secret(gov: Governance, session: Session, incident: Incident) -> bool:
    """Whether what is said about ``incident`` must stay private: it names, or holds paused, a
    confidential proposal that is not disclosed yet. (Its declaration is kept private by the
    service, which sees the proposals and pauses in the announcement's data.)"""
    held = [  # every rollout, completed or rolled back too: it was paused for this incident
        r.proposal
        for r in store.rollouts(session, gov.charter)
        if any(key == incident.id for key, _ in r.pauses)
    ]
    started = started_holds(session, held)  # held as they started: these do not count
    held = [n for n in held if (incident.id, n) not in started]
    return bool(gov.undisclosed_secrets(session, [*incident.proposals, *held]))


def _pause_reason(
    gov: Governance, session: Session, incident: Incident, pausing: Iterable[int]
) -> str:
    """Why a rollout is paused, as its announcement and pages say: the incident's number,
    severity and summary; only "a confidential incident" while the incident names or pauses an
    undisclosed confidential proposal, since a public rollout's pause is announced publicly."""
    named = [*incident.proposals, *pausing]
    if _secret(gov, session, incident) or gov.undisclosed_secrets(session, named):
        return f"a confidential incident ({incident.severity})"
    return f"incident {incident.id} ({incident.severity}): {incident.summary}"


def _finish(
    gov: Governance,
    session: Session,
    cmd: object,
    decision: rules.IncidentDecision,
    actor: Actor,
    now: datetime,
    *,
    done: str = "",
) -> Message:
    outcome = _record(gov, session, cmd, decision, actor, now)
    return outcome if isinstance(outcome, Message) else _reply(outcome, [done] if done else [])


def resolve(
    gov: Governance, session: Session, cmd: c.IncidentResolve, actor: Actor, now: datetime
) -> Message:
    incident = _pick(gov, session, cmd, cmd.incident, actor, now)
    if isinstance(incident, Message):
        return incident
    held = [
        r
        for r in store.rollouts(session, gov.charter)
        if any(k == incident.id for k, _ in r.pauses)
    ]
    subjects = [
        f"incident:{incident.id}",
        *(f"rollout:{n}" for n in _told(gov, session, incident, held)),
    ]
    lines = store.audit_lines(session, subjects)
    decision = rules.resolve(gov.charter, incident, cmd.text or "resolved", actor.name, now, lines)
    outcome = _record(gov, session, cmd, decision, actor, now)
    if isinstance(outcome, Message):
        return outcome
    review = []
    if decision.review_due_at is not None:
        secret = _secret(gov, session, incident)
        review = _schedule_review(gov, session, decision, actor, now, secret=secret)
    said = [f"Incident #{incident.id} resolved."]
    for r in held:
        resumed = _resume(gov, session, r.proposal, incident.id, actor, now)
        if _seen(gov, repo.load(session, r.proposal), actor):  # a hidden one is left unsaid
            said.append(resumed)
    return _reply(outcome, [*said, *review])


def _told(
    gov: Governance, session: Session, incident: Incident, held: Iterable[rollout_rules.Rollout]
) -> list[int]:
    """The rollouts held by ``incident`` whose audit entries its review draft lists: all for a
    confidential incident (its draft is private); for a public one, not those of undisclosed
    confidential proposals (held as they started, by a client or by naming nothing: the
    public draft would tie
    the incident to the embargo)."""
    numbers = [r.proposal for r in held]
    if _secret(gov, session, incident):
        return numbers
    hidden = set(gov.undisclosed_secrets(session, numbers))
    return [n for n in numbers if n not in hidden]


def _private(effect: IncidentEffect) -> IncidentEffect:
    return replace(effect, confidential=True) if isinstance(effect, Announce) else effect


def _schedule_review(
    gov: Governance,
    session: Session,
    decision: rules.IncidentDecision,
    actor: Actor,
    now: datetime,
    *,
    secret: bool,
) -> list[str]:
    """Draft the review and store its call (private for a confidential incident:
    :func:`bot.meetings_timers.schedule_incident_review`); the reply's line saying when, for
    an ``actor`` who may see that call (:func:`bot.meetings_lookup.may_see`)."""
    due = decision.review_due_at
    assert due is not None
    drafted = _draft_review(gov, session, decision, now, secret=secret)
    row = timers.schedule_incident_review(
        gov, session, decision.incident, due, now, drafted=drafted, private=secret
    )
    if row is None or not may_see(session, gov, timers.adhoc_call(row), actor):
        return []
    return [f"Its post-incident review call ({row.id}) is at {row.starts_at:%Y-%m-%d %H:%M} UTC."]


def _draft_review(
    gov: Governance,
    session: Session,
    decision: rules.IncidentDecision,
    now: datetime,
    *,
    secret: bool = False,
) -> str:
    """Draft the review as a public GitHub issue; for an incident about a confidential,
    undisclosed proposal, send the draft to private channels instead (a public issue would
    disclose it). Returns the line saying where the draft is, for the review call's agenda:
    a link that finds the issue by its label and title (its number is known only once the
    relay has created it)."""
    i, due = decision.incident, decision.review_due_at
    assert due is not None
    key = f"incident-review:{i.id}"
    body = f"**Review due:** {due:%Y-%m-%d %H:%M} UTC\n\n{decision.review_body}"
    title = f"Post-incident review: incident {i.id} ({i.severity}) — due {due:%Y-%m-%d}"
    if secret:
        draft = Announce(
            kind="incident", title=title, text=body, confidential=True, data={"incident": i.id}
        )
        gov.effects(session, [draft], "charterbot", now)
        return f"Review draft: “{title}”, sent to the private channels on {now:%Y-%m-%d}."
    payload = {"title": title, "body": body, "labels": [REVIEW_LABEL], "key": key}
    outbox.enqueue(
        session, kind="create-issue", payload=payload, now=now, key=f"create-issue:{key}"
    )
    search = quote_plus(f'is:issue label:{REVIEW_LABEL} in:title "{title}"')
    found = f"https://github.com/{gov.charter.github.repository}/issues?q={search}"
    return f"Review draft: the issue “{title}”, {found}"


def _resume(
    gov: Governance, session: Session, n: int, incident: str, actor: Actor, now: datetime
) -> str:
    rollout = store.load_rollout(session, n, gov.charter, for_update=True)
    stored = repo.load(session, n)
    assert rollout is not None
    assert stored is not None
    decision = rollout_rules.resume(
        rollout,
        gov.charter,
        actor.name,
        incident_id=incident,
        now=now,
        minimums=form_minimums(stored.proposal.fields),
        ended=stored.proposal.state.value in store.ENDED_STATES,
    )
    outcome = save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    return "\n".join(r.text for r in outcome.replies)


# -- kill switches ----------------------------------------------------------------------------


def flag(gov: Governance, session: Session, cmd: c.Flag, actor: Actor, now: datetime) -> Message:
    rows = store.flags(session, name=cmd.name)
    if not rows:
        known = sorted({r.name for r in store.flags(session)})
        listed = ", ".join(known) if known else "none yet"
        why = f"No accepted proposal registers a feature flag {cmd.name} (registered: {listed})."
        return gov.refuse(session, actor, cmd, why, now)
    reason = cmd.reason.strip()
    if not reason:
        return gov.refuse(
            session, actor, cmd, f"Switching {cmd.name} {cmd.state} needs a written reason.", now
        )
    for row in rows:
        store.switch_flag(session, row, cmd.state, by=actor.name, reason=reason, at=now)
    clients = tuple(dict.fromkeys(r.client for r in rows))
    proposals = sorted({r.proposal for r in rows})
    secret = any(
        (r := store.load_rollout(session, n, gov.charter)) is not None and r.confidential
        for n in proposals
    )
    where = ", ".join(clients)
    of = ", ".join(f"#{n}" for n in proposals)
    if cmd.state == "off":
        title = f"KILL SWITCH: turn feature flag {cmd.name} OFF"
        text = (
            f"Operators of {where}: turn feature flag {cmd.name} off on every node now "
            f"(proposal {of}).\nReason: {reason}\nSwitched by {actor.name}."
        )
    else:
        title = f"Feature flag {cmd.name} may be turned back on"
        text = (
            f"Operators of {where} may turn feature flag {cmd.name} on again "
            f"(proposal {of}).\nReason: {reason}\nBy {actor.name}."
        )
    payload = {
        "state": cmd.state,
        "reason": reason,
        "proposals": proposals,
        "clients": list(clients),
        "by": actor.name,
    }
    effects: list[Effect] = [
        Audit("flag-switched", f"flag:{cmd.name}", payload),
        Announce(
            kind="rollout",
            title=title,
            text=text,
            proposal=proposals[0] if len(proposals) == 1 else None,
            clients=clients,
            confidential=secret,
            data={"flag": cmd.name, "state": cmd.state, "proposals": proposals},
        ),
    ]
    gov.effects(session, effects, actor, now)
    return Message.text_only(
        f"Feature flag {cmd.name} is {cmd.state} for {where}; operators were told."
    )
