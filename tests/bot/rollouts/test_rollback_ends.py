"""Who ends a proposal by rolling it back: a rollback that leaves no client on any stage ends
it for good (rolled-back) only when made by those who may roll back every client at once
(coordinators, the security council: charter.authz); its reply and announcement say so. A
maintainer rolling back their own client, even the last one on a stage, leaves the rollout
pending: every client's report enters the first stage again."""

from __future__ import annotations

import pytest

from charter.lifecycle import State
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World, form

PAIR = ("aurora", "borealis")
ENDS = "#1 is rolled back from every stage and ends here; a new proposal is needed to retry"
PENDING = "#1 is pending again: staging is entered once every client reports for it."


def staged(world: World) -> None:
    world.accept(1, form(clients=PAIR, likelihood=1, impact=1))
    for client in PAIR:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 abcdef1")
    assert world.state(1) is State.ROLLING_OUT


def told(world: World, title: str) -> str:
    (announced,) = world.announced(title)
    return str(announced["text"]).split("\n\n")[0]  # the matrix follows


def test_maintainers_rolling_back_their_own_clients_never_end_it(world: World) -> None:
    staged(world)
    world.ok(MAINTAINER["aurora"], 'rollback 1 aurora "devnet bug"')
    said = world.ok(MAINTAINER["borealis"], 'rollback 1 borealis "devnet bug"')
    assert said == "rolled back borealis staging → pending"
    assert world.state(1) is State.ROLLING_OUT
    assert ENDS not in told(world, "#1 rollback: borealis")
    for client in PAIR:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.1 abcdef2")
    assert len(world.announced("#1 entered staging")) == 2  # entered again, as at first


@pytest.mark.parametrize("login", [COORDINATOR, COUNCIL], ids=["coordinator", "council"])
def test_a_rollback_of_every_client_by_who_may_ends_it_and_says_so(
    world: World, login: str
) -> None:
    staged(world)
    said = world.ok(login, 'rollback 1 "abandon"')
    assert said == f"rolled back aurora staging → pending, borealis staging → pending; {ENDS}"
    assert world.state(1) is State.ROLLED_BACK
    assert told(world, "#1 rollback") == f"Rolled back by {login}: abandon\n{ENDS}."


def test_rolling_back_the_last_client_on_a_stage_by_who_may_ends_it(world: World) -> None:
    """A maintainer's own rollback left the rollout pending; a coordinator rolling back the
    last client still on a stage ends it (a rollback of every client is refused, as aurora
    is on none)."""
    staged(world)
    world.ok(MAINTAINER["aurora"], 'rollback 1 aurora "devnet bug"')
    assert told(world, "#1 rollback: aurora") == (
        f"Rolled back by {MAINTAINER['aurora']}: devnet bug\n{PENDING}"
    )
    said = world.ok(COORDINATOR, 'rollback 1 borealis "abandon"')
    assert said == f"rolled back borealis staging → pending; {ENDS}"
    assert world.state(1) is State.ROLLED_BACK


@pytest.mark.parametrize("login", [COORDINATOR, COUNCIL], ids=["coordinator", "council"])
def test_who_may_still_ends_a_rollout_its_maintainers_emptied(world: World, login: str) -> None:
    """Each maintainer rolled their own client back (pending, still rolling out): a rollback
    by a coordinator or the council then ends the proposal, announced and recorded."""
    staged(world)
    for client in PAIR:
        world.ok(MAINTAINER[client], f'rollback 1 {client} "bad build"')
    assert world.state(1) is State.ROLLING_OUT
    assert world.ok(login, 'rollback 1 "abandoned"') == ENDS
    assert world.state(1) is State.ROLLED_BACK
    last = world.announced("#1 rollback")[-1]  # the maintainers' rollbacks came first
    assert str(last["text"]).split("\n\n")[0] == f"Rolled back by {login}: abandoned\n{ENDS}."
    assert world.run(MAINTAINER["aurora"], 'rollback 1 aurora "again"').ok is False
