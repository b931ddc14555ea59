"""The dashboard's rollouts page lists unfinished rollouts first, "finished" as
``bot.rollout_views.is_final`` says it: a rollout reopened by a rollback after completion (its
proposal stays completed) is unfinished again, and listed before the finished ones."""

from __future__ import annotations

from bot.web import fast_views
from charter.lifecycle import State
from tests.bot.rollouts.conftest import COORDINATOR, MAINTAINER, World, form

PAIR = ("aurora", "borealis")
NEXT = {"staging": "canary", "canary": "production"}


def completed(world: World, n: int) -> None:
    """#n (aurora and borealis) through every stage, the later ones entered by override."""
    world.accept(n, form(clients=PAIR))
    for stage in ("staging", "canary", "production"):
        for client in PAIR:
            world.ok(MAINTAINER[client], f"ready {n} {client} {stage} 1.0.0 {'ab' * 20}")
        if stage in NEXT:
            world.ok(COORDINATOR, f'advance {n} to {NEXT[stage]} --override "drill"')
    assert world.state(n) is State.COMPLETED


def listed(world: World, size: int = 20) -> list[tuple[int, bool]]:
    views, _, _ = fast_views.rollouts_page(world.gov, world.clock.now(), 1, size)
    return [(v["proposal"], v["final"]) for v in views]


def listed_page(world: World, page: int) -> list[tuple[int, bool]]:
    views, total, _ = fast_views.rollouts_page(world.gov, world.clock.now(), page, 1)
    assert total == 3
    return [(v["proposal"], v["final"]) for v in views]


def test_a_reopened_rollout_is_listed_with_the_unfinished_ones(world: World) -> None:
    completed(world, 1)
    completed(world, 2)
    assert listed(world) == [(2, True), (1, True)]  # both finished: newest first
    world.ok(MAINTAINER["aurora"], 'rollback 1 aurora "state root mismatch"')
    assert world.state(1) is State.COMPLETED  # the proposal stays completed
    assert listed(world) == [(1, False), (2, True)]
    assert listed(world, size=1) == [(1, False)]  # the first page starts with it


def test_the_order_agrees_with_is_final_on_every_page(world: World) -> None:
    """Every unfinished rollout (``final`` False in its view, from is_final) comes before every
    finished one, whichever page it falls on."""
    completed(world, 1)
    completed(world, 2)
    world.accept(3, form(clients=PAIR))
    world.ok(MAINTAINER["aurora"], 'rollback 1 aurora "state root mismatch"')
    pages = [listed_page(world, page) for page in (1, 2, 3)]
    assert pages == [[(3, False)], [(1, False)], [(2, True)]]
