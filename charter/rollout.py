"""Staged rollout decisions: start, report, advance, roll back, pause, resume, complete.

Rules (charter ``rollout``):
- A rollout starts *pending* (stage index -1). A client is *on* a stage once it has reported a
  release for it; a report never moves a client down, only a rollback does (one stage back).
- A client may report for any stage up to the one after the rollout's current stage, and up
  to the one after its own: every client moves through the stages in order, so a client the
  rollout left behind by override reports for the stage it skipped first (a report past it
  would count the client as on that stage, and start its soak, without it ever running there).
- The first stage counts as entered when every client has reported for it with a release that
  meets the form's prerequisites (``minimums``). When every client has reported and only the
  prerequisites hold it, ``advance`` enters it like any later stage: its gates fail with the
  clients whose release is too low, and a permitted, reasoned override passes them (audited).
- Each later stage is entered by ``advance``, which passes only when every gate of that stage
  passes (``gates``), or when someone who may override gives a written reason (audited, and
  announced as such) and names the stage (``to``). ``advance`` may name the stage it enters
  and an override must: it enters that stage only when it is the next one, so a repeated or
  retyped override ("#1 is already in canary") never enters the stage after, whose gates
  nobody saw. An override naming none is refused with the command to type.
- Re-entry is entry. The rollout is never on a stage a client was rolled back below: a rollback
  moves the rollout back to the lowest stage any client is then on (pending when one is on
  none). A client's report alone therefore never puts the rollout back on a stage; the stage is
  entered again as it was the first time, the first by every client's report, a later one by
  ``advance``, which asks every gate anew for every client: the checks and prerequisites on each
  client's latest release for the stage, the soak, the risk override, open incidents, and a
  go/no-go decided after the rollback (:func:`charter.gates.current_go_no_go`).
- A stage's soak clock (``stage_entered_at``) runs while the rollout is on that stage or past it
  AND every client is on it: it starts when the stage is entered (or, when an override let the
  rollout in without every client, when the last of them reports for it); a rollback below it
  stops it, and it starts again when the stage is entered again. A report that brings the
  stage a new release (another than its client ran there) restarts it: the stage has soaked
  only with the releases it runs now, and the reply says so (:mod:`charter.soak`).
- The rollout completes when it is on the last stage with every client on it.
- A paused rollout (an incident, or by hand) does not advance, enter its first stage or complete;
  reports and rollbacks still apply. When its last hold is lifted (``resume`` with ``now``),
  whatever waited happens then.
- Holds are kept apart: each incident's (lifted when it is resolved) and at most one by hand
  (``pause`` without an incident; lifted by ``resume`` without one, which never lifts an
  incident's hold and says what still holds the rollout). Who may place or lift a hand hold is
  :mod:`charter.authz`'s rule.
- A rollout whose proposal has ended (rolled back for good, withdrawn…: the caller says so with
  ``resume(..., ended=True)``) has nothing to resume: lifting a hold from it is audited, and
  nothing is announced, entered or completed.
- Input that can never be right (an unknown stage, an empty reason) raises ``ValueError``; a
  request wrong only now (a gate fails, paused, client not in this rollout, a stage too far
  ahead) is refused with ``Reply(ok=False)`` and the rollout unchanged.

The facts, the matrix and the inventory live in :mod:`charter.rollout_facts` and are re-exported
here, so callers import everything rollout from this module.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from charter import drills as drill_rules, soak as soak_rule
from charter.effects import Announce, Audit, Effect, Reply, SyncTracking
from charter.gates import CONFIDENTIAL_INCIDENT, GateFacts, GateResult, evaluate, prerequisites
from charter.model import Charter
from charter.prerequisites import Minimum
from charter.rollout_facts import (
    Cell,
    CheckResult,
    Matrix,
    Override,
    ReadyReport,
    RollbackRecord,
    Rollout,
    inventory,
    matrix,
    moving_ref,
    ref_matches,
)

__all__ = [
    "Cell",
    "CheckResult",
    "Matrix",
    "Override",
    "ReadyReport",
    "RollbackRecord",
    "Rollout",
    "RolloutDecision",
    "advance",
    "announce",
    "audit_subject",
    "inventory",
    "matrix",
    "override_holds",
    "pause",
    "record_check",
    "ref_matches",
    "refuse",
    "report_ready",
    "resume",
    "rollback",
    "stage_index_of",
    "start",
]


@dataclass(frozen=True)
class RolloutDecision:
    rollout: Rollout
    effects: tuple[Effect, ...]


def refuse(rollout: Rollout, text: str) -> RolloutDecision:
    """A refusal: ``rollout`` unchanged and ``text`` replied as not ok (nothing is audited)."""
    return RolloutDecision(rollout, (Reply(text, ok=False),))


def audit_subject(rollout: Rollout) -> str:
    """The audit log's subject of the rollout's entries: ``rollout:<proposal number>``."""
    return f"rollout:{rollout.proposal}"


def announce(rollout: Rollout, charter: Charter, title: str, text: str) -> Announce:
    """A rollout announcement (kind ``rollout``, confidential as the rollout is); its text ends
    with the matrix as it is now, rollback drills included."""
    table = drill_rules.marked(matrix(rollout, charter), rollout, charter).text()
    return Announce(
        kind="rollout",
        title=title,
        text=f"{text}\n\n{table}",
        proposal=rollout.proposal,
        clients=rollout.clients,
        confidential=rollout.confidential,
        data={"stage": rollout.stage_name(charter), "paused": rollout.paused},
    )


def _reason(value: str, what: str) -> str:
    if not value.strip():
        raise ValueError(f"{what} needs a written reason")
    return value.strip()


def start(
    proposal_number: int, clients: Sequence[str], now: datetime, *, confidential: bool = False
) -> RolloutDecision:
    """Open a pending rollout for an accepted proposal's affected clients."""
    if not clients or len(set(clients)) != len(clients):
        raise ValueError(f"a rollout needs one or more distinct clients, got {list(clients)}")
    rollout = Rollout(
        proposal=proposal_number,
        clients=tuple(clients),
        started_at=now,
        positions={c: -1 for c in clients},
        confidential=confidential,
    )
    effects: tuple[Effect, ...] = (
        Audit("rollout-started", audit_subject(rollout), {"clients": list(clients)}),
        SyncTracking(proposal_number),
    )
    return RolloutDecision(rollout, effects)


def record_check(rollout: Rollout, check: CheckResult) -> Rollout:
    """Remember a check run; the latest run of a name on a commit is the one that counts."""
    return replace(rollout, checks=(*rollout.checks, check))


def _clocks(rollout: Rollout, charter: Charter, now: datetime) -> Rollout:
    """Start the soak clock of every stage that now has every client on it, restart it on a
    new release, stop the others (the rule is :func:`charter.soak.clocks`)."""
    return replace(rollout, stage_entered_at=soak_rule.clocks(rollout, charter, now))


def _below_minimum(
    rollout: Rollout, charter: Charter, minimums: Mapping[str, Minimum] | None
) -> bool:
    """Whether a client's release for the first stage is below the form's prerequisite."""
    return (
        bool(minimums)
        and not prerequisites(charter.rollout.stages[0], rollout, minimums or {}).passed
    )


def _waiting(
    rollout: Rollout, charter: Charter, minimums: Mapping[str, Minimum] | None
) -> str | None:
    """What a paused rollout would do now if it were not paused: enter its first stage (every
    client reported a release for it that meets its minimum) or complete (every client on
    the last stage)."""
    last = len(charter.stage_ids) - 1
    if rollout.stage_index == -1 and rollout.all_on(0):
        return (
            None
            if _below_minimum(rollout, charter, minimums)
            else f"it enters {charter.stage_ids[0]}"
        )
    if rollout.completed_at is None and rollout.stage_index == last and rollout.all_on(last):
        return "it completes"
    return None


def stage_index_of(charter: Charter, stage: str) -> int:
    """The index of a stage of the charter; an unknown one is input that can never be right
    (``ValueError`` naming the charter's stages)."""
    if charter.stage(stage) is None:
        stages = ", ".join(charter.stage_ids)
        raise ValueError(f"unknown stage {stage!r}; the charter's stages are {stages}")
    return charter.stage_ids.index(stage)


def _settle(
    rollout: Rollout,
    charter: Charter,
    now: datetime,
    minimums: Mapping[str, Minimum] | None = None,
) -> tuple[Rollout, tuple[Effect, ...]]:
    """Enter the first stage (once every client reported for it with a release meeting its
    prerequisite), run the clocks, complete: whatever the facts now imply. A paused rollout
    neither enters nor completes."""
    effects: list[Effect] = []
    first, last = charter.stage_ids[0], len(charter.stage_ids) - 1
    if rollout.paused:
        return _clocks(rollout, charter, now), ()
    if (
        rollout.stage_index == -1
        and rollout.all_on(0)
        and not _below_minimum(rollout, charter, minimums)
    ):
        rollout = replace(rollout, stage_index=0)
        effects.append(
            Audit("stage-entered", audit_subject(rollout), {"stage": first, "gates": []})
        )
        text = f"Every client has reported a release for {first}."
        effects.append(announce(rollout, charter, f"#{rollout.proposal} entered {first}", text))
    rollout = _clocks(rollout, charter, now)
    if rollout.completed_at is None and rollout.stage_index == last and rollout.all_on(last):
        rollout = replace(rollout, completed_at=now)
        effects.append(
            Audit("rollout-completed", audit_subject(rollout), {"stage": charter.stage_ids[last]})
        )
        title = f"#{rollout.proposal} rollout completed"
        text = f"Every client is on {charter.stage_ids[last]}."
        effects.append(announce(rollout, charter, title, text))
    return rollout, tuple(effects)


def report_ready(
    rollout: Rollout,
    charter: Charter,
    report: ReadyReport,
    minimums: Mapping[str, Minimum] | None = None,
) -> RolloutDecision:
    """Record a client's release for a stage; it puts the client on that stage. A release
    below its client's minimum (``minimums``: the form's prerequisites, charter.prerequisites)
    is recorded with a warning; until one that meets it is reported, the stage is not entered
    (the first stage's entry waits, a later one's ``prerequisites`` gate fails). A report that
    brings its stage a new release while the stage soaks restarts the soak, and the reply says
    so (:mod:`charter.soak`)."""
    index = stage_index_of(charter, report.stage)
    if not report.version.strip():
        raise ValueError("a readiness report needs the released version")
    if (moving := moving_ref(report.ref)) is not None:  # a branch: any later commit's checks
        raise ValueError(moving)
    if report.client not in rollout.clients:
        clients = ", ".join(rollout.clients)
        return refuse(
            rollout, f"{report.client} is not in the rollout of #{rollout.proposal} ({clients})"
        )
    if index > rollout.stage_index + 1:
        nearest = charter.stage_ids[rollout.stage_index + 1]
        where = f"#{rollout.proposal} is at {rollout.stage_name(charter)}"
        return refuse(rollout, f"{where}: report for {nearest} or earlier, not {report.stage}")
    own = rollout.position(report.client)
    if index > own + 1:  # an override let the rollout ahead of this client: no skipping
        nxt, on = charter.stage_ids[own + 1], rollout.stage_name(charter, own)
        text = f"{report.client} is on {on}: report {report.client} ready for {nxt} first"
        return refuse(rollout, f"{text}, not {report.stage}")
    positions = {**rollout.positions, report.client: max(own, index)}
    moved = replace(rollout, reports=(*rollout.reports, report), positions=positions)
    moved, settled = _settle(moved, charter, report.at, minimums)
    warning = ""
    minimum = (minimums or {}).get(report.client)
    if minimum is not None and minimum.admits(report.version) is False:
        then = (
            f"{report.stage} is not entered until a release that does is reported"
            if index > rollout.stage_index
            else "report a release that does"
        )
        warning = (
            f"; warning: {report.version} does not meet the proposal's prerequisite {minimum};"
            f" {then}"
        )
    warning = _soak_restart(rollout, moved, report) + warning
    waits = _waiting(moved, charter, minimums) if moved.paused else None
    if waits is not None:
        warning += f"; #{rollout.proposal} is paused ({moved.pause_reason}): {waits} once resumed"
    voids = drill_rules.voided(rollout, moved, charter, report.client)
    warning += "".join(f"; {void}" for void in voids)
    payload = {
        "client": report.client,
        "stage": report.stage,
        "version": report.version,
        "ref": report.ref,
        "notes": report.notes,
        "by": report.reported_by,
    }
    effects: tuple[Effect, ...] = (
        Audit("ready-reported", audit_subject(rollout), payload),
        *settled,
        *_drills_voided(moved, charter, report, voids),
        SyncTracking(rollout.proposal),
        Reply(f"recorded {report.client} {report.version} for {report.stage}{warning}"),
    )
    return RolloutDecision(moved, effects)


def _drills_voided(
    rollout: Rollout, charter: Charter, report: ReadyReport, voids: Sequence[str]
) -> tuple[Effect, ...]:
    """The announcement that ``report`` voided its client's rollback drills (none: none)."""
    if not voids:
        return ()
    title = f"#{rollout.proposal} rollback drill no longer counts: {report.client}"
    said = f"{report.client} reported {report.version} for {report.stage}: {'; '.join(voids)}."
    return (announce(rollout, charter, title, said),)


def _soak_restart(before: Rollout, after: Rollout, report: ReadyReport) -> str:
    """What the reply adds when ``report`` restarted the running soak clock of its stage with a
    new release ("; aurora's canary soak restarts: 2.0.0 replaces 1.9.0"), else ""."""
    was, now = before.stage_entered_at.get(report.stage), after.stage_entered_at.get(report.stage)
    old = soak_rule.replaced(after, report)
    if old is None or was is None or now != report.at or was == now:
        return ""
    new, gone = soak_rule.shown(report, old), soak_rule.shown(old, report)
    return f"; {report.client}'s {report.stage} soak restarts: {new} replaces {gone}"


def _cannot_advance(rollout: Rollout, charter: Charter, facts: GateFacts) -> str | None:
    n = rollout.proposal
    if rollout.completed_at is not None:
        return f"#{n} has completed its rollout"
    if rollout.paused:
        holds = "\n".join(
            f"- {_what_lifts(key, reason, n, charter, facts)}" for key, reason in rollout.pauses
        )
        return f"#{n} is paused; it advances once every hold is lifted:\n{holds}"
    waiting = ", ".join(
        c for c in rollout.clients if rollout.position(c) < max(rollout.stage_index, 0)
    )
    if rollout.stage_index == len(charter.stage_ids) - 1:
        return f"#{n} is on its last stage; it completes once all are on it (waiting for {waiting})"
    if rollout.stage_index == -1 and waiting:
        return f"#{n} has not entered {charter.stage_ids[0]} yet (waiting for {waiting})"
    return None  # pending with every client reported: the first stage's gates decide


def _what_lifts(key: str, reason: str, n: int, charter: Charter, facts: GateFacts) -> str:
    """A hold and what lifts it: a hold by hand, ``rollout resume`` by an override role; an
    incident's, resolving the incident. An incident confidential to those who read the refusal
    (its id in ``facts.confidential``) is said as :func:`charter.gates.incident_reason` says
    it, by its severity alone, whatever its hold's reason says."""
    if not key:
        return f"{reason} — {_lift(charter, n)}"
    if key not in facts.confidential:
        return f"{reason} — lifted when incident {key} is resolved (`incident resolve #{key}`)"
    severity = next((f" ({i.severity})" for i in facts.incidents if i.id == key), "")
    return f"{CONFIDENTIAL_INCIDENT}{severity} — lifted when that incident is resolved"


def _failures(results: Sequence[GateResult]) -> str:
    """The failing gates, one line each, each named once as ``rollout <n>`` names them."""
    return "\n".join(f"- {r.line}" for r in results if not r.passed)


def _not_next(rollout: Rollout, charter: Charter, to: str) -> str | None:
    """Why ``advance … to <to>`` is refused (None when ``to`` is the stage it enters next)."""
    n, nxt = rollout.proposal, charter.stage_ids[rollout.stage_index + 1]
    if to == nxt:
        return None
    if charter.stage_ids.index(to) <= rollout.stage_index:
        return f"#{n} is already in {rollout.stage_name(charter)}; its next stage is {nxt}"
    return f"#{n} is at {rollout.stage_name(charter)}; it enters {nxt} next, not {to}"


def _typed_override(n: int, stage: str, reason: str) -> str:
    """The override as a person types it: the stage named, the reason quoted when it can be."""
    said = reason if '"' in reason else f'"{reason}"'
    return f"advance {n} to {stage} --override {said}"


def advance(
    rollout: Rollout,
    charter: Charter,
    facts: GateFacts,
    now: datetime,
    *,
    by: str,
    override_reason: str | None = None,
    may_override: bool = False,
    to: str | None = None,
) -> RolloutDecision:
    """Enter the next stage when every gate passes, or with a permitted, reasoned override.

    ``to`` names the stage to enter; it must be the next one. An override must name it: with
    no target, a repeated or retyped override would enter the stage after, whose gates nobody
    saw. Without ``to`` it is refused, the reply giving the command to type."""
    if override_reason is not None:
        override_reason = _reason(override_reason, "an override")
    if to is not None:
        stage_index_of(charter, to)
    refusal = _cannot_advance(rollout, charter, facts)
    if refusal is not None:
        return refuse(rollout, refusal)
    target = charter.rollout.stages[rollout.stage_index + 1]
    wrong = None if to is None else _not_next(rollout, charter, to)
    if wrong is not None:
        return refuse(rollout, wrong)
    if override_reason is not None and to is None:
        typed = _typed_override(rollout.proposal, target.id, override_reason)
        why = "an override must name it, so a repeat cannot skip a stage"
        return refuse(rollout, f"#{rollout.proposal} enters {target.id} next; {why}: {typed}")
    results = evaluate(target, rollout, facts, charter, now)
    failing = tuple(r for r in results if not r.passed)
    n = rollout.proposal
    effects: list[Effect] = []
    moved = replace(rollout, stage_index=rollout.stage_index + 1)
    title, text = f"#{n} advanced to {target.id}", f"All gates passed; advanced by {by}."
    if failing:
        if override_reason is None:
            return refuse(rollout, f"#{n} cannot advance to {target.id}:\n{_failures(failing)}")
        if not may_override:
            who = ", ".join(charter.rollout.override_roles) or "nobody"
            return refuse(rollout, f"only {who} may override a failing gate (#{n} → {target.id})")
        gates = tuple(r.gate for r in failing)
        record = Override(target.id, override_reason, by, now, gates)
        moved = replace(moved, overrides=(*moved.overrides, record))
        payload = {"stage": target.id, "reason": override_reason, "by": by}
        failed = [r.reason for r in failing]
        effects.append(
            Audit("gate-overridden", audit_subject(rollout), payload | {"failing": failed})
        )
        title += " by override"
        text = f"OVERRIDE by {by}: {override_reason}\nGates that failed:\n{_failures(failing)}"
    moved, settled = _settle(moved, charter, now)
    gates_payload = [{"gate": r.gate, "passed": r.passed, "reason": r.reason} for r in results]
    effects.append(
        Audit("stage-entered", audit_subject(rollout), {"stage": target.id, "gates": gates_payload})
    )
    effects.append(announce(moved, charter, title, text))
    effects.extend(settled)
    effects.append(SyncTracking(n))
    effects.append(Reply(title))
    return RolloutDecision(moved, tuple(effects))


def rollback(
    rollout: Rollout,
    charter: Charter,
    reason: str,
    by: str,
    now: datetime,
    *,
    clients: Sequence[str] | None = None,
    may_end: bool = False,
) -> RolloutDecision:
    """Move the named clients (default: all) back one stage; the rollout moves back to the
    lowest stage a client is then on, so entering the stages above it again runs their gates.

    ``may_end``: the one rolling back may end the proposal (who may is the service's rule: those
    who may roll back every client at once, :mod:`charter.authz`). Then a rollback that leaves
    no client on any stage ends it for good, and the announcement and reply say so instead of
    that the rollout is pending again. A rollout whose clients were all rolled back already
    (each maintainer their own) is then ended as it is: nothing moves, the rollback is recorded."""
    reason = _reason(reason, "a rollback")
    names = tuple(clients) if clients else rollout.clients
    strangers = [c for c in names if c not in rollout.clients]
    if strangers:
        return refuse(rollout, f"{', '.join(strangers)} not in the rollout of #{rollout.proposal}")
    idle = [c for c in names if rollout.position(c) < 0]
    if may_end and all(rollout.position(c) < 0 for c in rollout.clients):
        return _end_idle(rollout, charter, reason, by, now)
    if idle:
        return refuse(rollout, f"{', '.join(idle)} not on any stage yet; nothing to roll back")
    positions = {**rollout.positions, **{c: rollout.position(c) - 1 for c in names}}
    lowest = min(positions.get(c, -1) for c in rollout.clients)
    moved = replace(
        rollout,
        positions=positions,
        stage_index=min(rollout.stage_index, lowest),
        rollbacks=(*rollout.rollbacks, RollbackRecord(names, reason, by, now)),
        completed_at=None,
    )
    moved = _clocks(moved, charter, now)
    ends = may_end and all(moved.position(c) < 0 for c in moved.clients)
    moves = {
        c: [
            rollout.stage_name(charter, rollout.position(c)),
            moved.stage_name(charter, positions[c]),
        ]
        for c in names
    }
    said = ", ".join(f"{c} {a} → {b}" for c, (a, b) in moves.items())
    effects: tuple[Effect, ...] = (
        Audit(
            "rollout-rolled-back",
            audit_subject(rollout),
            {"moves": moves, "reason": reason, "by": by},
        ),
        announce(
            moved,
            charter,
            f"#{rollout.proposal} rollback: {said}",
            f"Rolled back by {by}: {reason}{_back_on(rollout, moved, charter, ends=ends)}",
        ),
        SyncTracking(rollout.proposal),
        Reply(f"rolled back {said}" + (f"; {_ended(rollout.proposal)}" if ends else "")),
    )
    return RolloutDecision(moved, effects)


def _end_idle(
    rollout: Rollout, charter: Charter, reason: str, by: str, now: datetime
) -> RolloutDecision:
    """End a proposal whose clients were all rolled back already (each maintainer their own):
    nothing moves, but the rollback is recorded so that the proposal ends (rolled-back)."""
    n = rollout.proposal
    moved = replace(
        rollout,
        rollbacks=(*rollout.rollbacks, RollbackRecord(rollout.clients, reason, by, now)),
        completed_at=None,
    )
    effects: tuple[Effect, ...] = (
        Audit(
            "rollout-rolled-back", audit_subject(rollout), {"moves": {}, "reason": reason, "by": by}
        ),
        announce(moved, charter, f"#{n} rollback", f"Rolled back by {by}: {reason}\n{_ended(n)}."),
        SyncTracking(n),
        Reply(_ended(n)),
    )
    return RolloutDecision(moved, effects)


def _ended(n: int) -> str:
    return f"#{n} is rolled back from every stage and ends here; a new proposal is needed to retry"


def _back_on(before: Rollout, after: Rollout, charter: Charter, *, ends: bool = False) -> str:
    """A sentence for a rollback that ended the proposal, or moved the rollout itself back
    (else nothing)."""
    if ends:
        return f"\n{_ended(after.proposal)}."
    if after.stage_index == before.stage_index:
        return ""
    n, again = after.proposal, charter.stage_ids[after.stage_index + 1]
    if after.stage_index == -1:
        return f"\n#{n} is pending again: {again} is entered once every client reports for it."
    return (
        f"\n#{n} is back on {after.stage_name(charter)}: {again} is entered again only by"
        " `advance`, its gates asked anew."
    )


def pause(
    rollout: Rollout,
    incident_id: str | None,
    reason: str,
    charter: Charter,
    *,
    by: str = "",
    at_start: bool = False,
) -> RolloutDecision:
    """Hold the rollout at its stage, for an incident or by hand (``incident_id`` None).

    An incident holds a rollout once (a repeat changes nothing and says nothing). A rollout has
    at most one hold by hand: pausing it again is refused, naming the hold and how to lift it,
    so neither the audit log nor the channels hear of it twice. A hand hold records who placed
    it (``by``) in its reason, which every view of the pause shows. ``at_start``: an incident's
    hold placed as the rollout starts (recorded so: such a hold does not make the incident
    confidential, :func:`storage.dashboard_queries.confidential_incidents`)."""
    reason = _reason(reason, "a pause")
    key, n = incident_id or "", rollout.proposal
    if rollout.completed_at is not None:
        return refuse(rollout, f"#{n} has completed its rollout; nothing to pause")
    if key and any(k == key for k, _ in rollout.pauses):
        return RolloutDecision(rollout, ())  # the same incident pauses once
    lift = _lift(charter, n)
    if not key and _hand_holds(rollout):
        holds = "; ".join(_hand_holds(rollout))
        return refuse(rollout, f"#{n} is already paused by hand ({holds}); {lift}.")
    if key:
        held = replace(rollout, pauses=(*rollout.pauses, (key, reason)))
        payload: dict[str, object] = {"incident": incident_id, "reason": reason}
        if at_start:
            payload["at_start"] = True
        return RolloutDecision(
            held,
            (
                Audit("rollout-paused", audit_subject(rollout), payload),
                announce(held, charter, f"#{n} rollout paused", reason),
                SyncTracking(n),
            ),
        )
    hold = f"held by {by}: {reason}" if by else reason
    held = replace(rollout, pauses=(*rollout.pauses, ("", hold)))
    stops = f"#{n} does not advance, enter its first stage or complete until {lift}"
    text = f"Paused by hand{f' by {by}' if by else ''}: {reason}\n{stops}."
    return RolloutDecision(
        held,
        (
            Audit(
                "rollout-paused",
                audit_subject(rollout),
                {"incident": None, "reason": reason, "by": by},
            ),
            announce(held, charter, f"#{n} rollout paused", text),
            SyncTracking(n),
            Reply(f"#{n} paused: {reason}. {stops}."),
        ),
    )


def _lift(charter: Charter, n: int) -> str:
    """Who lifts a hold by hand, and how: "a member of coordinators lifts it with `…`"."""
    how, roles = f"`rollout resume {n}`", charter.rollout.override_roles
    return f"a member of {' or '.join(roles)} lifts it with {how}" if roles else f"{how} lifts it"


def _hand_holds(rollout: Rollout) -> list[str]:
    """The reasons of the holds placed by hand (an incident's hold is keyed by its id)."""
    return [reason for k, reason in rollout.pauses if not k]


def resume(
    rollout: Rollout,
    charter: Charter,
    by: str,
    *,
    incident_id: str | None = None,
    now: datetime | None = None,
    minimums: Mapping[str, Minimum] | None = None,
    reason: str = "",
    ended: bool = False,
    confidential: Collection[str] = (),
) -> RolloutDecision:
    """Lift one incident's hold (``incident_id``), or the hold placed by hand (None); announce
    when none is left. With ``now``, what waited for the pause happens once none is left: the
    first stage is entered (every client reported, releases meeting ``minimums``) or the
    rollout completes. ``ended``: the proposal is over, so the hold is lifted silently
    (audited, no announcement, nothing happens; the reply says the proposal has ended).

    A hand resume never lifts an incident's hold: that is lifted when its incident is resolved.
    With only incidents holding the rollout it is refused, naming them; with one left after
    the hand hold is lifted, the lifting is audited, announced and answered with what still
    holds the rollout. ``reason`` (optional) is recorded and announced with a hand resume.
    A refusal names the holds as :func:`_holds` words them: the public may read it in the
    audit log, so an incident of ``confidential`` is said by no more than that, whatever its
    hold's reason says (it may date from before the incident became confidential)."""
    n = rollout.proposal
    if not rollout.paused:
        return refuse(rollout, f"#{n} is not paused")
    if incident_id is not None and all(k != incident_id for k, _ in rollout.pauses):
        held = _holds(rollout, confidential)
        return refuse(rollout, f"incident {incident_id} does not hold #{n} ({held})")
    if incident_id is None and not _hand_holds(rollout):
        return refuse(
            rollout,
            f"#{n} is not paused by hand; it is held by {_holds(rollout, confidential)}. An"
            " incident's hold is lifted when the incident is resolved (`incident resolve"
            f' #<id>`), or on this rollout alone by `rollout resume {n} --override "<reason>"`.',
        )
    key = incident_id or ""
    freed = replace(rollout, pauses=tuple(p for p in rollout.pauses if p[0] != key))
    payload: dict[str, object] = {"incident": incident_id, "by": by, "still_paused": freed.paused}
    if incident_id is None:
        payload["reason"] = reason.strip()
    if ended:  # nothing of it moves again: no "resumed" to announce, nothing waits
        payload["ended"] = True
        over = Reply(f"#{n} has ended; its hold is lifted, and it does not resume")
        return RolloutDecision(
            freed,
            (Audit("rollout-resumed", audit_subject(rollout), payload), SyncTracking(n), over),
        )
    effects: list[Effect] = [Audit("rollout-resumed", audit_subject(rollout), payload)]
    said = f"Resumed by {by}" + (f": {reason.strip()}" if reason.strip() else ".")
    if freed.paused:
        if incident_id is None:  # the incident's own announcements tell of its resolution
            title = f"#{n} hold by hand lifted; still paused"
            still = f"{said}\nStill paused: {freed.pause_reason}."
            effects += [announce(freed, charter, title, still), SyncTracking(n)]
            lifted = f"#{n}: the hold by hand is lifted, but #{n} is still paused:"
            why = "An incident's hold is lifted when the incident is resolved."
            effects.append(Reply(f"{lifted} {freed.pause_reason}. {why}"))
        else:
            effects.append(Reply(f"#{n} is still paused: {freed.pause_reason}"))
        return RolloutDecision(freed, tuple(effects))
    return _resumed(freed, charter, said, effects, now, minimums)


def _holds(rollout: Rollout, confidential: Collection[str]) -> str:
    """The rollout's holds as a refusal says them: an incident of ``confidential`` only as
    :data:`charter.gates.CONFIDENTIAL_INCIDENT`."""
    return "; ".join(CONFIDENTIAL_INCIDENT if k in confidential else r for k, r in rollout.pauses)


def _resumed(
    freed: Rollout,
    charter: Charter,
    said: str,
    effects: list[Effect],
    now: datetime | None,
    minimums: Mapping[str, Minimum] | None,
    after: str = "",
) -> RolloutDecision:
    """A rollout left with no hold: announced as resumed (``said``), then, with ``now``, what
    waited happens; the reply says what did, then ``after``."""
    n = freed.proposal
    effects.append(announce(freed, charter, f"#{n} rollout resumed", said))
    before = freed
    if now is not None:
        freed, settled = _settle(freed, charter, now, minimums)
        effects.extend(settled)
    effects.append(SyncTracking(n))
    effects.append(Reply(f"#{n} resumed{_what_happened(before, freed, charter)}{after}"))
    return RolloutDecision(freed, tuple(effects))


def override_holds(
    rollout: Rollout,
    charter: Charter,
    by: str,
    reason: str,
    *,
    now: datetime | None = None,
    minimums: Mapping[str, Minimum] | None = None,
) -> RolloutDecision:
    """Lift every hold of the rollout by a written override (``rollout resume <n> --override
    "<reason>"``, an override role's: :mod:`charter.authz`): each incident's hold, and the one
    by hand beside them. The incidents stay open; only their holds on this rollout are lifted,
    and their ``block_on_incident`` gates still keep it from entering a stage unless overridden
    at ``advance``. Audited with the reason and the incidents, announced; then what waited
    happens, as at any resume. A rollout no incident holds is refused (a plain ``rollout
    resume`` lifts a hold by hand)."""
    reason = _reason(reason, "an override")
    n = rollout.proposal
    if not rollout.paused:
        return refuse(rollout, f"#{n} is not paused")
    incidents = [k for k, _ in rollout.pauses if k]
    if not incidents:
        return refuse(
            rollout, f"no incident holds #{n}; `rollout resume {n}` lifts its hold by hand"
        )
    freed = replace(rollout, pauses=())
    payload: dict[str, object] = {
        "incident": None,
        "incidents": incidents,
        "by": by,
        "still_paused": False,
        "override": reason,
    }
    effects: list[Effect] = [Audit("rollout-resumed", audit_subject(rollout), payload)]
    holds = "; ".join(said for _, said in rollout.pauses)
    said = f"Resumed by {by} over {holds}.\nOverride: {reason}"
    open_ = "s stay" if len(incidents) > 1 else " stays"
    stays = f"; the incident{open_} open, and {_STILL_GATED}"
    return _resumed(freed, charter, said, effects, now, minimums, stays)


_STILL_GATED = "its gates still apply at `advance` (`--override` there passes them)"


def _what_happened(before: Rollout, after: Rollout, charter: Charter) -> str:
    """What resuming set off, for the reply: the first stage entered, or the completion."""
    if after.completed_at is not None and before.completed_at is None:
        return "; its rollout completed"
    if after.stage_index != before.stage_index:
        return f"; it entered {after.stage_name(charter)}"
    return ""
