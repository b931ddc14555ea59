"""Through the real service: a rollout reopened by a rollback after completion is shown as live
(its next stage and gates, in chat and on the dashboard) though its proposal stays completed;
a client the rollout left behind by override reports for the stage it skipped first; and an
override names its stage, so the same override sent twice enters one stage, not two."""

from __future__ import annotations

from bot import rollouts
from bot.web import fast_views, queries
from charter.lifecycle import State
from charter.rollout import Rollout
from storage import rollouts as store
from storage.db import session_scope
from tests.bot.rollouts.conftest import (
    CLIENTS,
    COORDINATOR,
    MAINTAINER,
    H,
    World,
    form,
    person,
)

SHA = {c: f"{i + 1:x}" * 40 for i, c in enumerate(CLIENTS)}
NEXT = {"staging": "canary", "canary": "production"}


def rollout(world: World, n: int = 1) -> Rollout:
    with session_scope(world.engine) as session:
        found = store.load_rollout(session, n, world.gov.charter)
    assert found is not None
    return found


def ready(world: World, client: str, stage: str, version: str = "1.0.0") -> str:
    return world.ok(MAINTAINER[client], f"ready 1 {client} {stage} {version} {SHA[client][:10]}")


def completed_by_override(world: World) -> None:
    """#1 through every stage, each later one entered by a (named) override, then completed."""
    world.accept(1, form())
    for stage in ("staging", "canary"):
        for client in CLIENTS:
            ready(world, client, stage)
        world.ok(COORDINATOR, f'advance 1 to {NEXT[stage]} --override "drill"')
    for client in CLIENTS:
        ready(world, client, "production")
    assert world.state(1) is State.COMPLETED


# -- a rollback after completion reopens the rollout -------------------------------------------


def test_a_rollout_reopened_after_completion_shows_its_next_stage_and_gates(world: World) -> None:
    """aurora is rolled back out of production: the proposal stays completed, but the rollout is
    on canary again, and every view says so (no "final"), as `advance` does."""
    completed_by_override(world)
    world.ok(MAINTAINER["aurora"], 'rollback 1 aurora "state root mismatch"')
    assert world.state(1) is State.COMPLETED
    assert (rollout(world).stage_index, rollout(world).completed_at) == (1, None)
    shown = world.ok(None, "rollout 1")
    assert "final" not in shown and "Completed" not in shown
    assert "Gates for production (failing):" in shown
    assert "  FAIL require_ready: aurora was rolled back from production" in shown
    view = rollouts.read_view(world.gov, 1, person(COORDINATOR))
    assert view is not None
    assert (view["final"], view["next_stage"], view["can_advance"]) == (False, "production", False)
    assert view["gates"] and view["proposal_state"] == "completed"
    dashboard, _, _ = fast_views.rollouts_page(world.gov, world.clock.now(), 1)
    (card,) = [v for v in dashboard if v["proposal"] == 1]
    assert (card["final"], card["next_stage"], card["gates"]) == (
        False,
        "production",
        queries.gate_rows(view["gates"]),  # each gate named once on the page
    )


def test_a_reopened_rollout_completes_again_and_is_final_again(world: World) -> None:
    completed_by_override(world)
    world.ok(MAINTAINER["aurora"], 'rollback 1 aurora "state root mismatch"')
    ready(world, "aurora", "production", "1.0.1")
    world.ok(COORDINATOR, 'advance 1 to production --override "fixed in 1.0.1"')
    shown = world.ok(None, "rollout 1")
    assert "Completed: every client is on the last stage since" in shown
    assert "Gates for" not in shown
    view = rollouts.read_view(world.gov, 1, person(COORDINATOR))
    assert view is not None
    assert (view["final"], view["next_stage"], view["gates"]) == (True, None, [])


# -- every client moves through the stages in order ---------------------------------------------


def test_a_client_left_behind_by_override_reports_the_stage_it_skipped_first(
    world: World,
) -> None:
    """Canary entered by override without aurora: aurora's report for production is refused,
    so it is never counted as on canary (nor the canary soak started) before it ran canary."""
    world.accept(1, form())
    for client in CLIENTS:
        ready(world, client, "staging")
    for client in CLIENTS[1:]:
        ready(world, client, "canary", "1.1.0")
    world.ok(COORDINATOR, 'advance 1 to canary --override "aurora is late"')
    refusal = world.refused(
        MAINTAINER["aurora"], f"ready 1 aurora production 1.2.0 {SHA['aurora']}"
    )
    assert refusal == (
        "error: aurora is on staging: report aurora ready for canary first, not production"
    )
    assert rollout(world).position("aurora") == 0
    assert "canary" not in rollout(world).stage_entered_at
    world.later(H)
    ready(world, "aurora", "canary", "1.2.0")
    assert rollout(world).stage_entered_at["canary"] == world.clock.now()
    said = ready(world, "aurora", "production", "1.2.0")
    assert "recorded aurora 1.2.0@1111111111 for production" in said


# -- an override names its stage ------------------------------------------------------------------


def test_the_same_override_sent_twice_enters_one_stage(world: World) -> None:
    """An override naming no stage is refused with the command to type; typed, it enters
    canary; sent again (a retyped command, a second coordinator) it is refused, and production,
    whose gates nobody saw, is not entered."""
    world.accept(1, form())
    for stage in ("staging", "canary"):
        for client in CLIENTS:
            ready(world, client, stage)
    unnamed = world.refused(COORDINATOR, 'advance 1 --override "interop run is flaky"')
    typed = '/charter advance 1 to canary --override "interop run is flaky"'
    assert unnamed.endswith(f"an override must name it, so a repeat cannot skip a stage: {typed}")
    assert rollout(world).stage_index == 0
    assert world.ok(COORDINATOR, typed) == "#1 advanced to canary by override"
    again = world.refused("jonas-coord", typed)
    assert again == "error: #1 is already in canary; its next stage is production"
    assert rollout(world).stage_index == 1
    assert world.ok(None, "rollout 1").startswith("#1 rollout — stage: canary")
