"""Widening an open incident's scope (``incident add``), as a pure decision.

Rules:
- Only an open incident's scope grows; adding to a resolved one is refused
  (``Reply(ok=False)``) and the incident is unchanged.
- A client must be one of the charter's (``ValueError`` listing their ids, as at declaration);
  adding nothing at all is a ``ValueError`` too.
- What the incident names already is not added again. When nothing is new, the reply says so
  and nothing else happens (nothing recorded, audited or announced): it is not an error.
- An incident that names nothing concerns everything (:func:`charter.incidents.names`); naming
  something would narrow it, so nothing is added and the reply says it concerns all already.
- At ``rollout.pause_on_incident`` or worse, adding pauses at once every active rollout the
  incident names now and did not name before, as declaring it so would have (``pause``). A
  rollout it named before is never paused anew: one it does not hold had its hold lifted on
  purpose (``rollout resume --override``). Its holds are lifted when it is resolved, the new
  ones with the old.
- The addition is a timeline entry (kind ``scope``, so the post-incident review shows it),
  audited as ``incident-scope-added`` and announced like the incident's other news, and each
  newly named proposal's tracking message is synced (its gates now see the incident).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from charter.effects import Audit, Reply, SyncTracking
from charter.incidents import (
    Incident,
    IncidentDecision,
    IncidentEffect,
    TimelineEntry,
    announce,
    check_clients,
    names,
    refuse_if_resolved,
    subject,
)
from charter.model import Charter
from charter.rollout_facts import Rollout


def add_scope(
    charter: Charter,
    incident: Incident,
    *,
    by: str,
    now: datetime,
    proposals: Sequence[int] = (),
    clients: Sequence[str] = (),
    rollouts: Sequence[Rollout] = (),
) -> IncidentDecision:
    """Name ``proposals`` and ``clients`` too; pause what that newly names (``rollouts``: the
    active rollouts, as for :func:`charter.incidents.declare`)."""
    if not proposals and not clients:
        raise ValueError("name the proposals or clients to add to the incident")
    check_clients(charter, clients)
    refusal = refuse_if_resolved(incident)
    if refusal is not None:
        return refusal
    if not incident.proposals and not incident.clients:
        text = f"incident {incident.id} names nothing, so it concerns everything already"
        return IncidentDecision(incident, (Reply(f"{text}; nothing added"),))
    new_proposals = tuple(p for p in dict.fromkeys(proposals) if p not in incident.proposals)
    new_clients = tuple(c for c in dict.fromkeys(clients) if c not in incident.clients)
    already = _scope(
        [p for p in dict.fromkeys(proposals) if p in incident.proposals],
        [c for c in dict.fromkeys(clients) if c in incident.clients],
    )
    if not new_proposals and not new_clients:
        return IncidentDecision(
            incident, (Reply(f"incident {incident.id} already names {already}; nothing added"),)
        )
    added = _scope(new_proposals, new_clients)
    entry = TimelineEntry(now, by, f"scope added: {added}", "scope")
    widened = replace(
        incident,
        proposals=(*incident.proposals, *new_proposals),
        clients=(*incident.clients, *new_clients),
        timeline=(*incident.timeline, entry),
    )
    pause = _newly_held(charter, incident, widened, rollouts)
    paused = f" Rollouts paused: {', '.join(f'#{p}' for p in pause)}." if pause else ""
    payload = {"proposals": list(new_proposals), "clients": list(new_clients), "pause": list(pause)}
    effects: tuple[IncidentEffect, ...] = (
        Audit("incident-scope-added", subject(incident), payload),
        announce(
            widened,
            f"Incident {incident.id} ({incident.severity}) now also concerns {added}",
            f"{incident.summary}\nConcerns: {_scope(widened.proposals, widened.clients)}."
            f" Added by {by}.{paused}",
            pause,
        ),
        *(SyncTracking(p) for p in new_proposals),
        *((Reply(f"Already named: {already}."),) if already else ()),
    )
    return IncidentDecision(widened, effects, pause=pause)


def _newly_held(
    charter: Charter, before: Incident, after: Incident, rollouts: Sequence[Rollout]
) -> tuple[int, ...]:
    """The active rollouts (by proposal) ``after`` names and ``before`` did not, when the
    incident is at ``pause_on_incident`` or worse; none it holds already."""
    threshold = charter.rollout.pause_on_incident
    if threshold is None or not charter.incidents.at_least(after.severity, threshold):
        return ()
    return tuple(
        sorted(
            r.proposal
            for r in rollouts
            if r.completed_at is None
            and all(k != after.id for k, _ in r.pauses)
            and names(after, r.proposal, r.clients)
            and not names(before, r.proposal, r.clients)
        )
    )


def _scope(proposals: Sequence[int], clients: Sequence[str]) -> str:
    return ", ".join([*(f"#{p}" for p in proposals), *clients])
