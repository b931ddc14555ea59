"""Rollout orchestration wired into the service: the rollout commands and shared steps.

``install(rt)`` registers the whole area on ``rt.gov``: the commands here, incidents and kill
switches (:mod:`bot.rollout_incidents`), GitHub check results, releases and watchdogs
(:mod:`bot.rollout_watch`) and the proposal lifecycle (:mod:`bot.rollout_lifecycle`). Every
handler runs inside the service's transaction, after ``authorize_command`` passed; the rules
are :mod:`charter.rollout`, :mod:`charter.gates`, :mod:`charter.incidents` and
:mod:`charter.watchdogs`.

Rules:
- Gates are evaluated from stored facts at the moment they are asked: ready reports, the check
  results on each client's reported ref, open incidents, the form's risk score and the
  recorded go/no-go calls.
- A confidential, undisclosed rollout is visible to coordinators, the security council and the
  maintainers of its clients; to anyone else it does not exist ("There is no proposal #n").
- A refused request changes nothing but a ``command-refused`` audit entry; the reply says why.
- ``rollout pause|resume`` hold a rollout by hand and lift that hold (an incident's only with
  ``--override "<reason>"``, by the override roles, the incident staying open):
  :func:`charter.rollout.pause`, :func:`charter.rollout.resume` and
  :func:`charter.rollout.override_holds`. Who may is asked twice: before the rollout is
  loaded (any maintainer may pause), then with its clients (only theirs may).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot import meetings_timers as timers
from bot.messages import Actor, Message
from bot.rollout_lifecycle import affected, follow, may_end, on_state, start_rollout
from bot.rollout_reads import checked, gate_facts, view_of
from bot.rollout_views import inventory_message, next_stage, rollout_message
from bot.service import Governance, Outcome
from charter import commands as c, rollout as rules
from charter.effects import Audit, Effect, Reply
from charter.gates import GoNoGo, current_go_no_go
from charter.lifecycle import State
from charter.prerequisites import form_minimums
from charter.rollout import ReadyReport, Rollout
from storage import proposals as repo, rollouts as store
from storage.dashboard_queries import confidential_incidents
from storage.db import session_scope
from storage.times import aware

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

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
    gov.register(c.PauseRollout, pause)
    gov.register(c.ResumeRollout, resume)
    gov.add_state_listener(on_state)
    from bot import rollout_drills, rollout_incidents, rollout_watch  # they build on this module

    rollout_drills.install_on(gov)
    rollout_incidents.install_on(gov)
    rollout_watch.install_on(gov)


# -- shared steps ---------------------------------------------------------------------------


def visible(gov: Governance, stored: repo.Stored, actor: Actor) -> bool:
    """A confidential, undisclosed rollout is seen by coordinators, the security council and
    the maintainers of the clients that must ship it; to anyone else it does not exist."""
    track = gov.rules_for(stored.proposal).tracks.get(stored.proposal.track)
    if track is None or not track.confidential or stored.disclosed:
        return True
    if gov.may_see_confidential(actor):
        return True
    client = gov.charter.client_of(actor.login) if actor.login else None
    return client is not None and client.id in affected(stored, gov.charter)


def locate(
    gov: Governance,
    session: Session,
    n: int | None,
    actor: Actor,
    now: datetime,
    *,
    trusted: bool = False,
) -> tuple[repo.Stored, Rollout] | str:
    """The proposal and its rollout, or why there is none (a sentence for the person).

    ``trusted`` skips the visibility check (a release in a client's own repository)."""
    if n is None:
        return "Say which proposal, e.g. `rollout 42`."
    stored = repo.load(session, n, for_update=True)
    if stored is None or not (trusted or visible(gov, stored, actor)):
        return f"There is no proposal #{n}."
    rollout = store.load_rollout(session, n, gov.charter, for_update=True)
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
    follow(gov, session, stored, before, after, actor, now)
    return outcome


def _answer(outcome: Outcome, fallback: str = "Done.") -> Message:
    text = "\n".join(r.text for r in outcome.replies) or fallback
    return Message.text_only(text, ok=all(r.ok for r in outcome.replies))


def _refusal(effects: Sequence[Effect]) -> str | None:
    return next((e.text for e in effects if isinstance(e, Reply) and not e.ok), None)


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
        needs = form_minimums(stored.proposal.fields)
        decision = rules.report_ready(rollout, gov.charter, entry, needs)
    except ValueError as error:
        return str(error)
    why = _refusal(decision.effects)
    if why is not None:
        return why
    store.add_ready_report(session, rollout.proposal, entry, source)
    outcome = save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    said = _new_call(gov, session, rollout, now)
    return outcome if said is None else Outcome([*outcome.replies, Reply(said)])


def _new_call(gov: Governance, session: Session, before: Rollout, now: datetime) -> str | None:
    """When the report just saved voided the go/no-go decision that counted for the stage the
    rollout enters next (a new release for that stage: :func:`charter.gates.current_go_no_go`),
    store the new call at once (:func:`bot.meetings_timers.schedule_next_call`, as the tick
    would) and return the sentence saying so; when the call in progress decides on the release
    instead (none is due), the sentence says that; None otherwise."""
    charter = gov.charter
    after = store.load_rollout(session, before.proposal, charter)
    target = next_stage(after, charter) if after is not None else None
    stage = charter.stage(target) if target else None
    if after is None or stage is None or not stage.go_no_go_meeting:
        return None
    decisions = store.go_no_go(session, before.proposal)
    was = current_go_no_go(stage, before, decisions, charter)
    if was is None or current_go_no_go(stage, after, decisions, charter) is not None:
        return None
    voided = (
        f"the go/no-go decision for {stage.id} ({was.decision}, {was.by}, "
        f"{was.at:%Y-%m-%d %H:%M} UTC) no longer counts: "
    )
    row = timers.schedule_next_call(gov, session, after, now)
    if row is not None:
        return (
            f"{voided}a new go/no-go call is scheduled for "
            f"{aware(row.starts_at):%Y-%m-%d %H:%M} UTC ({row.title})"
        )
    running = timers.running_call(session, after.proposal, stage.id, now)
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
    return _answer(result)


def advance(
    gov: Governance, session: Session, cmd: c.Advance, actor: Actor, now: datetime
) -> Message:
    loaded = locate(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return refuse(gov, session, actor, cmd, loaded, now)
    stored, rollout = loaded
    final = _final(stored)
    if final is not None:
        return refuse(gov, session, actor, cmd, final, now)
    facts = gate_facts(session, stored.proposal)
    try:
        decision = rules.advance(
            checked(gov, session, rollout),
            gov.charter,
            facts,
            now,
            by=actor.name,
            override_reason=cmd.override_reason,
            may_override=cmd.override_reason is not None,  # authorize_command checked OVERRIDE
            to=cmd.stage,
        )
    except ValueError as error:
        return refuse(gov, session, actor, cmd, str(error), now)
    why = _refusal(decision.effects)
    if why is not None:
        return refuse(gov, session, actor, cmd, why, now)
    return _answer(
        save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    )


def read_view(
    gov: Governance, n: int, actor: Actor, now: datetime | None = None
) -> dict[str, Any] | None:
    """The rollout of #n as the dashboard and API show it, or None when ``actor`` may not see
    it or it has none (a proposal not accepted yet)."""
    now = now or gov.clock.now()
    with session_scope(gov.engine) as session:
        found = locate(gov, session, n, actor, now)
        if isinstance(found, str):
            return None
        return view_of(gov, session, *found, now)


def show_rollout(
    gov: Governance, session: Session, cmd: c.ShowRollout, actor: Actor, now: datetime
) -> Message:
    loaded = locate(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return Message.text_only(loaded, ok=False)
    stored, rollout = loaded
    message = rollout_message(view_of(gov, session, stored, rollout, now))
    return replace(message, more=_public_page(gov, stored, f"/proposals/{cmd.n}"))


def _public_page(gov: Governance, stored: repo.Stored, path: str) -> str:
    """``path`` on the dashboard when the public sees the proposal there (a confidential one
    only once disclosed: the page is a 404 before), else ""."""
    return gov.page(path) if visible(gov, stored, Actor(login=None, surface="web")) else ""


def inventory(
    gov: Governance, session: Session, cmd: c.Inventory, actor: Actor, now: datetime
) -> Message:
    if cmd.n is not None:
        loaded = locate(gov, session, cmd.n, actor, now)
        if isinstance(loaded, str):
            return Message.text_only(loaded, ok=False)
        reports = store.ready_reports(session, proposal=cmd.n)
        mine = {cmd.n: loaded[1]}
        message = inventory_message(reports, gov.charter, proposal=cmd.n, rollouts=mine)
        return replace(message, more=_public_page(gov, loaded[0], f"/proposals/{cmd.n}"))
    hidden = {
        s.proposal.number
        for s in repo.listing(session, include_confidential=True)
        if not visible(gov, s, actor)
    }
    reports = [(n, r) for n, r in store.ready_reports(session) if n not in hidden]
    every = {
        r.proposal: r for r in store.rollouts(session, gov.charter) if r.proposal not in hidden
    }
    message = inventory_message(reports, gov.charter, rollouts=every)
    return replace(message, more=gov.page("/rollouts"))


def rollback(
    gov: Governance, session: Session, cmd: c.Rollback, actor: Actor, now: datetime
) -> Message:
    loaded = locate(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return refuse(gov, session, actor, cmd, loaded, now)
    stored, rollout = loaded
    final = _final(stored)
    if final is not None:
        return refuse(gov, session, actor, cmd, final, now)
    try:
        decision = rules.rollback(
            rollout,
            gov.charter,
            cmd.reason,
            actor.name,
            now,
            clients=cmd.clients or None,
            may_end=may_end(gov, stored.proposal, actor),
        )
    except ValueError as error:
        return refuse(gov, session, actor, cmd, str(error), now)
    why = _refusal(decision.effects)
    if why is not None:
        return refuse(gov, session, actor, cmd, why, now)
    return _answer(
        save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    )


def pause(
    gov: Governance, session: Session, cmd: c.PauseRollout, actor: Actor, now: datetime
) -> Message:
    """Hold a rollout by hand (``rollout pause <n> "<reason>"``): the rule is
    :func:`charter.rollout.pause`, who may is :mod:`charter.authz` (asked again here with the
    rollout's clients). A rollout rolled back for good has nothing left to hold."""
    loaded = _held(gov, session, cmd, actor, now)
    if isinstance(loaded, Message):
        return loaded
    stored, rollout = loaded
    try:
        decision = rules.pause(rollout, None, cmd.reason, gov.charter, by=actor.name)
    except ValueError as error:
        return refuse(gov, session, actor, cmd, str(error), now)
    return _decided(gov, session, cmd, stored, rollout, decision, actor, now)


def resume(
    gov: Governance, session: Session, cmd: c.ResumeRollout, actor: Actor, now: datetime
) -> Message:
    """Lift a rollout's hold by hand (``rollout resume <n> ["<reason>"]``); an incident's hold
    stays, and the reply says what still holds it. ``--override "<reason>"`` (override roles)
    lifts the incidents' holds on this rollout too: :func:`charter.rollout.override_holds`.
    What waited for the hold happens now, as when an incident is resolved
    (:func:`bot.rollout_incidents.resolve`): the first stage is entered (releases meeting the
    form's prerequisites) or the rollout completes. A rollout rolled back for good is refused,
    as a pause is: nothing of it resumes (an incident resolved later lifts its own hold
    silently, :func:`charter.rollout.resume` ``ended``)."""
    loaded = _held(gov, session, cmd, actor, now)
    if isinstance(loaded, Message):
        return loaded
    stored, rollout = loaded
    minimums = form_minimums(stored.proposal.fields)
    if cmd.override_reason is not None:  # authorize_command checked OVERRIDE
        try:
            decision = rules.override_holds(
                rollout, gov.charter, actor.name, cmd.override_reason, now=now, minimums=minimums
            )
        except ValueError as error:
            return refuse(gov, session, actor, cmd, str(error), now)
    else:
        decision = rules.resume(
            rollout,
            gov.charter,
            actor.name,
            now=now,
            minimums=minimums,
            reason=cmd.reason,
            confidential=confidential_incidents(session),
        )
    return _decided(gov, session, cmd, stored, rollout, decision, actor, now)


def _held(
    gov: Governance,
    session: Session,
    cmd: c.PauseRollout | c.ResumeRollout,
    actor: Actor,
    now: datetime,
) -> tuple[repo.Stored, Rollout] | Message:
    """The proposal and rollout a pause or resume acts on, once the actor may act on them (a
    pause is open to the maintainers of that rollout's clients only) and while it has not been
    rolled back for good: then nothing of it is left to hold or to resume."""
    loaded = locate(gov, session, cmd.n, actor, now)
    if isinstance(loaded, str):
        return refuse(gov, session, actor, cmd, loaded, now)
    stored, rollout = loaded
    refusal = gov.authorize(
        session, cmd, actor, now, proposal=stored.proposal, rollout_clients=rollout.clients
    )
    if refusal is not None:
        return refusal
    final = _final(stored)
    return loaded if final is None else refuse(gov, session, actor, cmd, final, now)


def _decided(
    gov: Governance,
    session: Session,
    cmd: object,
    stored: repo.Stored,
    rollout: Rollout,
    decision: rules.RolloutDecision,
    actor: Actor,
    now: datetime,
) -> Message:
    """Refuse as the decision says, or save it and carry out its effects, as advance does."""
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


__all__ = ["install", "install_on", "locate", "read_view", "record_go_no_go", "save"]
