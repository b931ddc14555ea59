"""An accepted proposal's rollout that has not entered its first stage, because a gate of that
stage fails, is a rollout blocked by a gate: the overview lists it among the failing gates and
``/api/status`` among the rollouts under way, as the rollouts page shows it
("next: staging (blocked)")."""

from __future__ import annotations

from sqlalchemy import Engine

from bot import feeds, rollouts
from bot.web import fast_views
from tests.bot.rollouts.conftest import World, form, person


def test_a_rollout_held_before_its_first_stage_is_blocked_everywhere(
    sqlite_engine: Engine,
) -> None:
    world = World(sqlite_engine)
    world.accept(1, form(clients=("aurora",)))  # nobody reported ready: staging is gated
    world.open_issue(2, form(clients=("aurora",)), "Still in review")
    view = rollouts.read_view(world.gov, 1, person(None))
    assert view is not None and (view["stage"], view["next_stage"]) == ("pending", "staging")
    now = world.clock.now()
    [(head, gates)] = fast_views.overview(world.gov, now)["failing"]
    assert (head["proposal"], head["next_stage"]) == (1, "staging")
    assert [g["gate"] for g in gates] == [g["gate"] for g in view["gates"] if not g["passed"]]
    status = feeds.status(world.engine, now)
    assert [(p["number"], p["state"]) for p in status["rolling_out"]] == [(1, "accepted")]
    assert [p["number"] for p in status["open_proposals"]] == [2]
