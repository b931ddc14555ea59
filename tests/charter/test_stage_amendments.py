"""A charter amendment and the rollouts under way: where a rollout is is kept by stage id
(``Placement``), so inserting, dropping or reordering stages moves no rollout; a new stage list
that would still move one (drops a stage it is on, or moves a stage across one) is named by
``moves`` with what to do instead, and ``passed_new`` names the new stages a rollout is past."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from charter.model import Charter
from charter.rollout_facts import Placement, Rollout, indexed, placed, placement
from charter.stage_amendments import moves, passed_new
from tests.charter.rollout_support import T0, reference_data

V3 = ("staging", "canary", "production")


def staged(*ids: str) -> Charter:
    """The reference charter with the stages ``ids``: its own ones as they are, new ones bare."""
    data: dict[str, Any] = reference_data()
    own = {s["id"]: s for s in data["rollout"]["stages"]}
    data["rollout"]["stages"] = [own.get(i, {"id": i, "require_ready": "all-clients"}) for i in ids]
    return Charter.model_validate(data)


# #1 under v3: on canary with aurora; borealis rolled back to staging; cirrus on none yet.
ON_CANARY = Rollout(
    proposal=1,
    clients=("aurora", "borealis", "cirrus"),
    started_at=T0,
    stage_index=1,
    positions={"aurora": 1, "borealis": 0, "cirrus": -1},
)
WHERE = Placement("canary", {"aurora": "canary", "borealis": "staging", "cirrus": None}, V3)


def names(rollout: Rollout, charter: Charter) -> tuple[str, dict[str, str]]:
    at = {c: rollout.stage_name(charter, rollout.position(c)) for c in rollout.clients}
    return rollout.stage_name(charter), at


def test_a_placement_is_the_rollouts_stages_by_id() -> None:
    assert placement(ON_CANARY, staged(*V3)) == WHERE
    assert placed(ON_CANARY, WHERE, staged(*V3)) == ON_CANARY
    assert WHERE.on() == ("staging", "canary")
    assert WHERE.clients_on("staging") == ("borealis",)


KEPT = ("canary", {"aurora": "canary", "borealis": "staging", "cirrus": "pending"})


@pytest.mark.parametrize(
    ("stages", "read"),
    [
        (V3, KEPT),
        (("staging", "shadow", "canary", "production"), KEPT),  # inserted before canary
        (("preview", "staging", "canary", "production", "final"), KEPT),
        (("canary", "staging", "production"), KEPT),  # moved: each keeps its stage
        (("staging", "canary"), KEPT),  # production dropped: nobody on it
        # dropped (a start refuses it while the rollout is under way; a finished one reads so):
        (("staging", "production"), ("staging", {**KEPT[1], "aurora": "staging"})),
        (("production",), ("pending", {**KEPT[1], "aurora": "pending", "borealis": "pending"})),
    ],
)
def test_an_amendment_leaves_every_client_on_its_stage(
    stages: tuple[str, ...], read: tuple[str, dict[str, str]]
) -> None:
    """Read under another stage list, the rollout is on the stage it was on (one the list
    dropped reads as the nearest stage before it that the list still has)."""
    assert names(placed(ON_CANARY, WHERE, staged(*stages)), staged(*stages)) == read


@pytest.mark.parametrize(
    ("index", "stage"), [(-1, None), (0, "staging"), (2, "production"), (3, None)]
)
def test_indexes_stand_for_the_stages_of_the_list_they_are_into(
    index: int, stage: str | None
) -> None:
    assert indexed(index, {"aurora": index}, V3) == Placement(stage, {"aurora": stage}, V3)


def test_a_stage_the_placement_never_knew_reads_as_none() -> None:
    odd = Placement("shadow", {"aurora": "shadow"}, V3)
    assert odd.on() == ("shadow",)
    assert names(placed(ON_CANARY, odd, staged(*V3)), staged(*V3))[0] == "pending"


DONE = Rollout(
    proposal=2,
    clients=("aurora", "borealis"),
    started_at=T0,
    stage_index=2,
    positions={"aurora": 2, "borealis": 2},
    completed_at=T0,
)
ON_PRODUCTION = Placement("production", {"aurora": "production", "borealis": "production"}, V3)
ALL_LAST = {"aurora": "mainnet", "borealis": "mainnet"}


@pytest.mark.parametrize(
    ("rollout", "stages", "read"),
    [
        (DONE, ("staging", "canary", "mainnet"), ("mainnet", ALL_LAST)),  # renamed
        (DONE, ("staging", "canary"), ("canary", {"aurora": "canary", "borealis": "canary"})),
        (DONE, V3, ("production", {"aurora": "production", "borealis": "production"})),
        # reopened by a rollback it is under way: the stage before, as any dropped stage
        (
            replace(DONE, completed_at=None),
            ("staging", "canary", "mainnet"),
            ("canary", {"aurora": "canary", "borealis": "canary"}),
        ),
    ],
    ids=["renamed", "dropped", "kept", "reopened"],
)
def test_a_completed_rollout_is_on_the_last_stage_whatever_it_is_called(
    rollout: Rollout, stages: tuple[str, ...], read: tuple[str, dict[str, str]]
) -> None:
    """Its last stage renamed or dropped, a completed rollout is on the new last stage (not
    one to advance from the stage before it)."""
    assert names(placed(rollout, ON_PRODUCTION, staged(*stages)), staged(*stages)) == read


FINISH = "or first finish #1's rollout"


@pytest.mark.parametrize(
    ("stages", "problems"),
    [
        (V3, ()),
        (("staging", "shadow", "canary", "production"), ()),  # a new stage anywhere
        (("shadow", "staging", "canary", "production", "final"), ()),
        (("staging", "canary"), ()),  # a stage nobody is on dropped
        (("staging", "canary", "production", "shadow"), ()),
        (
            ("canary", "production"),
            (
                "#1 has borealis on staging, which the new charter drops: keep staging, or first"
                " finish #1's rollout or roll its clients back off staging",
            ),
        ),
        (
            ("staging", "production"),
            (
                "#1 is on canary (aurora), which the new charter drops: keep canary, or first"
                " finish #1's rollout or roll its clients back off canary",
            ),
        ),
        (
            ("staging", "production", "canary"),  # production would count as passed
            (
                "#1 is on canary (aurora); the new charter moves production from after canary to"
                f" before it: keep production after canary, {FINISH}",
            ),
        ),
        (
            ("canary", "staging", "production"),
            (
                "#1 has borealis on staging; the new charter moves canary from after staging to"
                f" before it: keep canary after staging, {FINISH}",
                "#1 is on canary (aurora); the new charter moves staging from before canary to"
                f" after it: keep staging before canary, {FINISH}",
            ),
        ),
    ],
    ids=[
        "same",
        "insert-before",
        "insert-ends",
        "drop-ahead",
        "insert-after",
        "drop-client-stage",
        "drop-rollout-stage",
        "move-ahead-before",
        "swap",
    ],
)
def test_what_would_move_a_rollout_under_way(
    stages: tuple[str, ...], problems: tuple[str, ...]
) -> None:
    assert moves(1, WHERE, stages) == problems


def test_a_rollout_ahead_of_its_clients_is_named_alone() -> None:
    """An override let the rollout onto canary with no client on it yet."""
    ahead = Placement("canary", {"aurora": "staging"}, V3)
    assert moves(7, ahead, ("staging", "production")) == (
        "#7 is on canary, which the new charter drops: keep canary, or first finish #7's"
        " rollout or roll its clients back off canary",
    )


def test_a_stage_its_own_list_lacked_has_no_order_to_keep() -> None:
    odd = Placement("shadow", {"aurora": "shadow"}, V3)
    assert moves(1, odd, ("shadow", "staging", "canary", "production")) == ()


@pytest.mark.parametrize(
    ("where", "stages", "passed"),
    [
        (WHERE, ("staging", "shadow", "canary", "production"), ("shadow",)),
        (WHERE, ("preview", "staging", "canary", "shadow", "production"), ("preview",)),
        (WHERE, ("staging", "canary", "production", "final"), ()),
        (WHERE, V3, ()),
        (Placement(None, {"aurora": None}, V3), ("preview", *V3), ()),  # pending: on none
        (Placement("shadow", {}, V3), ("preview", "shadow"), ("preview",)),
        (Placement("canary", {}, V3), ("staging", "production"), ()),  # its stage dropped
    ],
)
def test_the_new_stages_a_rollout_is_past(
    where: Placement, stages: tuple[str, ...], passed: tuple[str, ...]
) -> None:
    assert passed_new(where, stages) == passed
