"""A rollback that may end the proposal (``may_end``: the service's rule, who may roll back
every client at once) and leaves no client on any stage says, in its announcement and reply,
that the proposal ends there; otherwise it says where the rollout is again."""

from __future__ import annotations

import pytest

from charter.effects import Announce, Reply
from charter.rollout import rollback
from tests.charter.rollout_support import CLIENTS, T0, reference, rollout_at

CHARTER = reference()
ENDS = "#42 is rolled back from every stage and ends here; a new proposal is needed to retry"
PENDING = "#42 is pending again: staging is entered once every client reports for it."
ON_STAGING = (
    "#42 is back on staging: canary is entered again only by `/charter advance 42`, its gates"
    " asked anew."
)
LAST = {"aurora": 0} | dict.fromkeys(CLIENTS[1:], -1)  # the others rolled back before


@pytest.mark.parametrize(
    ("stage", "positions", "clients", "may_end", "said"),
    [
        (0, {}, None, True, f"{ENDS}."),
        (0, {}, None, False, PENDING),
        # the last client on a stage: the rollout was pending already
        (-1, LAST, ["aurora"], True, f"{ENDS}."),
        (-1, LAST, ["aurora"], False, None),
        (0, {}, ["aurora"], True, PENDING),  # the others stay on staging
        (1, {}, None, True, ON_STAGING),  # every client back one stage, still on staging
    ],
    ids=[
        "all-off-may-end",
        "all-off-may-not",
        "last-one-may-end",
        "last-one-may-not",
        "some-left",
        "back-one-stage",
    ],
)
def test_the_rollback_says_whether_the_proposal_ends(
    stage: int,
    positions: dict[str, int],
    clients: list[str] | None,
    may_end: bool,
    said: str | None,
) -> None:
    before = rollout_at(stage, positions=positions)
    decision = rollback(
        before, CHARTER, "bad release", "ines-coord", T0, clients=clients, may_end=may_end
    )
    (announced,) = [e for e in decision.effects if isinstance(e, Announce)]
    (reply,) = [e for e in decision.effects if isinstance(e, Reply)]
    story = announced.text.split("\n\n")[0]  # the matrix follows
    assert story == "\n".join(["Rolled back by ines-coord: bad release", *([said] if said else [])])
    assert reply.text.endswith(f"; {ENDS}") is (said == f"{ENDS}.")
    assert reply.ok


@pytest.mark.parametrize(
    ("may_end", "ends"), [(True, True), (False, False)], ids=["may-end", "may-not"]
)
def test_a_rollout_already_off_every_stage_is_ended_by_who_may(may_end: bool, ends: bool) -> None:
    """Each maintainer rolled their own client back: nothing is left to move, yet who may end
    the proposal still can (the rollback is recorded); anyone else is told nothing moves."""
    before = rollout_at(-1, positions=dict.fromkeys(CLIENTS, -1))
    decision = rollback(before, CHARTER, "abandoned", "ines-coord", T0, may_end=may_end)
    (reply,) = [e for e in decision.effects if isinstance(e, Reply)]
    assert reply.ok is ends
    if ends:
        assert reply.text == ENDS
        (announced,) = [e for e in decision.effects if isinstance(e, Announce)]
        assert announced.text.split("\n\n")[0] == f"Rolled back by ines-coord: abandoned\n{ENDS}."
        assert decision.rollout.positions == before.positions
        assert decision.rollout.rollbacks[-1].clients == CLIENTS
    else:
        assert "nothing to roll back" in reply.text
        assert decision.rollout == before
