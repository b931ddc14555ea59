"""The post-incident review: when its call is held and the draft of its issue.

Rules (charter ``incidents.review_within``):
- Resolving schedules a post-incident review ``review_within`` after resolution
  (:mod:`charter.incidents`) and drafts its issue body from the timeline and the audit log
  (:func:`review_issue_body`).
- The review call is held on the due date at the hour people already meet (:func:`review_at`):
  the time of day of the charter's first meeting series, in its zone; with no series, at 15:00
  UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from charter.incident_facts import Incident
from charter.meetings import localize, zone_of
from charter.model import Charter

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
