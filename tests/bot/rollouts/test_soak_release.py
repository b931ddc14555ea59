"""The soak is counted per release (charter.soak), end to end: a release that never ran on canary
does not enter production on a go/no-go decided before it existed, the reply to the report that
restarts a soak says so, and every reader (the `rollout` view, the read API, the go/no-go call
timer) sees the restarted clock, also where a row saved before that rule kept the clock's first
start (caught up once, at start). An advance refused for a pause says what lifts each hold."""

from __future__ import annotations

import json

from bot import meetings_service, rollouts
from bot.charter_adoption import adopt_charter
from bot.messages import Actor
from storage.db import session_scope
from storage.models.rollouts import RolloutRow
from tests.bot.rollouts.conftest import (
    CLIENTS,
    COORDINATOR,
    COUNCIL,
    MAINTAINER,
    D,
    H,
    World,
    form,
)
from tests.bot.rollouts.test_rollout_commands import decide

PAIR = ("aurora", "borealis")
OLD = {"aurora": "a" * 40, "borealis": "b" * 40}
NEW = "c" * 40
CHECKS = ("interop-matrix", "differential-fuzz")


def soaked_and_go(world: World) -> None:
    """#1 on canary with 1.0.0 for 14 days; the go/no-go call decided go."""
    meetings_service.install_on(world.gov)
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    for c in PAIR:
        world.ok(MAINTAINER[c], f"ready 1 {c} staging 1.0.0 {OLD[c]}")
    world.later(73 * H)
    for c in PAIR:
        world.ok(MAINTAINER[c], f"ready 1 {c} canary 1.0.0 {OLD[c]}")
        world.check(c, OLD[c], "interop-matrix")
    world.ok(COORDINATOR, "advance 1")
    world.later(12 * D + 2 * H)
    world.tick()  # the go/no-go call is stored
    world.later(2 * D)
    world.ok(COORDINATOR, "meeting decide go, all green")
    world.later(H)


def test_a_release_that_never_ran_on_canary_does_not_enter_production(world: World) -> None:
    soaked_and_go(world)
    restarted_at = world.clock.now()
    a = MAINTAINER["aurora"]
    assert world.ok(a, f"ready 1 aurora canary 2.0.0 {NEW}") == (
        "recorded aurora 2.0.0@cccccccccccc for canary; aurora's canary soak restarts: 2.0.0"
        " replaces 1.0.0"
    )
    assert world.ok(a, f"ready 1 aurora production 2.0.0 {NEW}") == (
        "recorded aurora 2.0.0@cccccccccccc for production"
    )
    world.ok(MAINTAINER["borealis"], f"ready 1 borealis production 1.0.0 {OLD['borealis']}")
    for name in CHECKS:
        world.check("aurora", NEW, name)
        world.check("borealis", OLD["borealis"], name)
    world.later(H)
    soak = (
        "soak: canary has run 0d 1h of 14d with every client on it (13d 23h to go; counted since"
        " aurora's 2.0.0 replaced 1.0.0)"
    )
    stale = (
        "go/no-go: the last decision for production (go, ines-coord, 2026-06-26 14:00 UTC) was"
        " made before aurora's 2.0.0 replaced 1.0.0 on canary (2026-06-26 15:00 UTC); a new"
        " go/no-go call must decide"
    )
    shown = world.ok(None, "rollout 1").splitlines()
    assert f"  FAIL {soak}" in shown
    assert f"  FAIL {stale}" in shown
    view = rollouts.read_view(world.gov, 1, Actor(login=None, surface="console"))
    assert view is not None
    assert view["stage_entered_at"]["canary"] == restarted_at.isoformat().replace("+00:00", "Z")
    assert world.refused(COORDINATOR, "advance 1") == (
        f"error: #1 cannot advance to production:\n- {soak}\n- {stale}"
    )
    # the go/no-go call timer reads the same clock: a new call for the new soak
    world.later(12 * D)
    world.tick()
    assert world.announced("the soak on canary restarted 2026-06-26 15:00 UTC")


def test_reporting_the_same_release_again_restarts_nothing(world: World) -> None:
    """A repeat of the release a client runs on canary neither restarts the soak nor voids the
    go decided after every release going forward was reported."""
    meetings_service.install_on(world.gov)
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    for c in PAIR:
        world.ok(MAINTAINER[c], f"ready 1 {c} staging 1.0.0 {OLD[c]}")
    world.later(73 * H)
    for c in PAIR:
        world.ok(MAINTAINER[c], f"ready 1 {c} canary 1.0.0 {OLD[c]}")
        world.check(c, OLD[c], "interop-matrix")
    world.ok(COORDINATOR, "advance 1")
    for c in PAIR:
        world.ok(MAINTAINER[c], f"ready 1 {c} production 1.0.0 {OLD[c]}")
        for name in CHECKS:
            world.check(c, OLD[c], name)
    world.later(12 * D + 2 * H)
    world.tick()
    world.later(2 * D)
    world.ok(COORDINATOR, "meeting decide go, all green")
    world.later(H)
    a = MAINTAINER["aurora"]
    assert world.ok(a, f"ready 1 aurora canary 1.0.0 {OLD['aurora']}") == (
        "recorded aurora 1.0.0@aaaaaaaaaaaa for canary"
    )
    world.ok(a, f"ready 1 aurora production 1.0.0 {OLD['aurora']}")
    assert world.ok(COORDINATOR, "advance 1") == "#1 advanced to production"


def test_advancing_while_an_incident_holds_it_says_to_resolve_that_incident(
    world: World,
) -> None:
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    for c in PAIR:
        world.ok(MAINTAINER[c], f"ready 1 {c} staging 1.0.0 {OLD[c]}")
    world.ok(COORDINATOR, 'incident declare sev1 "fork" for 1')
    world.ok(COORDINATOR, 'rollout pause 1 "devnet freeze"')
    assert world.refused(COORDINATOR, "advance 1") == (
        "error: #1 is paused; it advances once every hold is lifted:\n"
        "- incident 1 (sev1): fork — lifted when incident 1 is resolved"
        " (`/charter incident resolve #1`)\n"
        "- held by ines-coord: devnet freeze — a member of coordinators lifts it with"
        " `/charter rollout resume 1`"
    )


def test_a_confidential_incidents_hold_is_not_named_to_the_public(world: World) -> None:
    """A sev1 about the embargoed patch #2 (and aurora) pauses public #1: advancing #1 says
    only that a confidential incident holds it, never its number or summary."""
    secret = "embargoed gossip exploit"
    world.accept(1, form())
    for c in CLIENTS:
        world.ok(MAINTAINER[c], f"ready 1 {c} staging 1.0.0 {c[0] * 40}")
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    world.ok(COORDINATOR, "rollout 2")
    world.ok(COUNCIL, f'incident declare sev1 "{secret}" for 2 clients aurora')
    assert world.refused(MAINTAINER["borealis"], "advance 1") == (
        "error: #1 is paused; it advances once every hold is lifted:\n"
        "- a confidential incident (sev1) — lifted when that incident is resolved"
    )


def _stored_clock(world: World, stage: str, when: str | None = None) -> str:
    """#1's stored soak clock for ``stage``; with ``when``, stored as the code before the
    restart rule left it (the clock never moved to a new release)."""
    with session_scope(world.engine) as session:
        row = session.get(RolloutRow, 1)
        assert row is not None
        data = json.loads(row.data)
        if when is not None:
            data["stage_entered_at"][stage] = when
            row.data = json.dumps(data, sort_keys=True, separators=(",", ":"))
            session.add(row)
        return str(data["stage_entered_at"][stage])


def test_a_clock_stored_before_the_restart_rule_is_caught_up_at_start(world: World) -> None:
    """Staging entered at T0, aurora replaced its release at T0+2d, but the row kept T0. The
    bot started (the stored rows upgraded once), the clock counts from the new release: at
    T0+73h staging has run 25h, and a repeat that brings nothing changes no reading."""
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    for client in PAIR:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 {OLD[client]}")
    entered = _stored_clock(world, "staging")
    world.later(2 * D)
    world.ok(MAINTAINER["aurora"], f"ready 1 aurora staging 1.0.1 {NEW}")
    restarted_at = _stored_clock(world, "staging")
    _stored_clock(world, "staging", entered)
    adopt_charter(world.engine, world.gov.loaded, world.clock.now())  # as at start
    assert _stored_clock(world, "staging") == restarted_at
    world.later(25 * H)

    def soak_line() -> str:
        return next(line for line in world.ok(None, "rollout 1").splitlines() if "soak:" in line)

    before = soak_line()
    assert before.startswith("  FAIL soak: staging has run 25h of 72h")
    world.ok(MAINTAINER["borealis"], f"ready 1 borealis staging 1.0.0 {OLD['borealis']}")
    assert soak_line() == before
