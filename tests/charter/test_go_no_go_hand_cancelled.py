"""A go/no-go gate that fails while the stage's current call was cancelled by hand says so, and
the commands that go on (those of the cancel's reply): no call will decide by itself."""

from __future__ import annotations

import pytest

from charter.gates import GateFacts, GateResult, GoNoGo, evaluate, go_no_go
from charter.model import Stage
from tests.charter.rollout_support import T0, H, rollout_at
from tests.charter.test_go_no_go_gate import (
    CHARTER,
    FIRST_SOAK,
    PRODUCTION,
    RESOAKED,
    STALE,
    D,
    call,
    on_canary,
)

HAND = (
    "; its call {call} was cancelled by hand and none replaces it: a coordinator may hold it"
    " again (/charter meeting schedule go-no-go-42-production <when>), or the override roles"
    ' advance past it (/charter advance 42 to production --override "<where and what was'
    ' decided>")'
)
NONE = "go/no-go: no decision recorded for production"
NO_GO = "go/no-go: the call decided no-go for production (ines-coord, 2026-03-22 09:00 UTC)"
GO = "go/no-go: the call decided go for production (ines-coord, 2026-04-05 09:00 UTC)"
BASE, RETRY = "go-no-go-42-production", "go-no-go-42-production-2"


@pytest.mark.parametrize(
    ("decisions", "cancelled", "passed", "reason"),
    [
        ((), BASE, False, NONE + HAND.format(call=BASE)),
        ((), None, False, NONE),
        ((call("go", FIRST_SOAK + 14 * D),), RETRY, False, STALE + HAND.format(call=RETRY)),
        ((call("no-go", RESOAKED),), RETRY, False, NO_GO + HAND.format(call=RETRY)),
        # a "go" that counts passes: how it was decided does not matter
        ((call("go", RESOAKED + 14 * D),), BASE, True, GO),
    ],
    ids=["no-decision", "not-cancelled", "stale-go", "no-go", "go-passes"],
)  # fmt: skip
def test_a_failing_reason_names_the_call_cancelled_by_hand_and_how_to_go_on(
    decisions: tuple[GoNoGo, ...], cancelled: str | None, passed: bool, reason: str
) -> None:
    rollout = rollout_at(1, entered=on_canary(RESOAKED))
    assert go_no_go(PRODUCTION, rollout, decisions, CHARTER, cancelled) == GateResult(
        "go_no_go", passed, reason
    )


def test_a_stage_that_asks_for_no_call_ignores_a_cancelled_one() -> None:
    plain = Stage(id="production", go_no_go_meeting=False)
    rollout = rollout_at(1, entered=on_canary(RESOAKED))
    assert go_no_go(plain, rollout, (), CHARTER, BASE) == GateResult(
        "go_no_go", True, "go/no-go: no call required for production"
    )


def test_evaluate_reads_the_cancelled_call_from_the_gate_facts() -> None:
    """Through evaluate (what `advance` and `rollout <n>` run)."""
    rollout = rollout_at(1, entered=on_canary(RESOAKED))
    facts = GateFacts(cancelled_call=BASE)
    found = {g.gate: g for g in evaluate(PRODUCTION, rollout, facts, CHARTER, T0 + 40 * D - H)}
    assert found["go_no_go"] == GateResult("go_no_go", False, NONE + HAND.format(call=BASE))
