"""An incident's facts and the questions asked of them: what it names, whether it is open.

:mod:`charter.incidents` decides (declare, staff, narrate, resolve) and returns new copies of
the frozen ``Incident``; :mod:`charter.incident_holds`, :mod:`charter.incident_reviews` and
:mod:`charter.incident_scope` read it. Here live only the facts, so that each can import them.

Rules:
- An incident *names* the proposals and clients it concerns. One that names nothing concerns
  everything (:func:`names`).
- An incident is open until it is resolved (:func:`is_open`).
- The timeline is append-only: a correction is a new entry, never an edit.
- An incident's audit entries have the subject ``incident:<id>`` (:func:`subject`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from charter.effects import Effect


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
    hold: tuple[int, ...] = ()  # embargoed rollouts held quietly now (rules: charter.incidents)
    review_due_at: datetime | None = None
    review_body: str = ""


def is_open(incident: Incident) -> bool:
    return incident.resolved_at is None


def names(incident: Incident, proposal: int, clients: Sequence[str]) -> bool:
    """Whether the incident concerns this proposal or any of its clients (naming nothing: all)."""
    if not incident.proposals and not incident.clients:
        return True
    return proposal in incident.proposals or any(c in incident.clients for c in clients)


def subject(incident: Incident) -> str:
    return f"incident:{incident.id}"
