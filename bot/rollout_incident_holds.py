"""Incidents holding rollouts: pausing what an incident names, holding a rollout that starts
under one, and wording every hold (part of the rollout area's incidents; see
:mod:`bot.rollout_incidents`).

Rules:
- A rollout's hold by an incident is worded as :func:`pause_reason` says: the incident's id,
  severity and summary (or "a confidential incident (<severity>)"); when the incident's
  severity or scope changes, every hold of it is worded anew (:func:`reword`), so a pause line
  never shows an old one.
- A rollout that starts while an open incident at ``pause_on_incident`` or worse names it starts
  paused by it (:func:`hold_at_start`; :func:`charter.incident_holds.holding`).
- A public incident stays public when it pauses, by naming its client or by naming nothing
  (declared, added with ``incident add … clients``, or raised to ``pause_on_incident``), an
  embargoed rollout it does not name by number (:func:`charter.incident_holds.quietly_held`; a
  network-wide sev1 stays on the public page): that rollout is held as one starting under the
  incident is (:func:`hold_all`: worded as :func:`hold_at_start` words it, recorded
  ``at_start`` under the rollout's own subject, withheld from the public while the proposal
  is, announced only where it may be seen), the incident's news and audit entries neither name
  nor count it, and resolving lifts the hold. Only naming the proposal by number (its
  declarer's choice, refused by ``incident add`` on a public incident) makes an incident
  confidential.
- The reply names only the paused rollouts its reader may see
  (:func:`bot.rollout_incident_secrecy.listed`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.announcements import undisclosed_secrets
from bot.messages import Actor
from bot.rollout_incident_secrecy import kept_private, listed
from bot.rollout_steps import save
from charter import incident_facts, incident_holds, rollout as rollout_rules
from charter.effects import Effect, SyncTracking
from charter.incident_facts import Incident
from storage import incidents as incident_store, proposals as repo, rollouts as store

if TYPE_CHECKING:
    from bot.service import Governance


def pause_reason(
    gov: Governance, session: Session, incident: Incident, pausing: Iterable[int]
) -> str:
    """Why a rollout is paused, as its announcement and pages say: the incident's number,
    severity and summary; only "a confidential incident" while the incident names or pauses an
    undisclosed confidential proposal, since a public rollout's pause is announced publicly."""
    named = [*incident.proposals, *pausing]
    if kept_private(gov, session, incident) or undisclosed_secrets(gov, session, named):
        return f"a confidential incident ({incident.severity})"
    return f"incident {incident.id} ({incident.severity}): {incident.summary}"


def hold_all(
    gov: Governance,
    session: Session,
    decision: incident_facts.IncidentDecision,
    actor: Actor,
    now: datetime,
) -> str:
    """Pause what ``decision`` pauses, and hold what it holds quietly (embargoed rollouts it
    names by a client or by naming nothing: :func:`charter.incident_holds.quietly_held`) as
    :func:`hold_at_start` holds one starting under it, so the incident stays public;
    " Paused: #n, …." for the reply, naming only the rollouts ``actor`` may see
    (:func:`bot.rollout_incident_secrecy.listed`)."""
    incident = decision.incident
    reason = pause_reason(gov, session, incident, decision.pause)
    paused = [
        n for n in decision.pause if pause_for(gov, session, n, incident.id, reason, actor, now)
    ]
    quiet = pause_reason(gov, session, incident, [])  # as it reads after the pauses above
    held = [
        n
        for n in decision.hold
        if pause_for(gov, session, n, incident.id, quiet, actor, now, at_start=True)
    ]
    names = listed(gov, session, sorted([*paused, *held]), actor)
    return f" Paused: {names}." if names else ""


def hold_at_start(
    gov: Governance, session: Session, rollout: rollout_rules.Rollout
) -> tuple[rollout_rules.Rollout, tuple[Effect, ...]]:
    """A rollout starting now, paused by each open incident that would have paused it had it
    been under way (:func:`charter.incident_holds.holding`), and the pauses' effects (audited and
    announced, worded as a declaration's pauses are: :func:`pause_reason`). A hold placed so
    on a hidden rollout does not make the incident confidential: staff who work on a public
    incident keep seeing it, and nobody learns that an embargoed rollout just started."""
    open_ = incident_store.incidents(session, open_only=True)
    effects: list[Effect] = []
    for incident in incident_holds.holding(gov.charter, open_, rollout.proposal, rollout.clients):
        # Such a hold leaves a public incident public (recorded at_start: it is under the
        # rollout's own subject, withheld while the rollout is), so it is worded as it is now.
        reason = pause_reason(gov, session, incident, [])
        decision = rollout_rules.pause(rollout, incident.id, reason, gov.charter, at_start=True)
        rollout = decision.rollout
        effects.extend(decision.effects)
    return rollout, tuple(effects)


def pause_for(
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


def reword(
    gov: Governance, session: Session, incident: str, reason: str, actor: Actor, now: datetime
) -> None:
    """Give every hold of ``incident`` the reason it has now (:func:`pause_reason`, worded
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
