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
from charter.rollout_facts import DrillReport
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
    n = rollout.proposal
    times = stage_times(rollout, charter)
    header = "| client | " + " | ".join(charter.stage_ids) + " |"
    rule = "|---" * (len(charter.stage_ids) + 1) + "|"
    rows = [f"| {c} | " + " | ".join(times[c][s] for s in charter.stage_ids) + " |" for c in times]
    lines = [
        f"# Retrospective: #{n} {esc(title)}",
        "",
        f"Rollout started {rollout.started_at:%Y-%m-%d %H:%M} UTC, completed "
        + (f"{rollout.completed_at:%Y-%m-%d %H:%M} UTC." if rollout.completed_at else "—."),
        "",
        "## Time spent per stage per client",
        "",
        header,
        rule,
        *rows,
        "",
        "## Incidents",
        "",
        *(
            (
                f"- {CONFIDENTIAL_INCIDENT} ({i.severity})"
                if i.id in confidential
                else f"- incident {i.id} ({i.severity}): {esc(i.summary)}"
            )
            + (f" — resolved {i.resolved_at:%Y-%m-%d %H:%M} UTC" if i.resolved_at else " — open")
            for i in incidents
        ),
        *(() if incidents else ("- none",)),
        "",
        "## Overrides",
        "",
        *(
            f"- into {o.stage} by {o.by} at {o.at:%Y-%m-%d %H:%M} UTC"
            f" (failing: {', '.join(o.gates) or '—'}): {esc(o.reason)}"
            for o in rollout.overrides
        ),
        *(() if rollout.overrides else ("- none",)),
        "",
        "## Rollbacks",
        "",
        *(
            f"- {', '.join(b.clients)} by {b.by} at {b.at:%Y-%m-%d %H:%M} UTC: {esc(b.reason)}"
            for b in rollout.rollbacks
        ),
        *(() if rollout.rollbacks else ("- none",)),
        "",
        "## Rollback drills",
        "",
        *(_drill_line(d, charter) for d in rollout.drills),
        *(() if rollout.drills else ("- none",)),
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
