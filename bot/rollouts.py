"""Rollout orchestration wired into the service: commands, GitHub events, watchdogs, lifecycle.

``install(rt)`` registers everything on ``rt.gov``. Every handler runs inside the service's
transaction, after ``authorize_command`` passed; the rules are :mod:`charter.rollout`,
:mod:`charter.gates`, :mod:`charter.incidents` and :mod:`charter.watchdogs`.

Rules:
- An accepted proposal gets a rollout at once (a state listener): its affected clients (all the
  charter's clients when the form names none) × the charter's stages. A proposal whose form
  names a feature flag gets a registry entry per client (state ``on``).
- Readiness comes from ``/charter ready`` or from a published GitHub release in the client's
  repository whose body has a line ``charterbot: ready <n> <stage>`` (version and ref = the tag;
  the release's repository stands for the client, whoever published it).
- Check runs, check suites and workflow runs from a client's repository are stored keyed by
  (repo, head_sha, name); the gates read them on every evaluation.
- The proposal follows its rollout: accepted → rolling-out when the first stage is entered,
  → completed when every client is on the last stage (a retrospective issue is drafted then),
  → rolled-back when a rollback leaves no client on any stage. A rolled-back or completed
  proposal is final: a rollback after completion is recorded on the rollout (and announced) but
  the proposal stays completed.
- A refused request changes nothing but a ``command-refused`` audit entry; the reply says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot import rollout_incidents
from bot.github.events import CheckEvent, ReleaseEvent
from bot.messages import Actor, Message
from bot.rollout_views import (
    inventory_message,
    next_stage,
    retrospective_body,
    rollout_message,
    rollout_view,
)
from bot.service import Governance, Outcome
from charter import commands as c, rollout as rules, watchdogs
from charter.effects import Audit, Effect, Reply, SetLabels, SyncTracking
from charter.gates import GateFacts, GateResult, GoNoGo, evaluate
from charter.intake import parse_activation
from charter.lifecycle import Event, State, next_state
from charter.model import Charter
from charter.proposal import Decision, Proposal, label
from charter.risk import Assessment
from charter.rollout import ReadyReport, Rollout
from storage import outbox, proposals as repo, rollouts as store, state

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

FIRED_KEY = "rollouts:fired-escalations"
_RELEASE_LINE = re.compile(
    r"^\s*charterbot:\s*ready\s+#?([0-9]{1,9})\s+([a-z0-9][a-z0-9_-]*)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_LIVE = (State.ACCEPTED, State.ROLLING_OUT)


def install(rt: Runtime) -> None:
    install_on(rt.gov)


def install_on(gov: Governance) -> None:
    """Register the rollout commands, event handlers, tick hook and state listener."""
    gov.register(c.Ready, ready)
    gov.register(c.Advance, advance)
    gov.register(c.ShowRollout, show_rollout)
    gov.register(c.Inventory, inventory)
    gov.register(c.Rollback, rollback)
    rollout_incidents.install_on(gov)
    gov.register_event(CheckEvent, on_check)
    gov.register_event(ReleaseEvent, on_release)
    gov.add_tick_hook(tick)
    gov.add_state_listener(on_state)


# -- shared steps ---------------------------------------------------------------------------


def client_repos(charter: Charter) -> dict[str, str]:
    return {cl.id: cl.repository for cl in charter.clients if cl.repository}


def _visible(gov: Governance, stored: repo.Stored, actor: Actor) -> bool:
    track = gov.charter.tracks.get(stored.proposal.track)
    if track is None or not track.confidential or stored.disclosed:
        return True
    return gov.may_see_confidential(actor)


def _load(
    gov: Governance, session: Session, n: int | None, actor: Actor, now: datetime
) -> tuple[repo.Stored, Rollout] | str:
    """The proposal and its rollout, or why there is none (a sentence for the person)."""
    if n is None:
        return "Say which proposal, e.g. `rollout 42`."
    stored = repo.load(session, n, for_update=True)
    if stored is None or not _visible(gov, stored, actor):
        return f"There is no proposal #{n}."
    rollout = store.load_rollout(session, n, for_update=True)
    if rollout is None:
        if stored.proposal.state not in _LIVE:
            return f"#{n} is {stored.proposal.state.value}; a rollout starts once it is accepted."
        rollout = start_rollout(gov, session, stored, now)  # accepted before this was installed
    return stored, rollout


def _final(stored: repo.Stored) -> str | None:
    p = stored.proposal
    if p.state is State.ROLLED_BACK:
        return f"#{p.number} was rolled back from every stage; a new proposal is needed to retry."
    return None


def assessment(p: Proposal) -> Assessment | None:
    """The risk the author scored in the form, when both numbers are there."""
    likelihood, impact = p.fields.get("likelihood"), p.fields.get("impact")
    if isinstance(likelihood, int) and isinstance(impact, int):
        return Assessment(likelihood, impact)
    return None


def gate_facts(session: Session, p: Proposal) -> GateFacts:
    return GateFacts(
        incidents=tuple(store.incidents(session, open_only=True)),
        risk=assessment(p),
        go_no_go=store.go_no_go(session, p.number),
    )


def _checked(gov: Governance, session: Session, rollout: Rollout) -> Rollout:
    return store.with_checks(session, rollout, client_repos(gov.charter))


def refuse(
    gov: Governance, session: Session, actor: Actor, command: object, why: str, now: datetime
) -> Message:
    return gov.refuse(session, actor, command, why, now)


def save(
    gov: Governance,
    session: Session,
    stored: repo.Stored,
    before: Rollout,
    after: Rollout,
    effects: Iterable[Effect],
    actor: Actor | str,
    now: datetime,
) -> Outcome:
    """Save the rollout, carry out its effects, and move the proposal along with it."""
    store.save_rollout(session, replace(after, checks=()), gov.charter, now)
    outcome = gov.effects(session, effects, actor, now, proposal=stored.proposal)
    _follow(gov, session, stored, before, after, actor, now)
    return outcome


def _answer(outcome: Outcome, fallback: str = "Done.") -> Message:
    text = "\n".join(r.text for r in outcome.replies) or fallback
    return Message.text_only(text, ok=all(r.ok for r in outcome.replies))


def _refusal(effects: Sequence[Effect]) -> str | None:
    return next((e.text for e in effects if isinstance(e, Reply) and not e.ok), None)


# -- lifecycle ------------------------------------------------------------------------------


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


def _follow(
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
        for i in store.incidents(session)
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
    }
    outbox.enqueue(
        session, kind="create-issue", payload=payload, now=now, key=f"create-issue:{key}"
    )


def start_rollout(gov: Governance, session: Session, stored: repo.Stored, now: datetime) -> Rollout:
    """Open the rollout of an accepted proposal and register its feature flag per client."""
    p, charter = stored.proposal, gov.charter
    named = p.fields.get("clients")
    clients = [cl for cl in named if cl in charter.client_ids] if isinstance(named, list) else []
    track = charter.tracks.get(p.track)
    secret = bool(track and track.confidential and not stored.disclosed)
    decision = rules.start(p.number, clients or charter.client_ids, now, confidential=secret)
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


# -- commands ---------------------------------------------------------------------------------


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
    final = _final(stored)
    if final is not None:
        return final
    try:
        decision = rules.report_ready(rollout, gov.charter, entry)
    except ValueError as error:
        return str(error)
    why = _refusal(decision.effects)
    if why is not None:
        return why
    store.add_ready_report(session, rollout.proposal, entry, source)
    return save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)


def ready(gov: Governance, session: Session, cmd: c.Ready, actor: Actor, now: datetime) -> Message:
    loaded = _load(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return refuse(gov, session, actor, cmd, loaded, now)
    stored, rollout = loaded
    entry = ReadyReport(cmd.client, cmd.stage, cmd.version, cmd.ref, cmd.notes, actor.name, now)
    result = report(gov, session, stored, rollout, entry, actor, now, source="command")
    if isinstance(result, str):
        return refuse(gov, session, actor, cmd, result, now)
    return _answer(result)


def advance(
    gov: Governance, session: Session, cmd: c.Advance, actor: Actor, now: datetime
) -> Message:
    loaded = _load(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return refuse(gov, session, actor, cmd, loaded, now)
    stored, rollout = loaded
    final = _final(stored)
    if final is not None:
        return refuse(gov, session, actor, cmd, final, now)
    facts = gate_facts(session, stored.proposal)
    try:
        decision = rules.advance(
            _checked(gov, session, rollout),
            gov.charter,
            facts,
            now,
            by=actor.name,
            override_reason=cmd.override_reason,
            may_override=cmd.override_reason is not None,  # authorize_command checked OVERRIDE
        )
    except ValueError as error:
        return refuse(gov, session, actor, cmd, str(error), now)
    why = _refusal(decision.effects)
    if why is not None:
        return refuse(gov, session, actor, cmd, why, now)
    return _answer(
        save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    )


def gates_of(
    gov: Governance, session: Session, stored: repo.Stored, rollout: Rollout, now: datetime
) -> tuple[GateResult, ...]:
    """The gates of the stage ``advance`` would enter (none once the last stage is reached)."""
    target = next_stage(rollout, gov.charter)
    if target is None:
        return ()
    stage = gov.charter.stage(target)
    assert stage is not None
    return evaluate(stage, rollout, gate_facts(session, stored.proposal), gov.charter, now)


def view_of(
    gov: Governance, session: Session, stored: repo.Stored, rollout: Rollout, now: datetime
) -> dict[str, Any]:
    """The JSON view of one rollout, gates evaluated now (for chat, the dashboard and the API)."""
    checked = _checked(gov, session, rollout)
    gates = gates_of(gov, session, stored, checked, now)
    p = stored.proposal
    return rollout_view(checked, gov.charter, gates=gates, title=p.title, state=p.state.value)


def show_rollout(
    gov: Governance, session: Session, cmd: c.ShowRollout, actor: Actor, now: datetime
) -> Message:
    loaded = _load(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return Message.text_only(loaded, ok=False)
    stored, rollout = loaded
    return rollout_message(view_of(gov, session, stored, rollout, now))


def inventory(
    gov: Governance, session: Session, cmd: c.Inventory, actor: Actor, now: datetime
) -> Message:
    if cmd.n is not None:
        loaded = _load(gov, session, cmd.n, actor, now)
        if isinstance(loaded, str):
            return Message.text_only(loaded, ok=False)
        return inventory_message(
            store.ready_reports(session, proposal=cmd.n), gov.charter, proposal=cmd.n
        )
    hidden = {
        s.proposal.number
        for s in repo.listing(session, include_confidential=True)
        if not _visible(gov, s, actor)
    }
    reports = [(n, r) for n, r in store.ready_reports(session) if n not in hidden]
    return inventory_message(reports, gov.charter)


def rollback(
    gov: Governance, session: Session, cmd: c.Rollback, actor: Actor, now: datetime
) -> Message:
    loaded = _load(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return refuse(gov, session, actor, cmd, loaded, now)
    stored, rollout = loaded
    final = _final(stored)
    if final is not None:
        return refuse(gov, session, actor, cmd, final, now)
    try:
        decision = rules.rollback(
            rollout, gov.charter, cmd.reason, actor.name, now, clients=cmd.clients or None
        )
    except ValueError as error:
        return refuse(gov, session, actor, cmd, str(error), now)
    why = _refusal(decision.effects)
    if why is not None:
        return refuse(gov, session, actor, cmd, why, now)
    return _answer(
        save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    )


def record_go_no_go(
    gov: Governance,
    session: Session,
    *,
    proposal: int,
    stage: str,
    decision: str,
    by: str,
    now: datetime,
    note: str = "",
) -> None:
    """Record a go/no-go call's decision for a proposal's stage (the meetings area calls this)."""
    if gov.charter.stage(stage) is None:
        raise ValueError(
            f"unknown stage {stage!r}; the charter's stages are {', '.join(gov.charter.stage_ids)}"
        )
    if decision not in ("go", "no-go"):
        raise ValueError(f"a go/no-go decision is 'go' or 'no-go', not {decision!r}")
    call = GoNoGo(proposal, stage, "go" if decision == "go" else "no-go", by, now)
    store.record_go_no_go(session, call, note)
    payload = {"stage": stage, "decision": decision, "by": by, "note": note}
    gov.effects(session, [Audit("go-no-go-recorded", f"rollout:{proposal}", payload)], by, now)


# -- GitHub events ----------------------------------------------------------------------------


def _client_of_repo(charter: Charter, repo_name: str) -> str | None:
    low = repo_name.lower()
    return next((cl.id for cl in charter.clients if (cl.repository or "").lower() == low), None)


def on_check(gov: Governance, session: Session, ev: CheckEvent, now: datetime) -> None:
    """Store a check run / suite / workflow run of a client's repository; others are ignored."""
    if _client_of_repo(gov.charter, ev.repo) is None or not ev.name or not ev.head_sha:
        return
    store.record_check(
        session,
        repo=ev.repo,
        head_sha=ev.head_sha,
        name=ev.name,
        kind=ev.kind,
        status=ev.status,
        conclusion=ev.conclusion,
        html_url=ev.html_url,
        at=now,
    )


def on_release(gov: Governance, session: Session, ev: ReleaseEvent, now: datetime) -> None:
    """A published release in a client's repository that says ``charterbot: ready <n> <stage>``."""
    client = _client_of_repo(gov.charter, ev.repo)
    if client is None:
        return
    actor = Actor(login=ev.author, surface="github", display=ev.author)
    for number, stage in _RELEASE_LINE.findall(ev.body):
        n = int(number)
        entry = ReadyReport(
            client,
            stage.lower(),
            ev.tag,
            ev.tag,
            f"GitHub release {ev.tag} in {ev.repo}",
            ev.author,
            now,
        )
        loaded = _load(gov, session, n, Actor(login=None, surface="system"), now)
        result = (
            loaded
            if isinstance(loaded, str)
            else report(gov, session, *loaded, entry, actor, now, source="release")
        )
        if isinstance(result, str):
            payload = {"why": result, "repo": ev.repo, "tag": ev.tag, "stage": stage}
            gov.effects(
                session, [Audit("release-report-refused", f"proposal:{n}", payload)], actor, now
            )


# -- watchdogs ----------------------------------------------------------------------------------


def snapshot(gov: Governance, session: Session) -> watchdogs.Snapshot:
    states = [State.REVIEW.value, State.ACCEPTED.value, State.ROLLING_OUT.value]
    proposals = repo.listing(session, states=states)
    statuses = []
    facts: dict[int, GateFacts] = {}
    for stored in proposals:
        p = stored.proposal
        statuses.append(
            watchdogs.ProposalStatus(
                number=p.number,
                track=p.track,
                state=p.state.value,
                review_started_at=p.entered_review_at,
                decided_at=p.decided_at,
                activation_at=_activation(p),
                participants=tuple(
                    {v.voter for v in p.votes} | set(store.commenters(session, p.number))
                ),
            )
        )
        facts[p.number] = gate_facts(session, p)
    live = tuple(_checked(gov, session, r) for r in store.rollouts(session, active_only=True))
    return watchdogs.Snapshot(tuple(statuses), live, facts)


def _activation(p: Proposal) -> datetime | None:
    raw = p.fields.get("activation")
    if not isinstance(raw, str):
        return None
    try:
        return parse_activation(raw).at
    except ValueError:
        return None


def tick(gov: Governance, session: Session, now: datetime) -> int:
    """Notify each escalation once per condition (fired keys are remembered in kv_state)."""
    if not gov.charter.escalation:
        return 0
    alerts = watchdogs.check(snapshot(gov, session), gov.charter, now)
    fired = 0
    for alert in watchdogs.new_alerts(alerts, state.get(session, FIRED_KEY, [])):
        if not state.add_to_set(session, FIRED_KEY, alert.key, now):
            continue
        subject = ":".join(alert.key.split(":")[2:4]) or "escalation"
        payload = {"key": alert.key, "roles": list(alert.roles), "text": alert.text}
        gov.effects(
            session, [alert, Audit("escalation-fired", subject, payload)], "charterbot", now
        )
        fired += 1
    return fired


__all__ = ["install", "install_on", "record_go_no_go", "view_of"]
