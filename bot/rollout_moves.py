"""The commands that move a rollout forward or back: ``ready``, ``advance`` and ``rollback``
(part of the rollout area; see :mod:`bot.rollouts`); the rules are :mod:`charter.rollout`'s.

Rules:
- Gates are evaluated from stored facts at the moment they are asked: ready reports, the check
  results on each client's reported ref, open incidents, the form's risk score and the
  recorded go/no-go calls.
- A readiness report (a ``ready`` command, a release, a comment: :func:`report`) is checked
  against the form's prerequisites; one that voids the go/no-go decision counting for the
  stage the rollout enters next schedules the new call at once, and the reply says so.
- An override at ``advance`` was authorized before the handler ran (``authorize_command``
  checked OVERRIDE); who may end a proposal by a rollback is :func:`bot.rollout_lifecycle.may_end`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.meetings_go_no_go import running_call, schedule_next_call
from bot.messages import Actor, Message
from bot.rollout_lifecycle import may_end
from bot.rollout_reads import checked, gate_facts
from bot.rollout_steps import Rule, answer, decided, locate, refuse, save, step
from bot.rollout_views import next_stage
from bot.service import Governance, Outcome
from charter import commands as c, rollout as rules
from charter.effects import Reply
from charter.gates import current_go_no_go
from charter.prerequisites import form_minimums
from charter.rollout import ReadyReport, Rollout
from storage import proposals as repo, rollout_reports as report_store, rollouts as store
from storage.times import aware


def report(
    gov: Governance,
    session: Session,
    stored: repo.Stored,
    rollout: Rollout,
    entry: ReadyReport,
    actor: Actor,
    now: datetime,
    *,
    source: str,
) -> str | Outcome:
    """Record one readiness report; a string says why it was refused."""
    decision = decided(
        stored,
        rollout,
        lambda s, r: (
            lambda: rules.report_ready(r, gov.charter, entry, form_minimums(s.proposal.fields))
        ),
    )
    if isinstance(decision, str):
        return decision
    report_store.add_ready_report(session, rollout.proposal, entry, source)
    outcome = save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    said = _new_call(gov, session, rollout, now)
    return outcome if said is None else Outcome([*outcome.replies, Reply(said)])


def _new_call(gov: Governance, session: Session, before: Rollout, now: datetime) -> str | None:
    """When the report just saved voided the go/no-go decision that counted for the stage the
    rollout enters next (a new release for that stage: :func:`charter.gates.current_go_no_go`),
    store the new call at once (:func:`bot.meetings_go_no_go.schedule_next_call`, as the tick
    would) and return the sentence saying so; when the call in progress decides on the release
    instead (none is due), the sentence says that; None otherwise."""
    charter = gov.charter
    after = store.load_rollout(session, before.proposal, charter)
    target = next_stage(after, charter) if after is not None else None
    stage = charter.stage(target) if target else None
    if after is None or stage is None or not stage.go_no_go_meeting:
        return None
    decisions = report_store.go_no_go(session, before.proposal)
    was = current_go_no_go(stage, before, decisions, charter)
    if was is None or current_go_no_go(stage, after, decisions, charter) is not None:
        return None
    voided = (
        f"the go/no-go decision for {stage.id} ({was.decision}, {was.by}, "
        f"{was.at:%Y-%m-%d %H:%M} UTC) no longer counts: "
    )
    row = schedule_next_call(gov, session, after, now)
    if row is not None:
        return (
            f"{voided}a new go/no-go call is scheduled for "
            f"{aware(row.starts_at):%Y-%m-%d %H:%M} UTC ({row.title})"
        )
    running = running_call(session, after.proposal, stage.id, now)
    if running is None:
        return None  # e.g. the soak restarted too: the new call comes as the new soak ends
    return f"{voided}{running.title}, in progress, decides on this release: record it again"


def ready(gov: Governance, session: Session, cmd: c.Ready, actor: Actor, now: datetime) -> Message:
    loaded = locate(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return refuse(gov, session, actor, cmd, loaded, now)
    stored, rollout = loaded
    entry = ReadyReport(cmd.client, cmd.stage, cmd.version, cmd.ref, cmd.notes, actor.name, now)
    result = report(gov, session, stored, rollout, entry, actor, now, source="command")
    if isinstance(result, str):
        return refuse(gov, session, actor, cmd, result, now)
    return answer(result)


def advance(
    gov: Governance, session: Session, cmd: c.Advance, actor: Actor, now: datetime
) -> Message:
    def decide(stored: repo.Stored, rollout: Rollout) -> Rule:
        facts = gate_facts(session, stored.proposal, rollout, gov.charter)
        seen = checked(gov, session, rollout)
        return lambda: rules.advance(
            seen,
            gov.charter,
            facts,
            now,
            by=actor.name,
            override_reason=cmd.override_reason,
            may_override=cmd.override_reason is not None,  # authorize_command checked OVERRIDE
            to=cmd.stage,
        )

    return step(gov, session, cmd, actor, now, decide)


def rollback(
    gov: Governance, session: Session, cmd: c.Rollback, actor: Actor, now: datetime
) -> Message:
    def decide(stored: repo.Stored, rollout: Rollout) -> Rule:
        ends = may_end(gov, stored.proposal, actor)
        return lambda: rules.rollback(
            rollout,
            gov.charter,
            cmd.reason,
            actor.name,
            now,
            clients=cmd.clients or None,
            may_end=ends,
        )

    return step(gov, session, cmd, actor, now, decide)
