"""A rollout that starts while an open incident at ``pause_on_incident`` (sev1) names it — by
number, by one of its clients, or by naming nothing — starts paused by that incident: audited
and announced as a declaration's pauses are. Its first stage waits, and is entered when the
incident is resolved."""

from __future__ import annotations

import json

import pytest

from charter.lifecycle import State
from storage import audit_query, rollouts as store
from storage.db import session_scope
from tests.bot.rollouts.conftest import COORDINATOR, MAINTAINER, H, World, form

PAIR = ("aurora", "borealis")
REASON = "incident 1 (sev1): chain halt on devnet"


def vote_through(world: World, n: int) -> None:
    """Review, vote and close an opened proposal: the rest of ``World.accept``."""
    track = world.gov.charter.tracks["protocol-change"]
    world.later(track.review + H)
    world.tick()
    for login in MAINTAINER.values():
        world.ok(login, f"approve {n} ok")
    world.later(track.confirm + H)  # type: ignore[operator]
    world.tick()
    assert world.state(n) is State.ACCEPTED


def pauses(world: World, n: int) -> tuple[tuple[str, str], ...]:
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, n, world.gov.charter)
        assert rollout is not None
        return rollout.pauses


def paused_records(world: World, n: int) -> list[dict[str, object]]:
    with session_scope(world.engine) as session:
        rows = audit_query.entries(session, subject=f"rollout:{n}", kind="rollout-paused")
        return [json.loads(r.payload) for r in rows]


@pytest.mark.parametrize(
    ("declared", "held"),
    [
        ('incident declare sev1 "chain halt on devnet" for 1', True),
        ('incident declare sev1 "chain halt on devnet"', True),  # names everything
        ('incident declare sev1 "chain halt on devnet" clients borealis', True),
        ('incident declare sev1 "chain halt on devnet" clients cirrus', False),
        ('incident declare sev2 "chain halt on devnet" for 1', False),  # below sev1
    ],
    ids=["by-number", "everything", "its-client", "other-client", "below-sev1"],
)
def test_a_rollout_starting_during_an_incident_that_names_it_starts_paused(
    world: World, declared: str, held: bool
) -> None:
    world.open_issue(1, form(clients=PAIR))
    world.ok(COORDINATOR, declared)
    vote_through(world, 1)
    assert pauses(world, 1) == ((("1", REASON),) if held else ())
    assert paused_records(world, 1) == ([{"incident": "1", "reason": REASON}] if held else [])
    assert bool(world.announced("#1 rollout paused")) is held
    for client in PAIR:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 abcdef1")
    assert world.state(1) is (State.ACCEPTED if held else State.ROLLING_OUT)


def test_resolving_the_incident_lifts_the_hold_and_enters_the_first_stage(world: World) -> None:
    world.open_issue(1, form(clients=PAIR))
    world.ok(COORDINATOR, 'incident declare sev1 "chain halt on devnet"')
    vote_through(world, 1)
    for client in PAIR:
        said = world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 abcdef1")
    assert said.endswith(f"#1 is paused ({REASON}): it enters staging once resumed")
    assert world.ok(COORDINATOR, "incident resolve fixed").splitlines()[:2] == [
        "Incident #1 resolved.",
        "#1 resumed; it entered staging",
    ]
    assert pauses(world, 1) == ()
    assert world.state(1) is State.ROLLING_OUT


def test_a_resolved_incident_holds_nothing(world: World) -> None:
    world.open_issue(1, form(clients=PAIR))
    world.ok(COORDINATOR, 'incident declare sev1 "chain halt on devnet" for 1')
    world.ok(COORDINATOR, "incident resolve fixed")
    vote_through(world, 1)
    assert pauses(world, 1) == ()
