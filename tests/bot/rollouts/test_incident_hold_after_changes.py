"""An incident's hold follows what became of the incident and of the proposal it holds:
- resolving it lifts its hold from a proposal that has since ended (rolled back for good)
  silently: audited, but no "#1 rollout resumed" announced, nor "#1 resumed" replied;
- changing its severity words its holds anew: the pause line shows the severity it has now
  (and, for a confidential incident, still only "a confidential incident (<severity>)")."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from charter.lifecycle import State
from storage import rollouts as store
from storage.db import session_scope
from storage.models.audit import AuditEntry
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World, form
from tests.bot.rollouts.test_rollout_commands import decide

PAIR = ("aurora", "borealis")


def staged(world: World) -> None:
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    for client in PAIR:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 {client[0] * 40}")


def pauses(world: World, n: int) -> tuple[tuple[str, str], ...]:
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, n, world.gov.charter)
    assert rollout is not None
    return rollout.pauses


def resumed_records(world: World) -> list[dict[str, object]]:
    with session_scope(world.engine) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.kind == "rollout-resumed")).all()
        return [json.loads(r.payload) for r in rows]


@pytest.mark.parametrize("ended", [True, False], ids=["rolled-back-for-good", "rolling-out"])
def test_resolving_lifts_an_ended_proposals_hold_silently(world: World, ended: bool) -> None:
    staged(world)
    world.ok(COORDINATOR, 'incident declare sev1 "fork" for 1')
    if ended:
        world.ok(COORDINATOR, 'rollback 1 "abandon"')
    assert (world.state(1) is State.ROLLED_BACK) is ended
    said = world.ok(COORDINATOR, "incident resolve done")
    assert pauses(world, 1) == ()
    assert bool(world.announced("#1 rollout resumed")) is not ended
    assert ("#1 resumed" in said) is not ended
    assert ("#1 has ended; its hold is lifted, and it does not resume" in said) is ended
    [record] = resumed_records(world)
    assert (record["incident"], record.get("ended", False)) == ("1", ended)


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        (["sev3 false alarm"], "incident 1 (sev3): fork"),
        (["sev3 false alarm", "sev2 worse than thought"], "incident 1 (sev2): fork"),
        (["sev2 contained", "sev1 spreading again"], "incident 1 (sev1): fork"),
    ],
    ids=["lowered", "lowered-then-raised", "lowered-then-raised-back"],
)
def test_the_pause_line_shows_the_incidents_severity_now(
    world: World, changes: list[str], shown: str
) -> None:
    staged(world)
    world.ok(COORDINATOR, 'incident declare sev1 "fork" for 1')
    for change in changes:
        world.ok(COORDINATOR, f"incident severity {change}")
    assert pauses(world, 1) == (("1", shown),)
    assert f"Paused: {shown}" in world.ok(None, "rollout 1")
    assert len(world.announced("#1 rollout paused")) == 1  # the rewording is not announced


def test_a_confidential_incidents_new_severity_is_worded_as_confidential(
    sqlite_engine: Engine,
) -> None:
    """It also names an undisclosed patch (by number): the public #1's pause line gets the new
    severity but never the incident's number or summary."""
    world = World(sqlite_engine)
    world.accept(1, form(clients=("borealis",)))
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    for n in (1, 2):
        world.ok(COORDINATOR, f"rollout {n}")
    world.ok(COUNCIL, 'incident declare sev1 "exploit seen on testnet" for 2 clients borealis')
    world.ok(COUNCIL, "incident severity sev2 contained")
    for n in (1, 2):
        assert pauses(world, n) == (("1", "a confidential incident (sev2)"),)
    shown = world.ok(MAINTAINER["borealis"], "rollout 1")
    assert "Paused: a confidential incident (sev2)" in shown
    assert "exploit" not in shown
