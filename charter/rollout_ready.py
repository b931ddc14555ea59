"""Starting a rollout and recording what its clients report: releases (``ready``) and checks.

Rules (charter ``rollout``):
- A rollout starts *pending* (stage index -1), with one or more distinct clients. A client is
  *on* a stage once it has reported a release for it; a report never moves a client down, only
  a rollback does (one stage back, :mod:`charter.rollout_rollback`).
- A client may report for any stage up to the one after the rollout's current stage, and up
  to the one after its own: every client moves through the stages in order, so a client the
  rollout left behind by override reports for the stage it skipped first (a report past it
  would count the client as on that stage, and start its soak, without it ever running there).
- A report names the released version and never a moving ref (a branch); a release below its
  client's minimum is recorded with a warning, and its stage is not entered until one that
  meets it is reported. A report that brings its stage a new release while the stage soaks
  restarts the soak, and the reply says so; one that voids the client's rollback drills says
  so and announces it (:func:`charter.drills.voided`). On a paused rollout the reply says what
  waits for the resume. Whatever the report implies then happens
  (:func:`charter.rollout_settle.settle`).
- A check run is remembered; the latest run of a name on a commit is the one that counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from charter import drills as drill_rules, soak as soak_rule
from charter.effects import Audit, Effect, Reply, SyncTracking
from charter.model import Charter
from charter.prerequisites import Minimum
from charter.rollout_decision import (
    RolloutDecision,
    announce,
    audit_subject,
    refuse,
    stage_index_of,
)
from charter.rollout_facts import CheckResult, ReadyReport, Rollout, moving_ref, version_at
from charter.rollout_settle import settle, waiting


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
    refusal = _out_of_order(rollout, charter, report, index)
    if refusal is not None:
        return refuse(rollout, refusal)
    positions = {**rollout.positions, report.client: max(rollout.position(report.client), index)}
    moved = replace(rollout, reports=(*rollout.reports, report), positions=positions)
    moved, settled = settle(moved, charter, report.at, minimums)
    voids = drill_rules.voided(rollout, moved, charter, report.client)
    warning = (
        _soak_restart(rollout, moved, report)
        + _below_minimum(rollout, report, index, minimums)
        + _paused(rollout, moved, charter, minimums)
        + "".join(f"; {void}" for void in voids)
    )
    release = version_at(report.version, report.ref)  # as views write it: 1.2.0@0123456789ab
    effects: tuple[Effect, ...] = (
        Audit("ready-reported", audit_subject(rollout), _audited(report)),
        *settled,
        *_drills_voided(moved, charter, report, voids),
        SyncTracking(rollout.proposal),
        Reply(f"recorded {report.client} {release} for {report.stage}{warning}"),
    )
    return RolloutDecision(moved, effects)


def _out_of_order(
    rollout: Rollout, charter: Charter, report: ReadyReport, index: int
) -> str | None:
    """Why ``report`` (for the stage at ``index``) is refused: its client is not in the
    rollout, or it reports past the stage after the rollout's, or past the one after its
    client's own (None when it may be recorded)."""
    if report.client not in rollout.clients:
        clients = ", ".join(rollout.clients)
        return f"{report.client} is not in the rollout of #{rollout.proposal} ({clients})"
    if index > rollout.stage_index + 1:
        nearest = charter.stage_ids[rollout.stage_index + 1]
        where = f"#{rollout.proposal} is at {rollout.stage_name(charter)}"
        return f"{where}: report for {nearest} or earlier, not {report.stage}"
    own = rollout.position(report.client)
    if index > own + 1:  # an override let the rollout ahead of this client: no skipping
        nxt, on = charter.stage_ids[own + 1], rollout.stage_name(charter, own)
        text = f"{report.client} is on {on}: report {report.client} ready for {nxt} first"
        return f"{text}, not {report.stage}"
    return None


def _below_minimum(
    rollout: Rollout, report: ReadyReport, index: int, minimums: Mapping[str, Minimum] | None
) -> str:
    """The reply's warning for a release below its client's minimum, saying that its stage is
    not entered until one that meets it is reported (else "")."""
    minimum = (minimums or {}).get(report.client)
    if minimum is None or minimum.admits(report.version) is not False:
        return ""
    then = (
        f"{report.stage} is not entered until a release that does is reported"
        if index > rollout.stage_index
        else "report a release that does"
    )
    return (
        f"; warning: {report.version} does not meet the proposal's prerequisite {minimum}; {then}"
    )


def _paused(
    before: Rollout, after: Rollout, charter: Charter, minimums: Mapping[str, Minimum] | None
) -> str:
    """What the reply adds on a paused rollout: what waits for the resume (else "")."""
    waits = waiting(after, charter, minimums) if after.paused else None
    if waits is None:
        return ""
    return f"; #{before.proposal} is paused ({after.pause_reason}): {waits} once resumed"


def _audited(report: ReadyReport) -> dict[str, str | None]:
    """The audit entry's payload: the report as made."""
    return {
        "client": report.client,
        "stage": report.stage,
        "version": report.version,
        "ref": report.ref,
        "notes": report.notes,
        "by": report.reported_by,
    }


def _drills_voided(
    rollout: Rollout, charter: Charter, report: ReadyReport, voids: Sequence[str]
) -> tuple[Effect, ...]:
    """The announcement that ``report`` voided its client's rollback drills (none: none)."""
    if not voids:
        return ()
    title = f"#{rollout.proposal} rollback drill no longer counts: {report.client}"
    said = f"{report.client} reported {report.version} for {report.stage}: {'; '.join(voids)}."
    return (announce(rollout, charter, title, said, about=(report.client,)),)


def _soak_restart(before: Rollout, after: Rollout, report: ReadyReport) -> str:
    """What the reply adds when ``report`` restarted the running soak clock of its stage with a
    new release ("; aurora's canary soak restarts: 2.0.0 replaces 1.9.0"), else ""."""
    was, now = before.stage_entered_at.get(report.stage), after.stage_entered_at.get(report.stage)
    old = soak_rule.replaced(after, report)
    if old is None or was is None or now != report.at or was == now:
        return ""
    new, gone = soak_rule.shown(report, old), soak_rule.shown(old, report)
    return f"; {report.client}'s {report.stage} soak restarts: {new} replaces {gone}"
