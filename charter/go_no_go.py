"""The go/no-go gate: a call decides "go" before a rollout enters a stage that asks for one.

Rules:
- A decision counts for entering a stage (:func:`current_go_no_go`) when it is the latest one
  for the proposal and stage made at or after the rollout last entered the stage before (when
  that stage's soak clock last started, or restarted with a new release), after the latest
  rollback out of the stage itself (:func:`rolled_back_from`) and at or after the latest report
  that brought the stage itself a release (:func:`charter.soak.brought`). A decision from before
  a rollback and re-soak, from before a client was rolled back from the stage, or from before a
  release it did not see was reported for the stage no longer counts: a new call must decide.
- The gate (:func:`gate`, said as a gate result by :func:`charter.gates.go_no_go`) passes on a
  "go" that counts; its reason names the decision, or says why it no longer counts.
- When it fails while the stage's current call (the latest attempt, which still stands for the
  soak: :mod:`bot.meetings_go_no_go`) was cancelled by hand, no call will decide by itself: the
  reason also names that call and the commands that go on, as the cancel's reply does
  (:func:`hand_cancelled`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from charter.model import Charter, Stage
from charter.rollout_facts import RollbackRecord, Rollout
from charter.soak import brought, replacing, restart


@dataclass(frozen=True)
class GoNoGo:
    """A go/no-go call's recorded decision for one proposal's stage."""

    proposal: int
    stage: str
    decision: Literal["go", "no-go"]
    by: str
    at: datetime


def _soak_clock(stage: Stage, rollout: Rollout, charter: Charter) -> tuple[str, datetime] | None:
    idx = charter.stage_ids.index(stage.id)
    if idx == 0:
        return None
    prev = charter.stage_ids[idx - 1]
    since = rollout.stage_entered_at.get(prev)
    return None if since is None else (prev, since)


def soak_started(stage: Stage, rollout: Rollout, charter: Charter) -> datetime | None:
    """When the rollout last entered the stage before ``stage`` (its soak clock's start), or
    None for the first stage or while that clock is stopped (not every client is on it)."""
    clock = _soak_clock(stage, rollout, charter)
    return None if clock is None else clock[1]


def rolled_back_from(stage: Stage, rollout: Rollout) -> RollbackRecord | None:
    """The latest rollback out of ``stage``: one naming a client that had reported a release for
    the stage by then (None when there was none). A go/no-go decided before it no longer counts:
    the stage is to be entered again, with the release that replaces the one rolled back."""
    out = [
        b
        for b in rollout.rollbacks
        if any(
            r.stage == stage.id and r.client in b.clients and r.at <= b.at for r in rollout.reports
        )
    ]
    return max(out, key=lambda b: b.at, default=None)


def _entered(rollout: Rollout, prev: str) -> str:
    """What last started ``prev``'s soak clock: the rollout entering it, or a new release."""
    found = restart(rollout, prev)
    return f"the rollout last entered {prev}" if found is None else f"{replacing(*found)} on {prev}"


def _cutoff(stage: Stage, rollout: Rollout, charter: Charter | None) -> tuple[str, datetime] | None:
    """Since when go/no-go decisions for ``stage`` count, and why: the latest of the soak
    clock's start of the stage before (with ``charter``), the latest rollback out of ``stage``
    and the latest report that brought ``stage`` a release (:func:`charter.soak.brought`)."""
    clock = _soak_clock(stage, rollout, charter) if charter is not None else None
    back, report = rolled_back_from(stage, rollout), brought(rollout, stage.id)
    entered = None if clock is None else (_entered(rollout, clock[0]), clock[1])
    left = None if back is None else (f"the rollback out of {stage.id}", back.at)
    new = (
        None
        if report is None
        else (f"{report.client}'s report of {report.version} for {stage.id}", report.at)
    )
    found = [c for c in (entered, left, new) if c is not None]
    return max(found, key=lambda c: c[1], default=None)


def _latest(
    stage: Stage, rollout: Rollout, decisions: Sequence[GoNoGo], since: datetime | None = None
) -> GoNoGo | None:
    mine = [
        d
        for d in decisions
        if d.proposal == rollout.proposal
        and d.stage == stage.id
        and (since is None or d.at >= since)
    ]
    return max(mine, key=lambda d: d.at, default=None)


def current_go_no_go(
    stage: Stage, rollout: Rollout, decisions: Sequence[GoNoGo], charter: Charter
) -> GoNoGo | None:
    """The go/no-go decision that counts for entering ``stage``: the latest one for this
    proposal and stage made at or after the rollout last entered the stage before (its soak
    clock's latest start), after the latest rollback out of ``stage`` and at or after the latest
    report that brought ``stage`` a release."""
    cutoff = _cutoff(stage, rollout, charter)
    return _latest(stage, rollout, decisions, None if cutoff is None else cutoff[1])


def hand_cancelled(stage: Stage, rollout: Rollout, call: str) -> str:
    """What a failing reason adds when ``call``, the stage's current go/no-go call, was
    cancelled by hand: no call replaces it by itself, so the rollout waits on a person; a
    coordinator holds the call again with ``meeting schedule go-no-go-<n>-<stage> <when>``, or
    the override roles enter a decision made elsewhere with an override (the cancel's reply
    names the same commands). It says who may, since the dashboard shows it to anyone."""
    n = rollout.proposal
    return (
        f"; its call {call} was cancelled by hand and none replaces it: a coordinator may hold"
        f" it again (/charter meeting schedule go-no-go-{n}-{stage.id} <when>), or the override"
        f' roles advance past it (/charter advance {n} to {stage.id} --override "<where and what'
        f' was decided>")'
    )


def gate(
    stage: Stage,
    rollout: Rollout,
    decisions: Sequence[GoNoGo],
    charter: Charter | None = None,
    cancelled: str | None = None,
) -> tuple[bool, str]:
    """Whether the gate passes, and why: the latest decision for the stage must be "go"; only
    decisions made after the latest rollback out of the stage and since the latest report that
    brought the stage a release count, and with ``charter`` (the stage order) only those made
    since the rollout last entered the stage before. A failing reason, when ``cancelled`` names
    the stage's current call cancelled by hand, ends with :func:`hand_cancelled`.
    (:func:`charter.gates.go_no_go` says it as a gate result.)"""
    if not stage.go_no_go_meeting:
        return (True, f"go/no-go: no call required for {stage.id}")
    passed, reason = _decided(stage, rollout, decisions, charter)
    if passed or cancelled is None:
        return passed, reason
    return False, reason + hand_cancelled(stage, rollout, cancelled)


def _decided(
    stage: Stage, rollout: Rollout, decisions: Sequence[GoNoGo], charter: Charter | None
) -> tuple[bool, str]:
    """:func:`gate` for a stage that asks for a call, by the decisions alone."""
    latest = _latest(stage, rollout, decisions)
    if latest is None:
        return (False, f"go/no-go: no decision recorded for {stage.id}")
    when = f"{latest.at:%Y-%m-%d %H:%M} UTC"
    cutoff = _cutoff(stage, rollout, charter)
    if cutoff is not None and latest.at < cutoff[1]:
        what, since = cutoff
        return (
            False,
            f"go/no-go: the last decision for {stage.id} ({latest.decision}, {latest.by}, "
            f"{when}) was made before {what} ({since:%Y-%m-%d %H:%M} UTC); a new go/no-go "
            f"call must decide",
        )
    said = f"go/no-go: the call decided {latest.decision} for {stage.id} ({latest.by}, {when})"
    return latest.decision == "go", said
