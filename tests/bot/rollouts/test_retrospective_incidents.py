"""The retrospective drafted on completion lists the incidents of its rollout: those that paused
it, whatever they name, and those that name it and were open while it ran
(:func:`charter.incident_holds.concerning`). A public proposal's retrospective is a public issue: an
incident kept confidential by another undisclosed proposal is worded there as a gate words it,
"a confidential incident (sevN)", without id or summary; a confidential rollout's own
retrospective waits for its disclosure, so it says its own incidents in full."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World, form
from tests.bot.rollouts.test_rollout_commands import decide

AURORA = MAINTAINER["aurora"]
SECRET = "embargoed gossip exploit"


def complete(world: World, n: int) -> None:
    """Take the aurora-only rollout of #n through every stage (by override past the gates)."""
    world.ok(AURORA, f"ready {n} aurora staging 1.0.0 {'a' * 40}")
    world.ok(AURORA, f"ready {n} aurora canary 1.0.0 {'a' * 40}")
    world.ok(COORDINATOR, f'advance {n} to canary --override "test"')
    world.ok(AURORA, f"ready {n} aurora production 1.0.0 {'a' * 40}")
    world.ok(COORDINATOR, f'advance {n} to production --override "test"')


def retrospective(world: World, n: int) -> dict[str, Any]:
    (retro,) = [i for i in world.outbox("create-issue") if i["key"] == f"retrospective:{n}"]
    return retro


def incidents(world: World, n: int) -> list[str]:
    """The lines of the retrospective's Incidents section, without the resolution time."""
    section = retrospective(world, n)["body"].split("## Incidents\n\n")[1].split("\n\n")[0]
    return [line.split(" — ")[0] for line in section.splitlines()]


@pytest.fixture
def embargoed(world: World) -> World:
    """#1 (public) and #2 (an undisclosed security patch) roll out to aurora; the council
    declares a sev1 for #2 and aurora, which pauses both (naming #2, it is confidential), then
    resolves it."""
    world.accept(1, form(clients=("aurora",)))
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    for n in (1, 2):
        world.ok(COORDINATOR, f"rollout {n}")
    world.ok(COUNCIL, f'incident declare sev1 "{SECRET}" for 2 clients aurora')
    world.ok(COUNCIL, "incident resolve patched")
    return world


def test_the_public_retrospective_words_a_confidential_incident(embargoed: World) -> None:
    complete(embargoed, 1)
    retro = retrospective(embargoed, 1)
    assert not retro["confidential"]  # a public issue on GitHub
    assert incidents(embargoed, 1) == ["- a confidential incident (sev1)"]
    assert SECRET not in retro["body"]


def test_once_the_other_proposal_is_disclosed_it_is_said_in_full(embargoed: World) -> None:
    embargoed.ok(COUNCIL, "disclose 2")
    complete(embargoed, 1)
    assert incidents(embargoed, 1) == [f"- incident 1 (sev1): {SECRET}"]


def test_the_confidential_rollouts_own_retrospective_says_it_in_full(embargoed: World) -> None:
    complete(embargoed, 2)
    assert retrospective(embargoed, 2)["confidential"]  # held until #2 is disclosed
    assert incidents(embargoed, 2) == [f"- incident 1 (sev1): {SECRET}"]


@pytest.mark.parametrize(
    ("declared", "before", "listed"),
    [
        ('incident declare sev1 "network-wide halt"', False, True),  # it paused #1
        ('incident declare sev3 "flaky peering"', False, True),  # names everything
        ('incident declare sev3 "aurora disk" clients aurora', False, True),
        ('incident declare sev3 "borealis disk" clients borealis', False, False),
        ('incident declare sev2 "aurora disk" clients aurora', True, False),  # over before
    ],
    ids=["paused-it", "everything", "its-client", "other-client", "before-it-started"],
)
def test_the_retrospective_lists_the_incidents_of_its_rollout(
    world: World, declared: str, before: bool, listed: bool
) -> None:
    if before:
        world.ok(COORDINATOR, declared)
        world.ok(COORDINATOR, "incident resolve fixed")
    world.accept(1, form(clients=("aurora",)))
    if not before:
        world.ok(COORDINATOR, declared)
        world.ok(COORDINATOR, "incident resolve fixed")
    complete(world, 1)
    summary = declared.split('"')[1]
    severity = declared.split()[2]
    assert incidents(world, 1) == (
        [f"- incident 1 ({severity}): {summary}"] if listed else ["- none"]
    )
