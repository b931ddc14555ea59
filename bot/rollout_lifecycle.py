"""The proposal follows its rollout (part of the rollout area; see :mod:`bot.rollouts`).

Rules:
- An accepted proposal gets a rollout in the same transaction (a state listener): its affected
  clients (every client of the charter when the form names none) × the charter's stages; a
  confidential, undisclosed proposal gets a confidential rollout. A feature flag named in the
  form gets a registry entry per client (state ``on``).
- accepted → rolling-out when the first stage is entered; → completed when every client is on
  the last stage, and a retrospective issue is drafted (outbox ``create-issue``, once per
  proposal); → rolled-back when a rollback leaves no client on any stage. Both are final: a
  rollback after completion is recorded on the rollout and announced, the proposal stays
  completed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.messages import Actor
from bot.rollout_views import retrospective_body
from bot.service import Governance
from charter import rollout as rules
from charter.effects import Audit, Effect, SetLabels, SyncTracking
from charter.lifecycle import Event, State, next_state
from charter.model import Charter
from charter.proposal import Decision, Proposal, label, named_clients, rules_for
from charter.rollout import Rollout
from storage import incidents as incident_store, outbox, proposals as repo, rollouts as store


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
    if gone and len(after.rollbacks) > len(before.rollbacks) and p.state is State.ROLLING_OUT:
        _transition(gov, session, p, Event.ROLLED_BACK, actor, now)


def draft_retrospective(
    gov: Governance, session: Session, p: Proposal, rollout: Rollout, now: datetime
) -> None:
    """Queue the retrospective issue (once per proposal: the outbox key is stable)."""
    mine = [
        i
        for i in incident_store.incidents(session)
        if p.number in i.proposals or set(i.clients) & set(rollout.clients)
    ]
    record = store.audit_lines(session, [p.subject, f"rollout:{p.number}"])
    body = retrospective_body(rollout, gov.charter, title=p.title, record=record, incidents=mine)
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


def start_rollout(gov: Governance, session: Session, stored: repo.Stored, now: datetime) -> Rollout:
    """Open the rollout of an accepted proposal and register its feature flag per client."""
    p, charter = stored.proposal, gov.charter
    track = rules_for(p, charter).tracks.get(p.track)
    secret = bool(track and track.confidential and not stored.disclosed)
    decision = rules.start(p.number, affected(stored, charter), now, confidential=secret)
    store.save_rollout(session, decision.rollout, charter, now)
    effects: list[Effect] = list(decision.effects)
    flag = flag_name(p.fields.get("feature_flag"))
    if flag is not None:
        for client in decision.rollout.clients:
            store.register_flag(session, p.number, client, flag, by="charterbot", at=now)
        payload = {"proposal": p.number, "clients": list(decision.rollout.clients)}
        effects.append(Audit("flag-registered", f"flag:{flag}", payload))
    gov.effects(session, effects, "charterbot", now, proposal=p)
    return decision.rollout


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
    if stored is None or store.load_rollout(session, after.number) is not None:
        return
    start_rollout(gov, session, stored, now)
