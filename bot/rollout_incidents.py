"""The incident commands wired into the service: declaring an incident, its roles, updates,
severity and scope (part of the rollout area; see :mod:`bot.rollouts`). ``install_on``
registers these and the rest of the incident area: resolving
(:mod:`bot.rollout_incident_resolution`) and kill switches (:mod:`bot.rollout_kill_switches`).
What they share: picking the incident and recording the decision
(:mod:`bot.rollout_incident_steps`), what stays private (:mod:`bot.rollout_incident_secrecy`),
the holds on rollouts (:mod:`bot.rollout_incident_holds`).

Rules:
- Declaring an incident at ``rollout.pause_on_incident`` or worse pauses, in the same
  transaction, every active rollout it names (or every one, when it names nothing); each pause
  is announced with the matrix. Raising an incident's severity to it pauses the same way.
- ``incident declare ... for <n>`` names only proposals the declarer may see: a confidential
  rollout hidden from them (:func:`bot.rollout_steps.visible`) is answered as a proposal that does
  not exist, so the command can neither confirm nor pause it.
- The assignee of an incident role gets the role's instructions privately (a
  ``direct-message`` outbox item: :func:`bot.rollout_incident_steps.carry_out`). A role holder
  is a GitHub login; a chat mention (``<@U0BOB>``) is read as the login its user linked on the
  surface the command came from, and refused when there is none.
- ``incident add [#<id>] [for <n>…] [clients <c> …]`` widens an open incident's scope
  (:mod:`charter.incident_scope`): it picks the incident as ``incident update`` does, answers a
  proposal hidden from the actor as one that does not exist (as declaring does), and pauses the
  newly named rollouts at once, worded as the declaration's pauses. A public incident stays
  public, as when an embargoed rollout starts under it: naming an undisclosed confidential
  proposal in it is refused, and the reply says to declare a separate confidential incident
  for that proposal (the exact command) or to disclose it first; the refusal is audited under
  that proposal (``proposal:<n>``, withheld from the public while it is), so the public log
  does not tie the incident to the embargo. An incident that is confidential already (it
  names or holds one: :func:`bot.rollout_incident_secrecy.kept_private`) may name more of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.announcements import undisclosed_secrets
from bot.identity import mentioned_login, unlinked_mention
from bot.messages import Actor, Message
from bot.rollout_incident_holds import hold_all, pause_reason, reword
from bot.rollout_incident_resolution import resolve
from bot.rollout_incident_secrecy import embargoed_active, kept_private, seen
from bot.rollout_incident_steps import carry_out, pick, record, reply
from bot.rollout_kill_switches import flag
from charter import commands as c, incident_facts, incident_scope as scope_rules, incidents as rules
from charter.effects import Audit, Reply
from storage import incidents as incident_store, proposals as repo, rollouts as store

if TYPE_CHECKING:
    from bot.service import Governance


def install_on(gov: Governance) -> None:
    gov.register(c.IncidentDeclare, declare)
    gov.register(c.IncidentRole, assign_role)
    gov.register(c.IncidentUpdate, update)
    gov.register(c.IncidentSeverity, reclassify)
    gov.register(c.IncidentResolve, resolve)
    gov.register(c.IncidentAdd, add_scope)
    gov.register(c.Flag, flag)


def declare(
    gov: Governance, session: Session, cmd: c.IncidentDeclare, actor: Actor, now: datetime
) -> Message:
    charter, by = gov.charter, actor.name
    unknown = [n for n in cmd.proposals if not seen(gov, repo.load(session, n), actor)]
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
        embargoed=embargoed_active(gov, session, active),
    )
    incident_store.save_incident(session, decision.incident)
    outcome = carry_out(gov, session, decision.effects, actor, now)
    said = hold_all(gov, session, decision, actor, now)
    return reply(outcome, [f"Incident #{number} declared ({cmd.severity}).{said}"])


def assign_role(
    gov: Governance, session: Session, cmd: c.IncidentRole, actor: Actor, now: datetime
) -> Message:
    incident = pick(gov, session, cmd, cmd.incident, actor, now)
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
    incident = pick(gov, session, cmd, cmd.incident, actor, now)
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
    incident = pick(gov, session, cmd, cmd.incident, actor, now)
    if isinstance(incident, Message):
        return incident
    active = store.rollouts(session, gov.charter, active_only=True)
    embargoed = embargoed_active(gov, session, active)  # read first: its errors are no refusal
    try:
        decision = rules.reclassify(
            gov.charter,
            incident,
            cmd.severity,
            cmd.reason,
            actor.name,
            now,
            active,
            embargoed=embargoed,
        )
    except ValueError as error:
        return gov.refuse(session, actor, cmd, str(error), now)
    outcome = record(gov, session, cmd, decision, actor, now)
    if isinstance(outcome, Message):
        return outcome
    reason = pause_reason(gov, session, decision.incident, decision.pause)
    reword(gov, session, incident.id, reason, actor, now)
    said = hold_all(gov, session, decision, actor, now)
    return reply(outcome, [f"Incident #{incident.id} is now {cmd.severity}.{said}"])


def add_scope(
    gov: Governance, session: Session, cmd: c.IncidentAdd, actor: Actor, now: datetime
) -> Message:
    """Name more proposals and clients in an open incident; pause what that newly names, as
    :func:`declare` does (a proposal hidden from the actor does not exist to them)."""
    unknown = [n for n in cmd.proposals if not seen(gov, repo.load(session, n), actor)]
    if unknown:
        missing = ", ".join(f"#{n}" for n in unknown)
        return gov.refuse(session, actor, cmd, f"There is no proposal {missing}.", now)
    incident = pick(gov, session, cmd, cmd.incident, actor, now)
    if isinstance(incident, Message):
        return incident
    active = store.rollouts(session, gov.charter, active_only=True)
    embargoed = undisclosed_secrets(gov, session, cmd.proposals)
    # Read before the rule: a stored row that does not parse is an error, not a refusal.
    held = [*embargoed, *embargoed_active(gov, session, active)]
    private = kept_private(gov, session, incident)
    try:
        decision = scope_rules.add_scope(
            gov.charter,
            incident,
            by=actor.name,
            now=now,
            proposals=cmd.proposals,
            clients=cmd.clients,
            rollouts=active,
            embargoed=held,
            confidential=private,
        )
    except ValueError as error:
        return gov.refuse(session, actor, cmd, str(error), now)
    refused = next((e for e in decision.effects if isinstance(e, Reply) and not e.ok), None)
    if refused is not None and embargoed:
        return _refuse_about(gov, session, cmd, refused.text, embargoed, actor, now)
    outcome = record(gov, session, cmd, decision, actor, now)
    if isinstance(outcome, Message):
        return outcome
    if decision.incident is incident:  # nothing new to name: the rule's reply says so
        return reply(outcome)
    reason = pause_reason(gov, session, decision.incident, decision.pause)
    reword(gov, session, incident.id, reason, actor, now)  # its holds say what it is now
    said = hold_all(gov, session, decision, actor, now)
    new_proposals = decision.incident.proposals[len(incident.proposals) :]
    shown = [n for n in new_proposals if seen(gov, repo.load(session, n), actor)]
    scope = scope_rules.describe(shown, decision.incident.clients[len(incident.clients) :])
    done = f"Incident #{incident.id} now also concerns {scope}.{said}"
    return reply(outcome, [done], first=True)


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


def _finish(
    gov: Governance,
    session: Session,
    cmd: object,
    decision: incident_facts.IncidentDecision,
    actor: Actor,
    now: datetime,
    *,
    done: str = "",
) -> Message:
    outcome = record(gov, session, cmd, decision, actor, now)
    return outcome if isinstance(outcome, Message) else reply(outcome, [done] if done else [])
