"""The retrospective drafted when a rollout completes: the GitHub issue filed when production
completes for every client.

Rules:
- It is drafted from the record: the time each client spent on each stage (from its first
  report there to its first report for the next stage, or to completion for the last), the
  incidents, overrides, rollbacks and rollback drills (each scored by the charter's limit for
  its stage), and the decision timeline from the audit log.
- The issue may be public: an incident whose id is confidential is listed only by its severity,
  as :func:`charter.gates.incident_reason` words it. Text people wrote is escaped for GitHub
  Markdown.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from charter import drills
from charter.gates import CONFIDENTIAL_INCIDENT
from charter.incident_facts import Incident
from charter.model import Charter
from charter.rollout import Rollout
from charter.rollout_facts import DrillReport, Override, RollbackRecord
from charter.text import escape_markdown_github


def _span(value: timedelta) -> str:
    hours = max(0, int(value.total_seconds() // 3600))
    days, rest = divmod(hours, 24)
    return f"{days}d {rest}h" if days else f"{rest}h"


def stage_times(rollout: Rollout, charter: Charter) -> dict[str, dict[str, str]]:
    """Per client, per stage: the time from its first report there to its first report for the
    next stage (or to completion, for the last stage)."""
    out: dict[str, dict[str, str]] = {}
    end = rollout.completed_at
    for client in rollout.clients:
        firsts: dict[str, datetime] = {}
        for r in sorted(rollout.reports, key=lambda r: r.at):
            if r.client == client:
                firsts.setdefault(r.stage, r.at)
        row: dict[str, str] = {}
        for i, stage in enumerate(charter.stage_ids):
            start = firsts.get(stage)
            stop = firsts.get(charter.stage_ids[i + 1]) if i + 1 < len(charter.stage_ids) else end
            row[stage] = "—" if start is None or stop is None else _span(stop - start)
        out[client] = row
    return out


def _drill_line(drill: DrillReport, charter: Charter) -> str:
    """A drill as the retrospective lists it, scored by the charter's limit for its stage."""
    required = drills.limit_for(charter, drill.stage)
    outcome = drills.score(drill.recovered, None if required is None else required.recover_within)
    return (
        f"- {drill.client} on {drill.stage} ({escape_markdown_github(drill.release)}) by"
        f" {drill.reported_by} at {drill.at:%Y-%m-%d %H:%M} UTC:"
        f" {escape_markdown_github(drills.recovery(drill))} — {outcome}"
    )


def retrospective_body(
    rollout: Rollout,
    charter: Charter,
    *,
    title: str,
    record: Sequence[str],
    incidents: Sequence[Incident],
    confidential: Collection[str] = (),
) -> str:
    """A draft retrospective from the record: decisions, time per stage, incidents, exceptions
    and every rollback drill with its score.
    An incident whose id is in ``confidential`` is listed only by its severity, as
    :func:`charter.gates.incident_reason` words it: the issue may be public."""
    esc = escape_markdown_github
    lines = [
        f"# Retrospective: #{rollout.proposal} {esc(title)}",
        "",
        _started_completed(rollout),
        "",
        "## Time spent per stage per client",
        "",
        *_stage_table(rollout, charter),
        "",
        "## Incidents",
        "",
        *_or_none([_incident_line(i, confidential) for i in incidents]),
        "",
        "## Overrides",
        "",
        *_or_none([_override_line(o) for o in rollout.overrides]),
        "",
        "## Rollbacks",
        "",
        *_or_none([_rollback_line(b) for b in rollout.rollbacks]),
        "",
        "## Rollback drills",
        "",
        *_or_none([_drill_line(d, charter) for d in rollout.drills]),
        "",
        "## Decision timeline (audit log)",
        "",
        *(f"- {esc(line)}" for line in record),
        "",
        "## What went well",
        "",
        "## What to change",
        "",
    ]
    return "\n".join(lines)


def _or_none(items: list[str]) -> list[str]:
    """A section's items, or "- none" for an empty section."""
    return items or ["- none"]


def _started_completed(rollout: Rollout) -> str:
    """When the rollout started and completed ("—" while it has not)."""
    return f"Rollout started {rollout.started_at:%Y-%m-%d %H:%M} UTC, completed " + (
        f"{rollout.completed_at:%Y-%m-%d %H:%M} UTC." if rollout.completed_at else "—."
    )


def _stage_table(rollout: Rollout, charter: Charter) -> list[str]:
    """The Markdown table of :func:`stage_times`: a row per client, a column per stage."""
    times = stage_times(rollout, charter)
    header = "| client | " + " | ".join(charter.stage_ids) + " |"
    rule = "|---" * (len(charter.stage_ids) + 1) + "|"
    rows = [f"| {c} | " + " | ".join(times[c][s] for s in charter.stage_ids) + " |" for c in times]
    return [header, rule, *rows]


def _incident_line(i: Incident, confidential: Collection[str]) -> str:
    """An incident with its summary, or only its severity when its id is ``confidential``."""
    head = (
        f"- {CONFIDENTIAL_INCIDENT} ({i.severity})"
        if i.id in confidential
        else f"- incident {i.id} ({i.severity}): {escape_markdown_github(i.summary)}"
    )
    return head + (
        f" — resolved {i.resolved_at:%Y-%m-%d %H:%M} UTC" if i.resolved_at else " — open"
    )


def _override_line(o: Override) -> str:
    return (
        f"- into {o.stage} by {o.by} at {o.at:%Y-%m-%d %H:%M} UTC"
        f" (failing: {', '.join(o.gates) or '—'}): {escape_markdown_github(o.reason)}"
    )


def _rollback_line(b: RollbackRecord) -> str:
    return (
        f"- {', '.join(b.clients)} by {b.by} at {b.at:%Y-%m-%d %H:%M} UTC:"
        f" {escape_markdown_github(b.reason)}"
    )
