"""Recording a rollback drill on a rollout: what is accepted, audited, announced and replied.

Rules (the scoring and the gate are :mod:`charter.drills`'s):

- A drill names a client of the rollout and a stage of the charter (an unknown stage, a failed
  drill without what went wrong, or a recovery of no time at all is input that can never be
  right: ``ValueError``).
- A drill rehearses rolling back the release the client runs on the stage, so the client must
  have reported a release for it and still be on it (or past it); otherwise it is refused with
  what to do first. Paused or completed rollouts take drills like reports: nothing moves.
- The drill keeps the version it rehearsed (the client's latest release for the stage), is
  audited (``drill-reported``), announced as a rollout event with its score, and answered with
  the score and the limit that scored it. A drill on a stage no stage requires one on is
  recorded too, and the reply says that it gates nothing.
- A drill may be planned (:func:`schedule_drill`) for any client of the rollout on any stage,
  before its release is there: it is audited (``drill-scheduled``), announced and shown as
  planned until a drill is reported (:func:`charter.drills.planned`); a plan replacing one
  still pending says so ("it replaces the plan for …"). Its announcement carries the drill's
  time (``data.drill_at``: each reader sees it in their zone, as its reminders do). A plan on a
  stage the client is already past is accepted (a drill can rehearse any stage) and the reply
  says so; the reply echoes how the time was read when the caller passes it (``read_as``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from charter import drills as rules
from charter.effects import Audit, Effect, Reply, SyncTracking
from charter.model import Charter, format_compound
from charter.rollout_decision import (  # a drill is refused and announced as a report is
    RolloutDecision,
    announce,
    audit_subject,
    refuse,
    stage_index_of,
)
from charter.rollout_facts import DrillReport, PlannedDrill, Rollout


def _check(drill: DrillReport, charter: Charter) -> int:
    """The index of the drill's stage; a drill that can never be right raises ValueError."""
    index = stage_index_of(charter, drill.stage)
    if drill.recovered is None and not drill.notes.strip():
        raise ValueError(
            'a failed rollback drill needs what went wrong, e.g. failed "the node did not'
            ' resync after the downgrade"'
        )
    if drill.recovered is not None and drill.recovered <= timedelta(0):
        raise ValueError("a recovery takes some time: write how long it took, e.g. 45s or 12m")
    return index


def not_drillable(
    rollout: Rollout, charter: Charter, client: str, stage: str, *, comment: bool = False
) -> str | None:
    """Why ``client`` cannot drill on ``stage`` now (None when it can): a drill report would be
    refused so (the overdue nudge of a planned drill says it rather than suggest that report)."""
    return _not_on(rollout, client, stage, stage_index_of(charter, stage), comment)


def _not_on(rollout: Rollout, who: str, on: str, index: int, comment: bool) -> str | None:
    """Why the client cannot drill on the stage now (None when it can), with the command that
    reports its release as the asker writes commands: ``/ready client stage <version>`` in a
    comment on the proposal, ``/charter ready n client stage <version>`` elsewhere. Plain text,
    as every reply is (each surface escapes it)."""
    n = rollout.proposal
    if who not in rollout.clients:
        return f"{who} is not in the rollout of #{n} ({', '.join(rollout.clients)})"
    ready = (
        f"/ready {who} {on} <version>" if comment else f"/charter ready {n} {who} {on} <version>"
    )
    if rollout.latest_report(who, on) is None:
        return (
            f"{who} has not reported a release for {on}: a rollback drill rehearses reverting"
            f" the release it runs there; report it first: {ready}"
        )
    if rollout.position(who) < index:
        return (
            f"{who} was rolled back from {on}: report the release it runs there again"
            f" ({ready}), then drill its rollback"
        )
    return None


def _scored(drill: DrillReport, charter: Charter) -> tuple[rules.Outcome, str]:
    """The drill's score and the words saying against what: "pass (production allows 30m)"."""
    required = rules.limit_for(charter, drill.stage)
    limit = None if required is None else required.recover_within
    outcome = rules.score(drill.recovered, limit)
    if limit is None:
        return outcome, outcome
    allows = f"{', '.join(rules.requiring(charter, drill.stage))} allows {format_compound(limit)}"
    return outcome, f"{outcome} ({allows})"


def report_drill(
    rollout: Rollout, charter: Charter, drill: DrillReport, *, comment: bool = False
) -> RolloutDecision:
    """Record a client's rollback drill on a stage (see the module rules); ``comment``: it
    came in a GitHub comment, so a refusal names commands in the comment form."""
    index = _check(drill, charter)
    why = _not_on(rollout, drill.client, drill.stage, index, comment)
    if why is not None:
        return refuse(rollout, why)
    latest = rollout.latest_report(drill.client, drill.stage)
    assert latest is not None  # _not_on refused a client with none
    drill = replace(drill, release=latest.version)
    moved = replace(rollout, drills=(*rollout.drills, drill))
    outcome, scored = _scored(drill, charter)
    said = f"{drill.client}'s rollback drill on {drill.stage} ({drill.release})"
    what = rules.recovery(drill)
    payload: dict[str, object] = {
        "client": drill.client,
        "stage": drill.stage,
        "release": drill.release,
        "recovered": None if drill.recovered is None else format_compound(drill.recovered),
        "outcome": outcome,
        "notes": drill.notes,
        "by": drill.reported_by,
    }
    note = "" if rules.requiring(charter, drill.stage) else _gates_nothing(drill.stage)
    title = f"#{rollout.proposal} rollback drill: {drill.client} on {drill.stage} — {outcome}"
    text = f"{said}, reported by {drill.reported_by}: {what} — {scored}."
    effects: tuple[Effect, ...] = (
        Audit("drill-reported", audit_subject(rollout), payload),
        announce(moved, charter, title, text, about=(drill.client,)),
        SyncTracking(rollout.proposal),
        Reply(f"recorded {said}: {what} — {scored}{note}"),
    )
    return RolloutDecision(moved, effects)


def _gates_nothing(stage: str) -> str:
    return (
        f"; note: no stage of this charter requires a rollback drill on {stage}, so it gates"
        " nothing"
    )


def schedule_drill(
    rollout: Rollout, charter: Charter, plan: PlannedDrill, *, read_as: str = ""
) -> RolloutDecision:
    """Plan a client's rollback drill on a stage (see the module rules); ``read_as``: how its
    time was read (:attr:`charter.when.WhenResult.interpreted_as`), echoed in the reply."""
    index = stage_index_of(charter, plan.stage)
    n = rollout.proposal
    if plan.client not in rollout.clients:
        return refuse(
            rollout, f"{plan.client} is not in the rollout of #{n} ({', '.join(rollout.clients)})"
        )
    earlier = rules.planned(rollout, plan.client, plan.stage)
    moved = replace(rollout, planned_drills=(*rollout.planned_drills, plan))
    when = drill_time(plan.at)
    said = f"{plan.client}'s rollback drill on {plan.stage}"
    replaces = "" if earlier is None else f"; it replaces the plan for {drill_time(earlier.at)}"
    payload: dict[str, object] = {
        "client": plan.client,
        "stage": plan.stage,
        "at": plan.at.isoformat(),
        "by": plan.by,
    }
    note = "" if rules.requiring(charter, plan.stage) else _gates_nothing(plan.stage)
    made = announce(
        moved,
        charter,
        f"#{n} rollback drill planned: {plan.client} on {plan.stage}",
        f"{said} is planned for {when} by {plan.by}{replaces}.",
        about=(plan.client,),
    )
    reply = f"planned {said} for {when}{replaces}{note}"
    more = []
    if rollout.position(plan.client) > index:
        more.append(
            f"{plan.client} is already past {plan.stage}; the drill rehearses rolling back there."
        )
    if read_as:
        more.append(f"Read as {read_as}.")
    effects: tuple[Effect, ...] = (
        Audit("drill-scheduled", audit_subject(rollout), payload),
        replace(made, data={**made.data, "drill_at": plan.at.isoformat()}),
        SyncTracking(n),
        Reply(" ".join((f"{reply}.", *more)) if more else reply),
    )
    return RolloutDecision(moved, effects)


def drill_time(at: datetime) -> str:
    """A planned drill's time as its announcements and replies write it (UTC, to the minute;
    a notice's When shows it in each reader's zone)."""
    return f"{at:%a %Y-%m-%d %H:%M} UTC"
