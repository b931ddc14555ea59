"""The proposal follows its rollout (part of the rollout area; see :mod:`bot.rollouts`).

Rules:
- An accepted proposal gets a rollout in the same transaction (a state listener): its affected
  clients (every client of the charter when the form names none) × the charter's stages; a
  confidential, undisclosed proposal gets a confidential rollout. A feature flag named in the
  form gets a registry entry per client (state ``on``). An open incident at
  ``rollout.pause_on_incident`` or worse that names it pauses it from the start (audited and
  announced as any pause); the hold is lifted when the incident is resolved.
- accepted → rolling-out when the first stage is entered; → completed when every client is on
  the last stage, and a retrospective issue is drafted (outbox ``create-issue``, once per
  proposal); → rolled-back when a rollback by someone who may roll back every client at once
  (coordinators, the security council: :mod:`charter.authz`) leaves no client on any stage,
  and its reply and announcement say that the proposal ends there. A maintainer rolling back
  their own client never ends it, even the last client on a stage: the rollout is pending
  again, and a later rollback by who may ends it as it is (nothing left to move). Both are
  final, but only rolled-back ends the rollout: a rollback after completion reopens it
  (recorded and announced), and it moves again — its view shows the next stage's gates,
  ``advance`` and reports apply, it completes anew — while the proposal stays completed
  (:func:`bot.rollout_views.is_final`).
- A go/no-go call for a stage that has not started is cancelled (as ``meeting cancel`` would,
  with the reason) once it can decide nothing: the rollout fell more than one stage below it, or
  entered its stage without it (an override), or completed, or was rolled back for good. Calls
  that started are history and stay.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.meetings_calls import adhoc_call
from bot.meetings_cancel import cancel_occurrence
from bot.messages import Actor
from bot.rollout_retrospective import retrospective_body
from bot.service import Governance
from charter import incident_holds, rollout as rules
from charter.authz import Privilege, authorize
from charter.effects import Audit, Effect, SetLabels, SyncTracking
from charter.lifecycle import Event, State, next_state
from charter.model import Charter
from charter.proposal import Decision, Proposal, label, named_clients, rules_for
from charter.rollout import Rollout
from storage import (
    audit_query,
    feature_flags as flag_store,
    incidents as incident_store,
    meetings as meeting_store,
    outbox,
    proposals as repo,
    rollout_record as record_store,
    rollouts as store,
)
from storage.dashboard_queries import confidential_incidents, hidden_numbers

_PAUSED = "rollout-paused"


def affected(stored: repo.Stored, charter: Charter) -> tuple[str, ...]:
    """The clients the form names (every client of the charter when it names none)."""
    return named_clients(stored.proposal, charter) or charter.client_ids


def _transition(
    gov: Governance, session: Session, p: Proposal, event: Event, actor: Actor | str, now: datetime
) -> Proposal:
    to = next_state(p.state, event)
    record = {
        "event": event.value,
        "from": p.state.value,
        "to": to.value,
        "at": now.isoformat(),
        "charter_version": gov.charter.version,
    }
    effects: tuple[Effect, ...] = (
        Audit("proposal-state-changed", p.subject, record),
        SetLabels(p.number, (label(to),)),
        SyncTracking(p.number),
    )
    moved = replace(p, state=to)
    gov.apply(session, Decision(moved, effects), actor, now)
    return moved


def follow(
    gov: Governance,
    session: Session,
    stored: repo.Stored,
    before: Rollout,
    after: Rollout,
    actor: Actor | str,
    now: datetime,
) -> None:
    p = stored.proposal
    if p.state is State.ACCEPTED and after.stage_index >= 0:
        p = _transition(gov, session, p, Event.ROLLOUT_STARTED, actor, now)
    if after.completed_at is not None and before.completed_at is None:
        if p.state is State.ROLLING_OUT:
            p = _transition(gov, session, p, Event.ROLLOUT_COMPLETED, actor, now)
        draft_retrospective(gov, session, p, after, now)
    gone = all(after.position(cl) < 0 for cl in after.clients)
    if gone and len(after.rollbacks) > len(before.rollbacks) and may_end(gov, p, actor):
        p = _transition(gov, session, p, Event.ROLLED_BACK, actor, now)
    cancel_moot_calls(gov, session, p, before, after, now)


def may_end(gov: Governance, p: Proposal, actor: Actor | str) -> bool:
    """Whether a rollback by ``actor`` that leaves no client on any stage ends ``p`` for good
    (rolled-back): ``p`` is rolling out and ``actor`` may roll back every client at once
    (:mod:`charter.authz`: coordinators and the security council). A maintainer rolling back
    their own client, even the last one on a stage, leaves the rollout pending."""
    if p.state is not State.ROLLING_OUT or isinstance(actor, str):
        return False
    return authorize(Privilege.ROLLBACK, actor, gov.charter) is None


def cancel_moot_calls(
    gov: Governance, session: Session, p: Proposal, before: Rollout, after: Rollout, now: datetime
) -> int:
    """Cancel the go/no-go calls of ``p`` that have not started and that ``after`` can no
    longer use (see the module rules); returns how many were cancelled."""
    charter = gov.charter
    over = after.completed_at is not None or p.state is State.ROLLED_BACK
    moot = [
        s
        for i, s in enumerate(charter.stage_ids)
        if over or after.stage_index < i - 1 or after.stage_index >= i
    ]
    reason = _why_moot(p, before, after, charter)
    cancelled = 0
    for stage in moot:
        for row in meeting_store.go_no_go_calls(session, after.proposal, stage):
            call = adhoc_call(row)
            occ = call.occurrence()
            if row.cancelled or occ.starts_at <= now:
                continue  # cancelled already, or started: what happened on a call is history
            cancel_occurrence(gov, session, call, occ, "charterbot", now, reason=reason)
            cancelled += 1
    return cancelled


def _why_moot(p: Proposal, before: Rollout, after: Rollout, charter: Charter) -> str:
    """Why a go/no-go call of ``p`` is no longer needed, as a sentence."""
    n = p.number
    if p.state is State.ROLLED_BACK:
        return f"#{n} was rolled back from every stage."
    if after.completed_at is not None:
        return f"#{n} completed its rollout."
    where = after.stage_name(charter) if after.stage_index >= 0 else None
    if where and after.stage_index > before.stage_index:
        return f"#{n} entered {where} before the call was held."
    if len(after.rollbacks) > len(before.rollbacks):
        return f"#{n} was rolled back to {where}." if where else f"#{n} is pending again."
    return f"#{n} is back on {where}." if where else f"#{n} is pending again."


def draft_retrospective(
    gov: Governance, session: Session, p: Proposal, rollout: Rollout, now: datetime
) -> None:
    """Queue the retrospective issue (once per proposal: the outbox key is stable). It lists
    the incidents that paused the rollout or name it (:func:`charter.incident_holds.concerning`);
    one that is confidential because of another undisclosed proposal is worded as a gate
    words it, without id or summary. (The issue of a confidential rollout waits until its own
    proposal is disclosed, so what is secret only because of it may be said.)"""
    mine = incident_holds.concerning(
        incident_store.incidents(session),
        rollout,
        _paused_by(session, rollout),
        rollout.completed_at or now,
    )
    others = hidden_numbers(session) - {p.number}
    secret = confidential_incidents(session, others) if others else set()
    record = record_store.audit_lines(session, [p.subject, f"rollout:{p.number}"])
    body = retrospective_body(
        rollout, gov.charter, title=p.title, record=record, incidents=mine, confidential=secret
    )
    key = f"retrospective:{p.number}"
    payload = {
        "title": f"Retrospective: #{p.number} {p.title}",
        "body": body,
        "labels": ["retrospective"],
        "key": key,
        "confidential": rollout.confidential,  # hold it until the proposal is disclosed
    }
    outbox.enqueue(
        session, kind="create-issue", payload=payload, now=now, key=f"create-issue:{key}"
    )


def _paused_by(session: Session, rollout: Rollout) -> set[str]:
    """The ids of the incidents that ever paused ``rollout``: its ``rollout-paused`` records
    (a lifted hold is gone from the rollout) and the holds it has now."""
    records = audit_query.entries(session, subject=f"rollout:{rollout.proposal}", kind=_PAUSED)
    found = {json.loads(e.payload).get("incident") for e in records}
    return {str(i) for i in found if i} | {key for key, _ in rollout.pauses if key}


def start_rollout(gov: Governance, session: Session, stored: repo.Stored, now: datetime) -> Rollout:
    """Open the rollout of an accepted proposal and register its feature flag per client. An
    open incident that would have paused it, had it been under way, pauses it now
    (:func:`bot.rollout_incident_holds.hold_at_start`)."""
    p, charter = stored.proposal, gov.charter
    track = rules_for(p, charter).tracks.get(p.track)
    secret = bool(track and track.confidential and not stored.disclosed)
    decision = rules.start(p.number, affected(stored, charter), now, confidential=secret)
    from bot.rollout_incident_holds import hold_at_start  # it builds on bot.rollouts, hence on this

    rollout, held = hold_at_start(gov, session, decision.rollout)
    store.save_rollout(session, rollout, charter, now)
    effects: list[Effect] = [*decision.effects, *held]
    flag = flag_name(p.fields.get("feature_flag"))
    if flag is not None:
        for client in rollout.clients:
            flag_store.register_flag(session, p.number, client, flag, by="charterbot", at=now)
        payload = {"proposal": p.number, "clients": list(rollout.clients)}
        effects.append(Audit("flag-registered", f"flag:{flag}", payload))
    gov.effects(session, effects, "charterbot", now, proposal=p)
    return rollout


def flag_name(value: Any) -> str | None:
    """The form's feature flag as a registry name: lowercased, without code quotes."""
    if not isinstance(value, str) or not value.strip("` \n"):
        return None
    return value.strip("` \n").splitlines()[0].strip("` ").lower()


def on_state(
    gov: Governance, session: Session, before: Proposal | None, after: Proposal, now: datetime
) -> None:
    """A proposal that has just been accepted gets its rollout in the same transaction."""
    if after.state is not State.ACCEPTED or (before is not None and before.state is State.ACCEPTED):
        return
    stored = repo.load(session, after.number)
    if stored is None or store.load_rollout(session, after.number, gov.charter) is not None:
        return
    start_rollout(gov, session, stored, now)
