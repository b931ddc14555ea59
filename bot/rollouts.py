"""Rollout orchestration wired into the service: the rollout commands and what reads them.

``install(rt)`` registers the whole area on ``rt.gov``: the commands that move a rollout
(:mod:`bot.rollout_moves`: ``ready``, ``advance``, ``rollback``), hold it
(:mod:`bot.rollout_holds`: ``rollout pause|resume``) and show it (here: ``rollout``,
``inventory``), rollback drills (:mod:`bot.rollout_drills`), incidents
(:mod:`bot.rollout_incidents`) and kill switches (:mod:`bot.rollout_kill_switches`), GitHub
check results, releases and watchdogs (:mod:`bot.rollout_watch`) and the proposal lifecycle
(:mod:`bot.rollout_lifecycle`). Every handler runs inside the service's transaction, after
``authorize_command`` passed; the rules are :mod:`charter.rollout`, :mod:`charter.gates`,
:mod:`charter.incidents` and :mod:`charter.watchdogs`. The steps the commands share (who sees
a rollout, refusing, saving) are :mod:`bot.rollout_steps` (:func:`bot.rollout_steps.step`).

Rules:
- A confidential, undisclosed rollout is visible to coordinators, the security council and the
  maintainers of its clients; to anyone else it does not exist ("There is no proposal #n"):
  its view, its inventory and its dashboard link alike.
- ``inventory`` without a proposal lists every release reported, leaving out the rollouts the
  asker may not see.
- A go/no-go call's decision is recorded for a stage of the charter, as ``go`` or ``no-go``
  (:func:`record_go_no_go`), and audited.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.messages import Actor, Message
from bot.rollout_holds import pause, resume
from bot.rollout_lifecycle import on_state
from bot.rollout_moves import advance, ready, rollback
from bot.rollout_reads import view_of
from bot.rollout_steps import locate, visible
from bot.rollout_views import inventory_message, rollout_message
from bot.service import Governance
from charter import commands as c
from charter.effects import Audit
from charter.gates import GoNoGo
from storage import proposals as repo, rollout_reports as report_store, rollouts as store
from storage.db import session_scope

if TYPE_CHECKING:
    from bot.runtime import Runtime


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
    message = rollout_message(view_of(gov, session, stored, rollout, now), now)
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
        reports = report_store.ready_reports(session, proposal=cmd.n)
        mine = {cmd.n: loaded[1]}
        message = inventory_message(reports, gov.charter, proposal=cmd.n, rollouts=mine)
        return replace(message, more=_public_page(gov, loaded[0], f"/proposals/{cmd.n}"))
    hidden = {
        s.proposal.number
        for s in repo.listing(session, include_confidential=True)
        if not visible(gov, s, actor)
    }
    reports = [(n, r) for n, r in report_store.ready_reports(session) if n not in hidden]
    every = {
        r.proposal: r for r in store.rollouts(session, gov.charter) if r.proposal not in hidden
    }
    message = inventory_message(reports, gov.charter, rollouts=every)
    return replace(message, more=gov.page("/rollouts"))


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
    report_store.record_go_no_go(session, call, note)
    payload = {"stage": stage, "decision": decision, "by": by, "note": note}
    gov.effects(session, [Audit("go-no-go-recorded", f"rollout:{proposal}", payload)], by, now)


__all__ = ["install", "install_on", "read_view", "record_go_no_go"]
