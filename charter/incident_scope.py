"""Widening an open incident's scope (``incident add``), as a pure decision.

Rules:
- Only an open incident's scope grows; adding to a resolved one is refused
  (``Reply(ok=False)``) and the incident is unchanged.
- A client must be one of the charter's (``ValueError`` listing their ids, as at declaration);
  adding nothing at all is a ``ValueError`` too.
- What the incident names already is not added again. When nothing is new, the reply says so
  and nothing else happens (nothing recorded, audited or announced): it is not an error.
  Replies say "Incident #<id>" and "proposal #<n>"/"client <c>" (:func:`describe`), as the
  other incident replies do, so an incident's number never reads as a proposal's.
- An incident that names nothing concerns everything (:func:`charter.incident_facts.names`); naming
  something would narrow it, so nothing is added and the reply says it concerns all already.
- A public incident stays public (as when an embargoed rollout starts under it): naming in it
  an undisclosed confidential proposal (``embargoed``) is refused (``Reply(ok=False)``, nothing
  added), since the incident would turn confidential midway — its page entry and later news,
  its resolution too, would vanish from the public while its earlier public entries still name
  it, tying it to the new embargo. The reply says what to do instead: declare a separate
  confidential incident for that proposal (the exact command), or disclose it first. An incident
  that is confidential already (``confidential``) may name more of them.
- At ``rollout.pause_on_incident`` or worse, adding pauses at once every active rollout the
  incident names now and did not name before, as declaring it so would have (``pause``). A
  rollout it named before is never paused anew: one it does not hold had its hold lifted on
  purpose (``rollout resume --override``). Its holds are lifted when it is resolved, the new
  ones with the old.
- Adding a client to a public incident keeps it public too: an embargoed rollout of that client
  (in ``embargoed``, not named by number) is held all the same (``hold``), as one starting
  under the incident would be, but the addition's news and audit entry neither name nor count
  it (:func:`charter.incident_holds.quietly_held`).
- The addition is a timeline entry (kind ``scope``, so the post-incident review shows it),
  audited as ``incident-scope-added`` and announced like the incident's other news, and each
  newly named proposal's tracking message is synced (its gates now see the incident).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from charter.effects import Audit, Reply, SyncTracking
from charter.incident_facts import (
    Incident,
    IncidentDecision,
    IncidentEffect,
    TimelineEntry,
    names,
    subject,
)
from charter.incident_holds import split_held
from charter.incidents import announce, check_clients, refuse_if_resolved
from charter.model import Charter
from charter.rollout_facts import Rollout
from charter.text import join_and


def add_scope(
    charter: Charter,
    incident: Incident,
    *,
    by: str,
    now: datetime,
    proposals: Sequence[int] = (),
    clients: Sequence[str] = (),
    rollouts: Sequence[Rollout] = (),
    embargoed: Collection[int] = (),
    confidential: bool = False,
) -> IncidentDecision:
    """Name ``proposals`` and ``clients`` too; pause what that newly names (``rollouts``: the
    active rollouts, as for :func:`charter.incidents.declare`). ``embargoed``: the confidential
    proposals not disclosed yet (among ``proposals`` and ``rollouts``); ``confidential``:
    whether the incident is confidential already (it names or holds one of those)."""
    if not proposals and not clients:
        raise ValueError("name the proposals or clients to add to the incident")
    check_clients(charter, clients)
    refusal = refuse_if_resolved(incident)
    if refusal is not None:
        return refusal
    if not incident.proposals and not incident.clients:
        text = f"Incident #{incident.id} names nothing, so it concerns everything already"
        return IncidentDecision(incident, (Reply(f"{text}; nothing added."),))
    new_proposals = tuple(p for p in dict.fromkeys(proposals) if p not in incident.proposals)
    new_clients = tuple(c for c in dict.fromkeys(clients) if c not in incident.clients)
    secret = [p for p in new_proposals if p in embargoed]
    if secret and not confidential:
        return IncidentDecision(incident, (Reply(_stays_public(incident, secret), ok=False),))
    already = describe(
        [p for p in dict.fromkeys(proposals) if p in incident.proposals],
        [c for c in dict.fromkeys(clients) if c in incident.clients],
    )
    if not new_proposals and not new_clients:
        return IncidentDecision(
            incident, (Reply(f"Incident #{incident.id} already names {already}; nothing added."),)
        )
    widened = _widened(incident, new_proposals, new_clients, by, now)
    newly = _newly_held(charter, incident, widened, rollouts)
    pause, hold = split_held(widened, newly, rollouts, embargoed)
    payload = {"proposals": list(new_proposals), "clients": list(new_clients), "pause": list(pause)}
    effects: tuple[IncidentEffect, ...] = (
        Audit("incident-scope-added", subject(incident), payload),
        _announced(incident, widened, _scope(new_proposals, new_clients), by, pause),
        *(SyncTracking(p) for p in new_proposals),
        *((Reply(f"Incident #{incident.id} already names {already}."),) if already else ()),
    )
    return IncidentDecision(widened, effects, pause=pause, hold=hold)


def _widened(
    incident: Incident,
    proposals: Sequence[int],
    clients: Sequence[str],
    by: str,
    now: datetime,
) -> Incident:
    """``incident`` naming ``proposals`` and ``clients`` too, with its ``scope`` timeline
    entry."""
    entry = TimelineEntry(now, by, f"scope added: {_scope(proposals, clients)}", "scope")
    return replace(
        incident,
        proposals=(*incident.proposals, *proposals),
        clients=(*incident.clients, *clients),
        timeline=(*incident.timeline, entry),
    )


def _announced(
    before: Incident, after: Incident, added: str, by: str, pause: Sequence[int]
) -> IncidentEffect:
    """The news of the addition, as the incident's other news: what it concerns now, who
    added it, and the rollouts it paused."""
    paused = f" Rollouts paused: {', '.join(f'#{p}' for p in pause)}." if pause else ""
    return announce(
        after,
        f"Incident {before.id} ({before.severity}) now also concerns {added}",
        f"{before.summary}\nConcerns: {_scope(after.proposals, after.clients)}."
        f" Added by {by}.{paused}",
        pause,
    )


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


def describe(proposals: Sequence[int], clients: Sequence[str]) -> str:
    """What a reply says an incident names: "proposal #3 and client aurora", "proposals #1 and
    #2 and clients aurora and borealis" ("" for nothing)."""
    parts = []
    if proposals:
        parts.append(
            f"proposal{'s' if len(proposals) > 1 else ''} " + join_and([f"#{p}" for p in proposals])
        )
    if clients:
        parts.append(f"client{'s' if len(clients) > 1 else ''} " + join_and(list(clients)))
    return " and ".join(parts)


def _stays_public(incident: Incident, secret: Sequence[int]) -> str:
    """The refusal to name undisclosed confidential proposals in a public incident, saying what
    to do instead."""
    verb, it = ("are", "them") if len(secret) > 1 else ("is", "it")
    numbers = ",".join(str(p) for p in secret)
    disclose = join_and([f"/charter disclose {p}" for p in secret])
    return (
        f"Incident #{incident.id} is public and {describe(secret, ())} {verb} confidential and"
        f" not disclosed yet; naming {it} would hide the incident from the public from now on,"
        f" so nothing was added. Declare a separate confidential incident for {it} instead:"
        f' /charter incident declare <sev> "<summary>" for {numbers} — or disclose {it} first'
        f" ({disclose}), then add {it}."
    )
