"""The inventory shows no rolled-back release as the one a client runs: after ``rollback <n>
<client>``, the client's latest report for the stage it left is marked "(rolled back)" (as the
rollout's matrix marks that cell) until it reports for the stage again."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.messages import plain_text
from bot.rollout_views import inventory_message, rolled_back
from charter.rollout import ReadyReport
from tests.bot.rollouts.conftest import COORDINATOR, MAINTAINER, World, form
from tests.bot.rollouts.test_rollout_views import CHARTER, ON_STAGING, T

PAIR = ("aurora", "borealis")
REF = {"aurora": "a1" * 20, "borealis": "b2" * 20}


def ready(world: World, client: str, stage: str, version: str) -> None:
    world.ok(MAINTAINER[client], f"ready 1 {client} {stage} {version} {REF[client]}")


def shown(world: World, text: str) -> list[str]:
    """The inventory's lines without their times."""
    lines = world.ok(COORDINATOR, text).splitlines()[1:]
    return [re.sub(r" since \S+", "", line) for line in lines]


@pytest.fixture
def on_canary(world: World) -> World:
    """#1: aurora and borealis on staging (1.0.0), then on canary (1.1.0) by override."""
    world.accept(1, form(clients=PAIR))
    for client in PAIR:
        ready(world, client, "staging", "1.0.0")
    for client in PAIR:
        ready(world, client, "canary", "1.1.0")
    world.ok(COORDINATOR, 'advance 1 to canary --override "drill"')
    return world


@pytest.mark.parametrize("text", ["inventory 1", "inventory"])
def test_a_rolled_back_release_is_marked_until_the_client_reports_again(
    on_canary: World, text: str
) -> None:
    on_canary.ok(MAINTAINER["aurora"], 'rollback 1 aurora "state root mismatch"')
    assert shown(on_canary, text) == [
        "aurora:",
        "  staging: 1.0.0@a1a1a1a1a1a1 for #1",
        "  canary: 1.1.0@a1a1a1a1a1a1 (rolled back) for #1",
        "borealis:",
        "  staging: 1.0.0@b2b2b2b2b2b2 for #1",
        "  canary: 1.1.0@b2b2b2b2b2b2 for #1",  # not rolled back: still runs it
    ]
    ready(on_canary, "aurora", "canary", "1.1.1")
    assert shown(on_canary, text)[2] == "  canary: 1.1.1@a1a1a1a1a1a1 for #1 (before: 1.1.0)"


def test_a_rollback_of_every_client_marks_every_stage_it_left(on_canary: World) -> None:
    on_canary.ok(COORDINATOR, 'rollback 1 "bad canary"')  # every client: canary → staging
    on_canary.ok(COORDINATOR, 'rollback 1 "again"')  # staging → none
    assert shown(on_canary, "inventory 1") == [
        "aurora:",
        "  staging: 1.0.0@a1a1a1a1a1a1 (rolled back) for #1",
        "  canary: 1.1.0@a1a1a1a1a1a1 (rolled back) for #1",
        "borealis:",
        "  staging: 1.0.0@b2b2b2b2b2b2 (rolled back) for #1",
        "  canary: 1.1.0@b2b2b2b2b2b2 (rolled back) for #1",
    ]


def report(client: str, stage: str) -> ReadyReport:
    return ReadyReport(client, stage, "1.1", None, "", f"{client}-dev", T)


@pytest.mark.parametrize(
    ("position", "stage", "gone"),
    [
        (1, "canary", False),  # on it
        (2, "canary", False),  # past it
        (0, "canary", True),  # rolled back below it
        (-1, "staging", True),
        (0, "nowhere", False),  # a stage the charter no longer has: nothing to say
    ],
)
def test_rolled_back_is_the_client_below_the_reported_stage(
    position: int, stage: str, gone: bool
) -> None:
    rollout = replace(ON_STAGING, positions={"dorado": position})
    assert rolled_back(report("dorado", stage), rollout, CHARTER) is gone


def test_without_its_rollout_a_report_is_shown_as_is() -> None:
    rollout = replace(ON_STAGING, positions={"dorado": -1})
    reports = [(4, report("dorado", "staging"))]
    marked = plain_text(inventory_message(reports, CHARTER, rollouts={4: rollout}))
    assert "  staging: 1.1 (rolled back) for #4 since" in marked
    assert rolled_back(reports[0][1], None, CHARTER) is False
    assert "(rolled back)" not in plain_text(inventory_message(reports, CHARTER))
