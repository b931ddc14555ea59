"""Through the real service: a rollback moves the rollout back, so rejoining clients re-enter a
stage only through ``advance`` and its gates; a rollback out of production needs a new
go/no-go call (scheduled by the meetings tick); a pause holds the first stage's entry and the
completion until the incident is resolved, which lifts its hold on every rollout it holds; and
a coordinator may override the prerequisites that hold the first stage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

from bot import meetings_service
from charter.lifecycle import State
from charter.rollout import Rollout
from storage import meetings as meeting_store, rollouts as store
from storage.db import session_scope
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, D, H, World, form

PAIR = ("aurora", "borealis")
SHA = {"aurora": "a" * 40, "borealis": "b" * 40}


def rollout(world: World, n: int = 1) -> Rollout:
    with session_scope(world.engine) as session:
        found = store.load_rollout(session, n, world.gov.charter)
    assert found is not None
    return found


def ready(world: World, client: str, stage: str, version: str = "1.0.0", sha: str = "") -> str:
    return world.ok(MAINTAINER[client], f"ready 1 {client} {stage} {version} {sha or SHA[client]}")


def green(world: World, client: str, stage: str, sha: str = "") -> None:
    found = world.gov.charter.stage(stage)
    assert found is not None
    for name in found.require_checks:
        world.check(client, sha or SHA[client], name, "success")


def on_canary(world: World, *, likelihood: int, impact: int) -> None:
    """#1 (aurora, borealis) accepted, on staging for 73h, reported for canary, checks green."""
    world.accept(1, form(clients=PAIR, likelihood=likelihood, impact=impact))
    ready_for_canary(world)


def ready_for_canary(world: World) -> None:
    """Accepted #1's clients on staging for 73h, then reported for canary with checks green."""
    for client in PAIR:
        ready(world, client, "staging")
    world.later(73 * H)
    for client in PAIR:
        ready(world, client, "canary")
        green(world, client, "canary")


def test_a_client_rejoining_canary_with_a_failing_check_does_not_reopen_it(world: World) -> None:
    """borealis is rolled back from canary: the rollout goes back to staging with it, its
    failing fix is refused by `advance`, production cannot even be reported for, and only a
    green fix (or an override) re-enters canary."""
    on_canary(world, likelihood=1, impact=1)
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    said = world.ok(MAINTAINER["borealis"], 'rollback 1 borealis "fee bug"')
    assert said == "rolled back borealis canary → staging"
    assert rollout(world).stage_index == 0
    assert world.announced(
        "#1 is back on staging: canary is entered again only by `/charter advance 1`"
    )
    fix = "c" * 40
    ready(world, "borealis", "canary", "1.0.1", fix)
    world.check("borealis", fix, "interop-matrix", "failure")
    assert "canary" not in rollout(world).stage_entered_at
    world.later(20 * D)
    assert "report for canary or earlier, not production" in world.refused(
        MAINTAINER["aurora"], f"ready 1 aurora production 1.0.0 {SHA['aurora']}"
    )
    refusal = world.refused(COORDINATOR, "advance 1")
    assert f"- require_checks: interop-matrix on borealis@{fix} concluded failure" in refusal
    world.check("borealis", fix, "interop-matrix", "success")
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    assert rollout(world).stage_entered_at["canary"] == world.clock.now()


def test_a_full_rollback_asks_for_the_risk_override_again(world: World) -> None:
    """Canary was entered with a risk override; after every client is rolled back (aurora from
    production, reported ahead) and comes back, re-entering canary needs the override again."""
    on_canary(world, likelihood=4, impact=5)
    world.ok(COORDINATOR, 'advance 1 to canary --override "risk reviewed"')
    ready(world, "aurora", "production")
    said = world.ok(COORDINATOR, 'rollback 1 "chain split"')
    assert said == "rolled back aurora production → canary, borealis canary → staging"
    assert rollout(world).stage_index == 0
    for client in PAIR:
        ready(world, client, "canary", "1.0.1")
    refusal = world.refused(COORDINATOR, "advance 1")
    assert "- risk: likelihood 4 × impact 5 = 20 is above 15" in refusal
    assert "by override" in world.ok(
        COORDINATOR, 'advance 1 to canary --override "risk reviewed again"'
    )
    assert [o.stage for o in rollout(world).overrides] == ["canary", "canary"]


def calls(world: World) -> list[str]:
    return [a["title"] for a in world.outbox("announce") if a["title"].startswith("Go/no-go")]


def test_a_rollback_out_of_production_needs_a_new_go_no_go_call(world: World) -> None:
    """Production entered on a "go"; every client rolled back to canary (its soak clock keeps
    running): the old "go" no longer counts, the tick schedules attempt 2 two days after the
    rollback, and the decision recorded on it lets production be entered again."""
    meetings_service.install_on(world.gov)
    on_canary(world, likelihood=1, impact=1)
    world.ok(COORDINATOR, "advance 1")
    for client in PAIR:
        ready(world, client, "production")
        green(world, client, "production")
    world.later(12 * D + 2 * H)
    world.tick()
    assert calls(world) == ["Go/no-go: #1 to production"]
    world.later(2 * D)
    assert "Recorded" in world.ok(COORDINATOR, "meeting decide go, all green")
    assert "#1 advanced to production" in world.ok(COORDINATOR, "advance 1")
    assert world.state(1) is State.COMPLETED

    world.later(D)
    rolled_at = world.clock.now()
    world.ok(COORDINATOR, 'rollback 1 "mainnet halt"')
    assert (rollout(world).stage_index, rollout(world).completed_at) == (1, None)
    for client in PAIR:
        ready(world, client, "production", "1.0.1")
    refusal = world.refused(COORDINATOR, "advance 1")
    assert "was made before the rollback out of production" in refusal
    world.tick()
    world.tick()
    assert calls(world) == ["Go/no-go: #1 to production", "Go/no-go: #1 to production (attempt 2)"]
    (text,) = [a["text"] for a in world.announced("(attempt 2)")]
    assert f"a rollback out of production ({COORDINATOR}, {rolled_at:%Y-%m-%d %H:%M} UTC)" in text
    with session_scope(world.engine) as session:
        starts = [r.starts_at.replace(tzinfo=UTC) for r in meeting_store.adhoc_rows(session)]
    assert starts[-1] == rolled_at + 2 * D  # the notice a first call gets
    world.later(2 * D + 2 * H)
    world.ok(COORDINATOR, "meeting decide go, halt fixed in 1.0.1")
    assert "#1 advanced to production" in world.ok(COORDINATOR, "advance 1")
    assert rollout(world).completed_at == world.clock.now()


# -- pauses ---------------------------------------------------------------------------------------


def test_a_paused_rollout_completes_only_when_the_incident_is_resolved(world: World) -> None:
    """Production entered by override without borealis; a sev1 pauses it; borealis reports:
    the rollout waits, and resolving the incident completes it."""
    on_canary(world, likelihood=1, impact=1)
    world.ok(COORDINATOR, "advance 1")
    world.later(2 * D)
    ready(world, "aurora", "production")
    world.ok(COORDINATOR, 'advance 1 to production --override "fork date is fixed"')
    world.ok(COUNCIL, 'incident declare sev1 "aurora forks" clients aurora')
    said = ready(world, "borealis", "production")
    assert said.endswith("it completes once resumed")
    assert (rollout(world).completed_at, world.state(1)) == (None, State.ROLLING_OUT)
    world.later(H)
    assert "#1 resumed" in world.ok(COUNCIL, "incident resolve patched")
    assert (rollout(world).completed_at, rollout(world).paused) == (world.clock.now(), False)
    assert world.state(1) is State.COMPLETED
    assert world.announced("#1 rollout completed")


def test_a_paused_rollout_enters_its_first_stage_only_when_resumed(world: World) -> None:
    world.accept(1, form(clients=PAIR))
    world.ok(COUNCIL, 'incident declare sev1 "devnets down"')
    for client in PAIR:
        ready(world, client, "staging")
    assert (rollout(world).stage_index, world.state(1)) == (-1, State.ACCEPTED)
    world.ok(COUNCIL, "incident resolve devnets back")
    assert (rollout(world).stage_index, world.state(1)) == (0, State.ROLLING_OUT)
    assert rollout(world).stage_entered_at == {"staging": world.clock.now()}


def test_resolving_lifts_the_hold_on_a_rollout_that_completed_while_held(world: World) -> None:
    """A rollout stored completed while still held (as earlier versions let happen) is freed by
    resolving the incident, so a later rollback leaves it able to advance."""
    on_canary(world, likelihood=1, impact=1)
    world.ok(COUNCIL, 'incident declare sev1 "aurora forks" clients aurora')
    with session_scope(world.engine) as session:
        held = store.load_rollout(session, 1, world.gov.charter)
        assert held is not None and held.paused
        positions = dict.fromkeys(PAIR, 2)
        done = replace(held, stage_index=2, positions=positions, completed_at=world.clock.now())
        store.save_rollout(session, done, world.gov.charter, world.clock.now())
    assert "#1 resumed" in world.ok(COUNCIL, "incident resolve patched")
    assert not rollout(world).paused


# -- prerequisites ------------------------------------------------------------------------------


def test_a_coordinator_overrides_the_prerequisites_holding_staging(world: World) -> None:
    """Every client reported, aurora below the form's minimum: `advance` names it, and a
    coordinator's override enters staging (audited as an override of the prerequisites)."""
    login = COORDINATOR
    world.accept(1, form(clients=PAIR, prerequisites="aurora >= 4.2"))
    ready(world, "aurora", "staging", "4.1")
    ready(world, "borealis", "staging")
    assert world.state(1) is State.ACCEPTED
    refusal = world.refused(login, "advance 1")
    assert (
        "#1 cannot advance to staging:\n- prerequisites: aurora 4.1 does not meet aurora >= 4.2"
        in refusal
    )
    said = world.ok(login, 'advance 1 to staging --override "4.1 is fine on devnets"')
    assert said == "#1 advanced to staging by override"
    assert world.state(1) is State.ROLLING_OUT
    assert [(o.stage, o.gates) for o in rollout(world).overrides] == [
        ("staging", ("prerequisites",))
    ]
