"""What people see of a rollout, built once and rendered per surface.

``rollout_view`` is the single JSON-safe description (the dashboard and read API return it,
confidential incidents redacted by :mod:`bot.rollout_public`); ``rollout_message`` renders it
as a ``Message``: the client × stage matrix (version, ref, when, checks, the latest rollback
drill and its score) and every gate of the next stage with pass/fail and its reason. Times are
ISO 8601 UTC strings in the view; renderers localise them (``When``). The retrospective filed
when a rollout completes is drafted by :mod:`bot.rollout_retrospective`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.messages import Line, Message, Segment, When
from charter import drills
from charter.gates import GateResult, gate_line
from charter.model import Charter, format_compound
from charter.rollout import ReadyReport, Rollout, matrix
from charter.rollout_facts import Override, PlannedDrill, version_at
from storage.rollouts import ENDED_STATES


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def is_final(rollout: Rollout, state: str | None = None) -> bool:
    """Whether the rollout stays put: it has completed (``completed_at``), or its proposal's
    ``state`` (its value, if given) ended it (rolled back from every stage). A completed
    proposal whose rollout a rollback reopened is not final: that rollout moves again."""
    return rollout.completed_at is not None or (state is not None and state in ENDED_STATES)


def next_stage(rollout: Rollout, charter: Charter, state: str | None = None) -> str | None:
    """The stage ``advance`` would enter, or None once the last stage is reached or the
    rollout is final (:func:`is_final`, with the proposal's ``state`` if given)."""
    index = rollout.stage_index + 1
    if is_final(rollout, state) or index >= len(charter.stage_ids):
        return None
    return charter.stage_ids[index]


def rollout_view(
    rollout: Rollout,
    charter: Charter,
    *,
    gates: Sequence[GateResult] = (),
    title: str = "",
    state: str = "",
) -> dict[str, Any]:
    """The rollout as JSON-safe data: matrix, gates of the next stage, pauses and exceptions."""
    final = is_final(rollout, state or None)
    target = next_stage(rollout, charter, state or None)
    if target is None:
        gates = ()  # no stage to enter: nothing to gate (a final rollout stays put)
    return {
        "proposal": rollout.proposal,
        "title": title,
        "proposal_state": state,
        "stage": rollout.stage_name(charter),
        "final": final,
        "next_stage": target,
        "stages": list(charter.stage_ids),
        "clients": list(rollout.clients),
        "started_at": _iso(rollout.started_at),
        "completed_at": _iso(rollout.completed_at),
        "stage_entered_at": {k: _iso(v) for k, v in rollout.stage_entered_at.items()},
        "paused": rollout.paused,
        "pause_reason": rollout.pause_reason,
        "confidential": rollout.confidential,
        "matrix": _cells(rollout, charter, final),
        "gates": [{"gate": g.gate, "passed": g.passed, "reason": g.reason} for g in gates],
        "can_advance": _can_advance(rollout, target, gates),
        "overrides": [_override_view(o) for o in rollout.overrides],
        "rollbacks": [
            {"clients": list(b.clients), "reason": b.reason, "by": b.by, "at": _iso(b.at)}
            for b in rollout.rollbacks
        ],
    }


def _cells(rollout: Rollout, charter: Charter, final: bool) -> list[dict[str, Any]]:
    """The matrix, client by client and stage by stage; a ``final`` rollout shows no planned
    drill (a plan of a rollout that is over is moot)."""
    table = matrix(rollout, charter)
    cells = []
    for client in rollout.clients:
        for stage in charter.stage_ids:
            cell = table.cell(client, stage)
            cells.append(
                {
                    "client": client,
                    "stage": stage,
                    "version": cell.version,
                    "ref": cell.ref,
                    "reported_at": _iso(cell.reported_at),
                    "on": cell.on,
                    "checks": [{"name": n, "status": s} for n, s in cell.checks],
                    "drill": drill_view(drills.standing(rollout, charter, client, stage)),
                    "planned_drill": None
                    if final
                    else _planned(drills.planned(rollout, client, stage)),
                }
            )
    return cells


def _can_advance(rollout: Rollout, target: str | None, gates: Sequence[GateResult]) -> bool:
    """Whether ``advance`` may enter ``target``: the rollout has started, is not paused and
    every gate passes."""
    return (
        target is not None
        and rollout.stage_index >= 0
        and not rollout.paused
        and all(g.passed for g in gates)
    )


def _override_view(o: Override) -> dict[str, Any]:
    return {
        "stage": o.stage,
        "reason": o.reason,
        "by": o.by,
        "at": _iso(o.at),
        "gates": list(o.gates),
    }


def drill_view(found: drills.Standing | None) -> dict[str, Any] | None:
    """A client's latest rollback drill on a stage, scored (:func:`charter.drills.standing`),
    as JSON-safe data; None without one. ``recovered`` is in seconds and ``took`` and ``limit``
    in parts (``30m45s``; ``took`` None: it failed); ``stale`` says why it no longer counts and
    ``why`` what its cell shows under the score (:func:`charter.drills.why`)."""
    if found is None:
        return None
    d = found.drill
    return {
        "outcome": found.outcome,
        "recovered": None if d.recovered is None else int(d.recovered.total_seconds()),
        "took": None if d.recovered is None else format_compound(d.recovered),
        "recovery": drills.recovery(d),
        "limit": None if found.limit is None else format_compound(found.limit),
        "release": d.release,
        "notes": d.notes,
        "by": d.reported_by,
        "at": _iso(d.at),
        "counts": found.counts,
        "stale": found.stale,
        "why": drills.why(found),
    }


def _planned(plan: PlannedDrill | None) -> dict[str, Any] | None:
    """A planned drill not yet reported, as JSON-safe data (None: none planned)."""
    return None if plan is None else {"at": _iso(plan.at), "by": plan.by}


def overdue(plan: Mapping[str, Any] | None, now: datetime | None) -> bool:
    """Whether a cell's ``planned_drill`` is past its time at ``now``: still shown, so no drill
    was reported since it was planned (:func:`charter.drills.planned`). False without ``now``."""
    at = _dt(plan["at"]) if plan else None
    return at is not None and now is not None and at <= now


def _planned_segments(cell: Mapping[str, Any], now: datetime | None) -> tuple[Segment, ...]:
    """ " drill planned <when>" for a cell with a planned drill not yet reported (" (overdue)"
    after it once its time has passed at ``now``), else ()."""
    plan = cell.get("planned_drill")
    at = _dt(plan["at"]) if plan else None
    if at is None:
        return ()
    return (" drill planned ", When(at), *((" (overdue)",) if overdue(plan, now) else ()))


def _cell_segments(cell: Mapping[str, Any], now: datetime | None) -> tuple[Segment, ...]:
    if cell["version"] is None:
        return (f"{cell['stage']} —", *_planned_segments(cell, now))
    head = version_at(cell["version"], cell["ref"])
    at = _dt(cell["reported_at"])
    parts: list[Segment] = [f"{cell['stage']} {head} ("]
    if at is not None:
        parts.append(When(at))
    parts.append(")")
    marks = " ".join(f"{c['name']}={c['status']}" for c in cell["checks"])
    if marks:
        parts.append(f" {marks}")
    if cell.get("drill"):
        d = cell["drill"]
        parts.append(f" {drills.mark_of(d['outcome'], d['took'], d.get('why'), d['counts'])}")
    parts.extend(_planned_segments(cell, now))
    if not cell["on"]:
        parts.append(" (rolled back)")
    return tuple(parts)


def _final_words(state: str) -> str:
    """What a final, uncompleted rollout says instead of its next stage's gates."""
    if state == "rolled-back":
        return "Rolled back — final: a new proposal is needed to retry."
    return f"{state.capitalize()} — final."


def rollout_message(view: Mapping[str, Any], now: datetime | None = None) -> Message:
    """The matrix, one line per client, then every gate of the next stage; a planned drill past
    its time at ``now`` is marked overdue (:func:`overdue`)."""
    n = view["proposal"]
    state = " (paused)" if view["paused"] else ""
    lines: list[Line] = []
    for client in view["clients"]:
        line: list[Segment] = [f"{client}: "]
        cells = [c for c in view["matrix"] if c["client"] == client]
        for i, cell in enumerate(cells):
            if i:
                line.append(" · ")
            line.extend(_cell_segments(cell, now))
        lines.append(tuple(line))
    if view["paused"]:
        lines.append((f"Paused: {view['pause_reason']}",))
    completed = _dt(view["completed_at"])
    if completed is not None:
        lines.append(("Completed: every client is on the last stage since ", When(completed)))
    elif view.get("final"):
        lines.append((_final_words(view["proposal_state"]),))
    elif view["next_stage"] is not None:
        verdict = "all pass" if all(g["passed"] for g in view["gates"]) else "failing"
        lines.append((f"Gates for {view['next_stage']} ({verdict}):",))
        for g in view["gates"]:
            mark = "PASS" if g["passed"] else "FAIL"
            lines.append((f"  {mark} {gate_line(g['gate'], g['reason'])}",))
    for o in view["overrides"]:
        lines.append((f"Override into {o['stage']} by {o['by']}: {o['reason']}",))
    for b in view["rollbacks"]:
        lines.append((f"Rollback of {', '.join(b['clients'])} by {b['by']}: {b['reason']}",))
    title = f"#{n} rollout — stage: {view['stage']}{state}"
    return Message(title=title, lines=tuple(lines))


def inventory_message(
    reports: Sequence[tuple[int, ReadyReport]],
    charter: Charter,
    *,
    proposal: int | None = None,
    rollouts: Mapping[int, Rollout] | None = None,
) -> Message:
    """Which version every client runs at every stage (its latest report there), with history.

    A latest report its client was rolled back from (:func:`rolled_back`, with the report's
    rollout from ``rollouts``, by proposal) is no release the client runs there: it is marked
    "(rolled back)", as the rollout's matrix marks it, until the client reports for the stage
    again."""
    scope = f"#{proposal}" if proposal is not None else "every rollout"
    if not reports:
        return Message.text_only(f"No release has been reported for {scope} yet.")
    lines: list[Line] = []
    for client in charter.client_ids:
        mine = [(n, r) for n, r in reports if r.client == client]
        if not mine:
            continue
        lines.append((f"{client}:",))
        for stage in charter.stage_ids:
            here = [(n, r) for n, r in mine if r.stage == stage]
            if not here:
                continue
            n, latest = here[-1]
            gone = rolled_back(latest, (rollouts or {}).get(n), charter)
            mark = " (rolled back)" if gone else ""
            earlier = earlier_versions([r.version for _, r in here[:-1]])
            history = f" (before: {earlier})" if earlier else ""
            lines.append(
                (
                    f"  {stage}: {version_at(latest.version, latest.ref)}{mark} for #{n} since ",
                    When(latest.at),
                    history,
                )
            )
    return Message(title=f"Inventory — {scope}", lines=tuple(lines))


EARLIER_SHOWN = 2


def earlier_versions(versions: Sequence[str], keep: int = EARLIER_SHOWN) -> str:
    """The history of an inventory line: the last ``keep`` earlier versions (oldest first) and
    how many more came before them ("+48 earlier, v1.49.0, v1.50.0"), so a line stays short
    however many releases a client has had; "" when there were none."""
    shown = list(versions[-keep:]) if keep > 0 else []
    hidden = len(versions) - len(shown)
    return ", ".join(([f"+{hidden} earlier"] if hidden else []) + shown)


def rolled_back(report: ReadyReport, rollout: Rollout | None, charter: Charter) -> bool:
    """Whether ``report``'s client was rolled back out of its stage since: the client is below
    that stage in ``rollout`` now. A report puts its client on its stage and only a rollback
    moves a client down (:mod:`charter.rollout`), so that is a rollback of the client out of
    the stage after the report (the matrix's "(rolled back)": ``Cell.on``). Unknown without the
    rollout (False)."""
    if rollout is None or report.stage not in charter.stage_ids:
        return False
    return rollout.position(report.client) < charter.stage_ids.index(report.stage)
