"""Entering the next stage: ``advance``, by its gates or by a written override.

Rules (charter ``rollout``):
- Each stage after the first is entered by ``advance``, which passes only when every gate of
  that stage passes (:func:`charter.gates.evaluate`), or when someone who may override gives a
  written reason (audited, and announced as such) and names the stage (``to``). ``advance`` may
  name the stage it enters and an override must: it enters that stage only when it is the next
  one, so a repeated or retyped override ("#1 is already in canary") never enters the stage
  after, whose gates nobody saw. An override naming none is refused with the command to type.
- The first stage is entered by every client's report (:mod:`charter.rollout_settle`); when
  every client has reported and only the prerequisites hold it, ``advance`` enters it like any
  later stage: its gates fail with the clients whose release is too low, and a permitted,
  reasoned override passes them.
- Re-entry is entry: a stage entered again after a rollback is entered by ``advance``, which
  asks every gate anew for every client (:mod:`charter.rollout_rollback`).
- Nothing advances a completed rollout, a paused one (the refusal names each hold and what
  lifts it, a confidential incident by its severity alone), one on its last stage, or a pending
  one still waiting for clients' reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from charter.effects import Audit, Effect, Reply, SyncTracking
from charter.gates import CONFIDENTIAL_INCIDENT, GateFacts, GateResult, evaluate
from charter.model import Charter
from charter.rollout_decision import (
    RolloutDecision,
    announce,
    audit_subject,
    refuse,
    written_reason,
)
from charter.rollout_facts import Override, Rollout
from charter.rollout_holds import who_lifts
from charter.rollout_settle import settle
from charter.validate import suggest


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
        return f"{reason} — {who_lifts(charter, n)}"
    if key not in facts.confidential:
        resolve = f"`/charter incident resolve #{key}`"
        return f"{reason} — lifted when incident {key} is resolved ({resolve})"
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
    return f"/charter advance {n} to {stage} --override {said}"


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
        override_reason = written_reason(override_reason, "an override")
    if to is not None:
        _known_stage(charter, to)
    refusal = _refusal_before_gates(rollout, charter, facts, to, override_reason)
    if refusal is not None:
        return refuse(rollout, refusal)
    target = charter.rollout.stages[rollout.stage_index + 1]
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
        record = Override(target.id, override_reason, by, now, tuple(r.gate for r in failing))
        moved = replace(moved, overrides=(*moved.overrides, record))
        effects.append(_override_audited(rollout, record, failing))
        title += " by override"
        text = f"OVERRIDE by {by}: {override_reason}\nGates that failed:\n{_failures(failing)}"
    moved, settled = settle(moved, charter, now)
    effects.append(_entry_audited(rollout, target.id, results))
    effects.append(announce(moved, charter, title, text))
    effects.extend(settled)
    effects.append(SyncTracking(n))
    effects.append(Reply(title))
    return RolloutDecision(moved, tuple(effects))


def _known_stage(charter: Charter, to: str) -> None:
    """Raise ``ValueError`` for a stage the charter does not have: input that can never be
    right, so not a refusal."""
    if charter.stage(to) is None:
        stages = ", ".join(charter.stage_ids)
        close = suggest(to, charter.stage_ids)
        raise ValueError(f"unknown stage {to!r}{close}; the charter's stages are {stages}")


def _refusal_before_gates(
    rollout: Rollout, charter: Charter, facts: GateFacts, to: str | None, override: str | None
) -> str | None:
    """Why ``advance`` is refused before any gate is asked: nothing may advance the rollout,
    ``to`` is not its next stage, or an override names no stage (None: ask the gates)."""
    refusal = _cannot_advance(rollout, charter, facts)
    if refusal is not None:
        return refusal
    target = charter.rollout.stages[rollout.stage_index + 1]
    wrong = None if to is None else _not_next(rollout, charter, to)
    if wrong is not None:
        return wrong
    if override is not None and to is None:
        typed = _typed_override(rollout.proposal, target.id, override)
        why = "an override must name it, so a repeat cannot skip a stage"
        return f"#{rollout.proposal} enters {target.id} next; {why}: {typed}"
    return None


def _override_audited(rollout: Rollout, record: Override, failing: Sequence[GateResult]) -> Audit:
    """The audit entry of an override: its stage, reason and author, and the failing gates."""
    payload = {"stage": record.stage, "reason": record.reason, "by": record.by}
    failed = [r.reason for r in failing]
    return Audit("gate-overridden", audit_subject(rollout), payload | {"failing": failed})


def _entry_audited(rollout: Rollout, stage: str, results: Sequence[GateResult]) -> Audit:
    """The audit entry of entering ``stage``: every gate asked, passed or not, and why."""
    gates = [{"gate": r.gate, "passed": r.passed, "reason": r.reason} for r in results]
    return Audit("stage-entered", audit_subject(rollout), {"stage": stage, "gates": gates})
