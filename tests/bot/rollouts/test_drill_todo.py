"""``todo`` tells a maintainer the rollback drill their client owes (the reviewer's walk:
aurora's drill missing, the next stage's require_drill failing, and todo said nothing)."""

from __future__ import annotations

from tests.bot.rollouts.conftest import CLIENTS, MAINTAINER, World
from tests.bot.rollouts.test_drills import world

__all__ = ["world"]  # the fixture: every client on staging, canary requiring a drill there


def test_todo_lists_the_drill_owed_until_a_passing_one_is_reported(world: World) -> None:
    for client in CLIENTS[1:]:
        world.ok(MAINTAINER[client], f"drill 1 {client} staging recovered 12m")
    todo = world.ok("alice-aurora", "todo")
    assert (
        "Rollback drill: #1 Raise the gas target — aurora has not run a rollback drill on staging"
        " · once drilled, type: /charter drill 1 aurora staging recovered <duration>"
        ' (or failed "<what went wrong>")'
    ) in todo
    assert "Nothing awaits" in world.ok("carmen-borealis", "todo")  # borealis drilled
    world.ok("alice-aurora", 'drill 1 aurora staging failed "no resync"')
    failed = world.ok("alice-aurora", "todo")
    assert "aurora's rollback drill on staging failed: no resync" in failed
    world.ok("alice-aurora", "drill 1 aurora staging recovered 10m")
    assert world.ok("alice-aurora", "todo").startswith("Nothing awaits alice-aurora")
