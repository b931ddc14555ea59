"""Incidents: declare, staff, narrate and resolve, as pure decisions.

Rules (charter ``incidents`` and ``rollout.pause_on_incident``; the facts:
:mod:`charter.incident_facts`):
- Severity is one of ``incidents.severities``; the first is the worst.
- An incident that names nothing concerns everything: it blocks and pauses every rollout.
- Declaring an incident at ``pause_on_incident`` or worse pauses, at once, every active rollout
  it names (``rollouts``: those still under way); the decision lists those proposal numbers in
  ``pause``. A named proposal without an active rollout (not accepted yet, completed, rolled
  back for good) stays named for the record, but there is nothing of it to pause.
- A public incident stays public when it concerns an active embargoed rollout (``embargoed``:
  of a confidential proposal not disclosed yet) that it does not name by number: one naming
  that rollout's client, or naming nothing (it concerns everything, e.g. a network-wide fork).
  That rollout is held all the same (``hold``), as one starting under the incident would be
  (:func:`charter.incident_holds.holding`), but the incident's news and audit entries neither
  name nor count it (it is not in ``pause``). Only one naming the proposal by number pauses it
  as any other (and is confidential: see the service); naming it is its declarer's own choice.
- Roles are ``incidents.roles``; the assignee gets their instructions privately.
- An open incident's severity can change (:func:`reclassify`). Raised to ``pause_on_incident``
  or worse from below it, it pauses what it names, as declaring at that severity would have.
  Lowered, it leaves paused rollouts paused: they resume when the incident is resolved.
- An open incident's scope can grow (:mod:`charter.incident_scope`): more proposals and
  clients, the newly named rollouts paused as declaring would have paused them. A public
  incident stays public: an undisclosed confidential proposal is not added to it (it gets a
  confidential incident of its own), as a public incident stays public when an embargoed
  rollout starts under it.
- Resolving schedules a post-incident review ``review_within`` after resolution and drafts its
  issue body (:mod:`charter.incident_reviews`).
- Input that can never be right (an unknown severity or role, an empty text) raises
  ``ValueError``; a request wrong only now (the incident is already resolved) is refused with
  ``Reply(ok=False)`` and the incident unchanged.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from charter.effects import Announce, Audit, Reply
from charter.incident_facts import (
    DirectMessage,
    Incident,
    IncidentDecision,
    IncidentEffect,
    TimelineEntry,
    is_open,
    names,
    subject,
)
from charter.incident_holds import split_held
from charter.incident_reviews import review_issue_body
from charter.model import Charter
from charter.rollout_facts import Rollout


def _text(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value.strip()


def announce(incident: Incident, title: str, text: str, paused: Sequence[int] = ()) -> Announce:
    """An incident announcement; its data lists the proposals it names and the rollouts it
    paused (the service keeps it private while any of them is confidential and undisclosed)."""
    data: dict[str, object] = {"incident": incident.id, "proposals": list(incident.proposals)}
    if paused:
        data["paused"] = list(paused)
    return Announce(
        kind="incident",
        title=title,
        text=text,
        clients=incident.clients,
        severity=incident.severity,
        data=data,
    )


def check_clients(charter: Charter, clients: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the charter's client ids when any of ``clients`` is none."""
    unknown = [c for c in clients if charter.client(c) is None]
    if unknown:
        raise ValueError(
            f"unknown client(s) {', '.join(unknown)}; use {', '.join(charter.client_ids)}"
        )


def declare(
    charter: Charter,
    *,
    id: str,
    severity: str,
    summary: str,
    by: str,
    now: datetime,
    proposals: Sequence[int] = (),
    clients: Sequence[str] = (),
    rollouts: Sequence[Rollout] = (),
    embargoed: Collection[int] = (),
) -> IncidentDecision:
    """Open an incident; at ``pause_on_incident`` or worse, pause every active rollout it names.

    ``rollouts`` are the active rollouts (not completed, and not of a proposal in a final
    state), so that an incident naming only clients (or nothing) pauses the rollouts those
    clients are in; a proposal it names explicitly pauses only when its rollout is among them.
    ``embargoed``: the confidential proposals not disclosed yet (see
    :func:`charter.incident_holds.quietly_held`).
    """
    conf = charter.incidents
    if severity not in conf.severities:
        raise ValueError(f"unknown severity {severity!r}; use one of {', '.join(conf.severities)}")
    check_clients(charter, clients)
    incident = Incident(
        id=_text(id, "an incident id"),
        severity=severity,
        summary=_text(summary, "an incident summary"),
        proposals=tuple(proposals),
        clients=tuple(clients),
        declared_by=by,
        declared_at=now,
        timeline=(TimelineEntry(now, by, f"declared {severity}: {summary.strip()}", "declared"),),
    )
    threshold = charter.rollout.pause_on_incident
    named: set[int] = set()
    if threshold is not None and conf.at_least(severity, threshold):
        named = _active_named(incident, rollouts)
    pause, hold = split_held(incident, named, rollouts, embargoed)
    scope = ", ".join([*(f"#{p}" for p in incident.proposals), *incident.clients]) or "everything"
    paused = f" Rollouts paused: {', '.join(f'#{p}' for p in pause)}." if pause else ""
    effects: tuple[IncidentEffect, ...] = (
        Audit("incident-declared", subject(incident), _payload(incident) | {"pause": list(pause)}),
        announce(
            incident,
            f"Incident {incident.id} ({severity}) declared",
            f"{incident.summary}\nConcerns: {scope}. Declared by {by}.{paused}",
            pause,
        ),
    )
    return IncidentDecision(incident, effects, pause=pause, hold=hold)


def reclassify(
    charter: Charter,
    incident: Incident,
    severity: str,
    reason: str,
    by: str,
    now: datetime,
    rollouts: Sequence[Rollout] = (),
    embargoed: Collection[int] = (),
) -> IncidentDecision:
    """Change an open incident's severity; raised past ``pause_on_incident``, pause what it
    names (``rollouts``: the active rollouts, and ``embargoed``, as for :func:`declare`)."""
    conf = charter.incidents
    if severity not in conf.severities:
        raise ValueError(f"unknown severity {severity!r}; use one of {', '.join(conf.severities)}")
    refusal = refuse_if_resolved(incident)
    if refusal is not None:
        return refusal
    before = incident.severity
    if severity == before:
        return IncidentDecision(
            incident, (Reply(f"incident {incident.id} is already {severity}", ok=False),)
        )
    why = f": {reason.strip()}" if reason.strip() else ""
    entry = TimelineEntry(now, by, f"severity {before} → {severity}{why}", "severity")
    changed = replace(incident, severity=severity, timeline=(*incident.timeline, entry))
    threshold = charter.rollout.pause_on_incident
    named: set[int] = set()
    if (
        threshold is not None
        and conf.at_least(severity, threshold)
        and not conf.at_least(before, threshold)
    ):
        named = _active_named(changed, rollouts)
    pause, hold = split_held(changed, named, rollouts, embargoed)
    raised = conf.at_least(severity, before)
    verb = "raised" if raised else "lowered"
    paused = f" Rollouts paused: {', '.join(f'#{p}' for p in pause)}." if pause else ""
    payload = {"from": before, "to": severity, "reason": reason.strip(), "pause": list(pause)}
    effects: tuple[IncidentEffect, ...] = (
        Audit("incident-severity-changed", subject(incident), payload),
        announce(
            changed,
            f"Incident {incident.id} {verb} to {severity}",
            f"{incident.summary}\nWas {before}{why}. Changed by {by}.{paused}",
            pause,
        ),
    )
    return IncidentDecision(changed, effects, pause=pause, hold=hold)


def _active_named(incident: Incident, rollouts: Sequence[Rollout]) -> set[int]:
    """The active rollouts (by proposal) that ``incident`` names, by proposal or client (a
    proposal with no active rollout among ``rollouts`` has nothing to pause, nor one it holds
    already: held as it started, it is not paused anew when the incident is raised again)."""
    active = {
        r.proposal
        for r in rollouts
        if r.completed_at is None and all(k != incident.id for k, _ in r.pauses)
    }
    return {p for p in active if names(incident, p, _clients_of(rollouts, p))}


def _clients_of(rollouts: Sequence[Rollout], proposal: int) -> tuple[str, ...]:
    return next(r.clients for r in rollouts if r.proposal == proposal)


def _payload(incident: Incident) -> dict[str, object]:
    return {
        "severity": incident.severity,
        "summary": incident.summary,
        "proposals": list(incident.proposals),
        "clients": list(incident.clients),
    }


def refuse_if_resolved(incident: Incident) -> IncidentDecision | None:
    if is_open(incident):
        return None
    text = f"incident {incident.id} was resolved at {incident.resolved_at:%Y-%m-%d %H:%M} UTC"
    return IncidentDecision(incident, (Reply(text, ok=False),))


def assign_role(
    charter: Charter, incident: Incident, role: str, login: str, by: str, now: datetime
) -> IncidentDecision:
    """Give ``role`` to ``login`` (replacing any holder) and brief them privately."""
    if role not in charter.incidents.roles:
        roles = ", ".join(charter.incidents.roles) or "none (the charter defines no roles)"
        raise ValueError(f"unknown incident role {role!r}; roles: {roles}")
    refusal = refuse_if_resolved(incident)
    if refusal is not None:
        return refusal
    login = _text(login, "the assignee's login")
    entry = TimelineEntry(now, by, f"{login} is {role}", "role")
    staffed = replace(
        incident, roles={**incident.roles, role: login}, timeline=(*incident.timeline, entry)
    )
    brief = (
        f"You are the {role} for incident {incident.id} ({incident.severity}): "
        f"{incident.summary}\nAssigned by {by}. Post updates with /charter incident update."
    )
    effects: tuple[IncidentEffect, ...] = (
        Audit("incident-role-assigned", subject(incident), {"role": role, "login": login}),
        DirectMessage(login, brief),
        Reply(f"{login} is now {role} for incident {incident.id}"),
    )
    return IncidentDecision(staffed, effects)


def update(incident: Incident, text: str, by: str, now: datetime) -> IncidentDecision:
    """Append an entry to the timeline (also after resolution: corrections for the review)."""
    entry = TimelineEntry(now, by, _text(text, "an update"), "update")
    updated = replace(incident, timeline=(*incident.timeline, entry))
    effects: tuple[IncidentEffect, ...] = (
        Audit("incident-updated", subject(incident), {"text": entry.text}),
        announce(incident, f"Incident {incident.id} update", f"{entry.text}\n— {by}"),
    )
    return IncidentDecision(updated, effects)


def resolve(
    charter: Charter,
    incident: Incident,
    text: str,
    by: str,
    now: datetime,
    audit_lines: Sequence[str] = (),
) -> IncidentDecision:
    """Close the incident; schedule its review ``review_within`` later and draft the issue."""
    refusal = refuse_if_resolved(incident)
    if refusal is not None:
        return refusal
    entry = TimelineEntry(now, by, _text(text, "a resolution"), "resolved")
    resolved = replace(
        incident, resolved_at=now, resolution=entry.text, timeline=(*incident.timeline, entry)
    )
    within = charter.incidents.review_within
    due = None if within is None else now + within
    review = "" if due is None else f" Post-incident review due {due:%Y-%m-%d %H:%M} UTC."
    effects: tuple[IncidentEffect, ...] = (
        Audit(
            "incident-resolved",
            subject(incident),
            {"resolution": entry.text, "review_due_at": None if due is None else due.isoformat()},
        ),
        announce(incident, f"Incident {incident.id} resolved", f"{entry.text}{review}"),
    )
    body = review_issue_body(resolved, audit_lines)
    return IncidentDecision(resolved, effects, review_due_at=due, review_body=body)
