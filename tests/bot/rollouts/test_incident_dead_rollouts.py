"""A rollout whose proposal was rolled back for good is over: an incident may name it, for the
record, but never pauses it (no pause, no "Paused: #n", no resume announcement later), whether
the incident names its clients, nothing, or the proposal itself.

storage.rollouts.rollouts(active_only=True) leaves such rollouts out (the facts the incident
rules get); charter.incidents pauses only active rollouts, even ones named explicitly.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from charter.lifecycle import State
from storage import rollouts as store
from storage.db import session_scope
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World, form

AURORA = MAINTAINER["aurora"]


def two_rollouts(engine: Engine) -> World:
    """#1 rolled back for good (its only client back off staging); #2 live on staging."""
    world = World(engine)
    world.accept(1, form(clients=("aurora",)))
    world.accept(2, form(clients=("aurora",)), title="Lower the fee floor")
    for n in (1, 2):
        world.ok(AURORA, f"ready {n} aurora staging 1.0.0")
    world.ok(COORDINATOR, 'rollback 1 "fee market bug"')
    assert (world.state(1), world.state(2)) == (State.ROLLED_BACK, State.ROLLING_OUT)
    return world


def paused(world: World, n: int) -> bool:
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, n, world.gov.charter)
    assert rollout is not None
    return rollout.paused


@pytest.mark.parametrize(
    ("commands", "names", "live_paused"),
    [
        (['incident declare sev1 "aurora forks on mainnet" clients aurora'], [], True),
        (['incident declare sev1 "aurora forks on mainnet"'], [], True),
        (['incident declare sev1 "aurora forks on mainnet" for 1'], [1], False),
        (['incident declare sev1 "aurora forks on mainnet" for 1,2'], [1, 2], True),
        (
            [
                'incident declare sev2 "aurora forks on mainnet" for 1',
                "incident severity sev1 spreading",
            ],
            [1],
            False,
        ),
        (
            [
                'incident declare sev2 "aurora forks on mainnet" clients aurora',
                "incident severity sev1 spreading",
            ],
            [],
            True,
        ),
    ],
    ids=[
        "clients",
        "nothing-named",
        "named",
        "named-with-a-live-one",
        "named-raised-to-sev1",
        "clients-raised-to-sev1",
    ],
)
def test_an_incident_never_pauses_a_rollout_rolled_back_for_good(
    sqlite_engine: Engine, commands: list[str], names: list[int], live_paused: bool
) -> None:
    """The live rollout (#2) pauses when named and resumes on resolution; the dead one (#1) is
    never paused, said to be paused or resumed, though an incident naming it keeps it named."""
    world = two_rollouts(sqlite_engine)
    replies = [world.ok(COUNCIL, command) for command in commands]
    assert "Paused: #1" not in replies[-1]
    assert replies[-1].endswith(" Paused: #2.") is live_paused
    assert (paused(world, 1), paused(world, 2)) == (False, live_paused)
    [declared] = world.announced("Incident 1 (")
    assert declared["data"]["proposals"] == names
    assert not world.announced("#1 rollout paused")
    incidents = [a for a in world.outbox("announce") if a["kind"] == "incident"]
    assert [1 in a["data"].get("paused", []) for a in incidents] == [False] * len(commands)
    world.ok(COUNCIL, "incident resolve fixed in aurora 1.0.1")
    assert not world.announced("#1 rollout resumed")
    assert bool(world.announced("#2 rollout resumed")) is live_paused
    assert not paused(world, 1) and not paused(world, 2)


def test_active_rollouts_are_those_still_under_way(engine: Engine) -> None:
    """Not completed, and not of a proposal in a final state where the rollout is over: a
    rollout rolled back for good is left out; a completed proposal's rollout reopened by a
    rollback after completion is still under way (reports and advances apply to it)."""
    world = two_rollouts(engine)
    world.accept(3, form(clients=("aurora",)), title="Completed, then reopened")
    world.accept(4, form(clients=("aurora",)), title="Completed")
    for n in (3, 4):
        world.ok(AURORA, f"ready {n} aurora staging 1.0 abc123{n}")
        for stage in ("canary", "production"):
            world.ok(AURORA, f"ready {n} aurora {stage} 1.0 abc123{n}")
            world.ok(COORDINATOR, f'advance {n} to {stage} --override "single-client drill"')
        assert world.state(n) is State.COMPLETED
    world.ok(AURORA, 'rollback 3 aurora "production node crash"')
    assert world.state(3) is State.COMPLETED
    with session_scope(engine) as session:
        active = [r.proposal for r in store.rollouts(session, world.gov.charter, active_only=True)]
        every = [r.proposal for r in store.rollouts(session, world.gov.charter)]
    assert (active, every) == ([2, 3], [1, 2, 3, 4])
