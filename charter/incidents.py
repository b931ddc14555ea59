"""Incidents: declare, staff, narrate and resolve, as pure decisions.

Rules (charter ``incidents`` and ``rollout.pause_on_incident``):
- Severity is one of ``incidents.severities``; the first is the worst.
- An incident *names* the proposals and clients it concerns. One that names nothing concerns
  everything: it blocks and pauses every rollout.
- Declaring an incident at ``pause_on_incident`` or worse pauses, at once, every active rollout
  it names (``rollouts``: those still under way); the decision lists those proposal numbers in
  ``pause``. A named proposal without an active rollout (not accepted yet, completed, rolled
  back for good) stays named for the record, but there is nothing of it to pause.
- A public incident stays public when it concerns an active embargoed rollout (``embargoed``:
  of a confidential proposal not disclosed yet) that it does not name by number: one naming
  that rollout's client, or naming nothing (it concerns everything, e.g. a network-wide fork).
  That rollout is held all the same (``hold``), as one starting under the incident would be
  (:func:`holding`), but the incident's news and audit entries neither name nor count it (it
  is not in ``pause``). Only one naming the proposal by number pauses it as any other (and is
  confidential: see the service); naming it is its declarer's own choice.
- Roles are ``incidents.roles``; the assignee gets their instructions privately.
- The timeline is append-only: a correction is a new entry, never an edit.
- A rollout that starts while an open incident at ``pause_on_incident`` or worse names it starts
  paused by that incident (:func:`holding`), as if it had been under way at the declaration;
  the hold is lifted when the incident is resolved.
- A rollout's retrospective lists the incidents that held it paused, whatever they name, and
  those that name it and were open while it ran (:func:`concerning`).
- An open incident's severity can change (:func:`reclassify`). Raised to ``pause_on_incident``
  or worse from below it, it pauses what it names, as declaring at that severity would have.
  Lowered, it leaves paused rollouts paused: they resume when the incident is resolved.
- An open incident's scope can grow (:mod:`charter.incident_scope`): more proposals and
  clients, the newly named rollouts paused as declaring would have paused them. A public
  incident stays public: an undisclosed confidential proposal is not added to it (it gets a
  confidential incident of its own), as a public incident stays public when an embargoed
  rollout starts under it.
- Resolving schedules a post-incident review ``review_within`` after resolution and drafts its
  issue body from the timeline and the audit log. The review call is held on the due date at
  the hour people already meet (:func:`review_at`): the time of day of the charter's first
  meeting series, in its zone; with no series, at 15:00 UTC.
- Input that can never be right (an unknown severity or role, an empty text) raises
  ``ValueError``; a request wrong only now (the incident is already resolved) is refused with
  ``Reply(ok=False)`` and the incident unchanged.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time

from charter.effects import Announce, Audit, Effect, Reply
from charter.meetings import localize, zone_of
from charter.model import Charter
from charter.rollout_facts import Rollout


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    by: str
    text: str
    kind: str = "update"  # declared | role | update | severity | scope | resolved


@dataclass(frozen=True)
class Incident:
    id: str
    severity: str
    summary: str
    proposals: tuple[int, ...]
    clients: tuple[str, ...]
    declared_by: str
    declared_at: datetime
    roles: Mapping[str, str] = field(default_factory=dict)  # role -> login
    timeline: tuple[TimelineEntry, ...] = ()
    resolved_at: datetime | None = None
    resolution: str | None = None


@dataclass(frozen=True)
class DirectMessage:
    """Tell one person something privately (their role's instructions)."""

    login: str
    text: str


IncidentEffect = Effect | DirectMessage


@dataclass(frozen=True)
class IncidentDecision:
    incident: Incident
    effects: tuple[IncidentEffect, ...]
    pause: tuple[int, ...] = ()  # proposal numbers whose rollouts pause now
    hold: tuple[int, ...] = ()  # embargoed rollouts held now, left out of the news (see rules)
    review_due_at: datetime | None = None
    review_body: str = ""


def is_open(incident: Incident) -> bool:
    return incident.resolved_at is None


def names(incident: Incident, proposal: int, clients: Sequence[str]) -> bool:
    """Whether the incident concerns this proposal or any of its clients (naming nothing: all)."""
    if not incident.proposals and not incident.clients:
        return True
    return proposal in incident.proposals or any(c in incident.clients for c in clients)


def holding(
    charter: Charter, incidents: Sequence[Incident], proposal: int, clients: Sequence[str]
) -> tuple[Incident, ...]:
    """The incidents that hold a rollout starting now: each open one at ``pause_on_incident``
    or worse that names it (:func:`names`); declared earlier, it would have paused it then."""
    threshold = charter.rollout.pause_on_incident
    if threshold is None:
        return ()
    return tuple(
        i
        for i in incidents
        if is_open(i)
        and charter.incidents.at_least(i.severity, threshold)
        and names(i, proposal, clients)
    )


def concerning(
    incidents: Sequence[Incident], rollout: Rollout, held: Collection[str], until: datetime
) -> list[Incident]:
    """The incidents a rollout's retrospective lists: each that held it paused (its id in
    ``held``, from the rollout's pause records), and each that names it (:func:`names`) and was
    open while it ran (declared by ``until``, its end, and not resolved before it started)."""
    return [
        i
        for i in incidents
        if i.id in held
        or (
            names(i, rollout.proposal, rollout.clients)
            and i.declared_at <= until
            and (i.resolved_at is None or i.resolved_at >= rollout.started_at)
        )
    ]


def _text(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    return value.strip()


def subject(incident: Incident) -> str:
    return f"incident:{incident.id}"


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
    ``embargoed``: the confidential proposals not disclosed yet (see :func:`quietly_held`).
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


def quietly_held(incident: Incident, rollout: Rollout, embargoed: Collection[int]) -> bool:
    """Whether ``incident`` holds ``rollout`` without naming it in its news: the rollout is of
    an embargoed proposal (in ``embargoed``) that the incident concerns (:func:`names`: by one
    of its clients, or by naming nothing) but does not name by number (so a public incident
    stays public, as when such a rollout starts under it)."""
    return (
        rollout.proposal in embargoed
        and rollout.proposal not in incident.proposals
        and names(incident, rollout.proposal, rollout.clients)
    )


def split_held(
    incident: Incident,
    numbers: Collection[int],
    rollouts: Sequence[Rollout],
    embargoed: Collection[int],
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``numbers`` (active rollouts ``incident`` holds now, by proposal) as (paused, held
    quietly: :func:`quietly_held`), each sorted."""
    quiet = {
        r.proposal
        for r in rollouts
        if r.proposal in numbers and quietly_held(incident, r, embargoed)
    }
    return tuple(sorted(set(numbers) - quiet)), tuple(sorted(quiet))


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


REVIEW_TIME = time(15, 0)  # of a review call, in UTC, when the charter has no meeting series


def review_at(charter: Charter, due: datetime) -> tuple[datetime, str]:
    """When the post-incident review due at ``due`` is held, and in which zone: on the due
    date, in the zone of the charter's first meeting series, at that series' time of day (the
    hour its people already keep free); with no series, on the due date at 15:00 UTC. The
    call may thus start a few hours before ``due``, never on another day."""
    series = charter.meetings[0] if charter.meetings else None
    name = series.timezone if series is not None else "UTC"
    hour = series.start.time() if series is not None else REVIEW_TIME
    zone = zone_of(name)
    day = due.astimezone(zone).date()
    return localize(datetime.combine(day, hour), zone), name


def review_issue_body(incident: Incident, audit_lines: Sequence[str]) -> str:
    """A draft post-incident review, pre-filled from the timeline and the audit log."""
    end = incident.resolved_at
    minutes = None if end is None else int((end - incident.declared_at).total_seconds() // 60)
    lasted = "still open" if minutes is None else f"{minutes // 60}h {minutes % 60:02d}m"
    roles = ", ".join(f"{r}: @{who}" for r, who in incident.roles.items()) or "none assigned"
    lines = [
        f"# Post-incident review: incident {incident.id} ({incident.severity})",
        "",
        f"**Summary:** {incident.summary}",
        f"**Declared:** {incident.declared_at:%Y-%m-%d %H:%M} UTC by @{incident.declared_by}",
        f"**Duration:** {lasted}",
        f"**Roles:** {roles}",
        f"**Resolution:** {incident.resolution or '—'}",
        "",
        "## Timeline (UTC)",
        "",
        *(f"- {e.at:%Y-%m-%d %H:%M} [{e.kind}] @{e.by}: {e.text}" for e in incident.timeline),
        "",
        "## Decision log",
        "",
        *(f"- {line}" for line in audit_lines),
        *(() if audit_lines else ("- (no audit entries)",)),
        "",
        "## What went well",
        "",
        "## What went wrong",
        "",
        "## Actions",
        "",
    ]
    return "\n".join(lines)
