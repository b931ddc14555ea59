"""Reporting the same release again keeps a rollback drill; another release voids it, and the
``ready`` reply and its announcement say so (the reviewer's walk: a ref added after the drill)."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.bot.rollouts.conftest import CLIENTS, MAINTAINER, H, World, form
from tests.bot.rollouts.test_drills import DRILL_CHARTER, SHA

NOTICE = "borealis's rollback drill on staging no longer counts: drill again"


def drilled(engine: Engine) -> World:
    """Every client on staging with 1.0.0 reported without a ref, and borealis drilled it."""
    world = World(engine, DRILL_CHARTER)
    world.accept(1, form())
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0")
    world.ok("carmen-borealis", "drill 1 borealis staging recovered 12m")
    world.later(H)
    return world


def test_reporting_the_ref_of_the_release_drilled_keeps_the_drill(sqlite_engine: Engine) -> None:
    world = drilled(sqlite_engine)
    said = world.ok("carmen-borealis", f"ready 1 borealis staging 1.0.0 {SHA['borealis'][:10]}")
    assert said == "recorded borealis 1.0.0@2222222222 for staging"
    assert world.announced("no longer counts") == []
    shown = world.ok(None, "rollout 1")
    assert "drill=pass 12m" in shown and "(outdated)" not in shown
    assert "was before its release" not in shown
    # The same release with the same ref once more: still the drill's.
    world.ok("carmen-borealis", f"ready 1 borealis staging 1.0.0 {SHA['borealis']}")
    assert "(outdated)" not in world.ok(None, "rollout 1")


def test_another_release_voids_the_drill_and_the_reply_and_announcement_say_so(
    sqlite_engine: Engine,
) -> None:
    world = drilled(sqlite_engine)
    world.ok("carmen-borealis", f"ready 1 borealis staging 1.0.0 {SHA['borealis'][:10]}")
    said = world.ok("carmen-borealis", f"ready 1 borealis staging 1.0.0 {'e' * 10}")
    assert said == (
        "recorded borealis 1.0.0@eeeeeeeeee for staging; borealis's staging soak restarts:"
        " 1.0.0@eeeeeeeeee"
        f" replaces 1.0.0@2222222222; {NOTICE}"
    )
    [announced] = world.announced("no longer counts")
    assert NOTICE in announced["text"]
    shown = world.ok(None, "rollout 1")
    assert "drill=pass 12m (outdated)" in shown
    # Already outdated: another report says nothing more of it.
    assert world.ok("carmen-borealis", "ready 1 borealis staging 1.0.1") == (
        "recorded borealis 1.0.1 for staging"
    )
