"""Incident repository: the incident rows and their append-only timelines.

Rules:
- An incident's number is reserved first (``new_incident_id``), so the command that declares it
  can name it in the same transaction; ``save_incident`` then completes the row.
- Timeline entries are only ever inserted (the table refuses edits): ``save_incident`` appends
  the entries the stored timeline does not have yet.
- Reading any number of incidents costs two statements (the rows, then all their entries), so a
  page or a gate that lists them does not pay a query per incident.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from charter.incident_facts import Incident, TimelineEntry
from storage.models.rollouts import IncidentEntryRow, IncidentRow
from storage.times import aware, maybe_aware


def new_incident_id(session: Session, severity: str, summary: str, by: str, at: datetime) -> int:
    """Reserve an incident number (the row is completed by ``save_incident``)."""
    row = IncidentRow(severity=severity, summary=summary, declared_by=by, declared_at=at, data="{}")
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def save_incident(
    session: Session, incident: Incident, *, review_due_at: datetime | None = None
) -> None:
    """Write the incident's fields and append the timeline entries not stored yet."""
    row = session.get(IncidentRow, int(incident.id))
    if row is None:
        raise LookupError(f"incident {incident.id} was not reserved with new_incident_id")
    row.severity, row.summary = incident.severity, incident.summary
    row.resolved_at = incident.resolved_at
    if review_due_at is not None:
        row.review_due_at = review_due_at
    data = {
        "proposals": list(incident.proposals),
        "clients": list(incident.clients),
        "roles": dict(incident.roles),
        "resolution": incident.resolution,
    }
    row.data = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    session.add(row)
    number = int(incident.id)
    stored = _timelines(session, [number])[number]
    for entry in incident.timeline[len(stored) :]:
        session.add(
            IncidentEntryRow(
                incident=number, at=entry.at, by=entry.by, kind=entry.kind, text=entry.text
            )
        )


def load_incident(session: Session, incident_id: int) -> Incident | None:
    row = session.get(IncidentRow, incident_id)
    return None if row is None else _with_timelines(session, [row])[0]


def incidents(session: Session, *, open_only: bool = False) -> list[Incident]:
    """Every incident (or the unresolved ones), oldest first, each with its timeline."""
    stmt = select(IncidentRow).order_by(col(IncidentRow.id))
    if open_only:
        stmt = stmt.where(col(IncidentRow.resolved_at).is_(None))
    return _with_timelines(session, list(session.exec(stmt).all()))


def review_due_at(session: Session, incident_id: int) -> datetime | None:
    row = session.get(IncidentRow, incident_id)
    return None if row is None else maybe_aware(row.review_due_at)


def _with_timelines(session: Session, rows: Sequence[IncidentRow]) -> list[Incident]:
    timelines = _timelines(session, [row.id or 0 for row in rows])
    return [_incident(row, timelines[row.id or 0]) for row in rows]


def _timelines(session: Session, numbers: Sequence[int]) -> dict[int, list[TimelineEntry]]:
    """The timelines of ``numbers`` in one statement, each in the order it was written."""
    timelines: dict[int, list[TimelineEntry]] = {number: [] for number in numbers}
    if not timelines:
        return timelines
    stmt = (
        select(IncidentEntryRow)
        .where(col(IncidentEntryRow.incident).in_(sorted(timelines)))
        .order_by(col(IncidentEntryRow.id))
    )
    for e in session.exec(stmt).all():
        timelines[e.incident].append(TimelineEntry(aware(e.at), e.by, e.text, e.kind))
    return timelines


def _incident(row: IncidentRow, timeline: list[TimelineEntry]) -> Incident:
    data = json.loads(row.data)
    return Incident(
        id=str(row.id),
        severity=row.severity,
        summary=row.summary,
        proposals=tuple(data.get("proposals", ())),
        clients=tuple(data.get("clients", ())),
        declared_by=row.declared_by,
        declared_at=aware(row.declared_at),
        roles=dict(data.get("roles", {})),
        timeline=tuple(timeline),
        resolved_at=maybe_aware(row.resolved_at),
        resolution=data.get("resolution"),
    )
