"""The go/no-go gate counts only decisions made since the rollout last entered the stage before:
after a rollback and a new soak, an older "go" no longer passes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from charter.gates import (
    GateFacts,
    GateResult,
    GoNoGo,
    current_go_no_go,
    evaluate,
    go_no_go,
    soak_started,
)
from charter.model import Stage
from tests.charter.rollout_support import T0, H, reference, rollout_at

CHARTER = reference()
D = timedelta(days=1)
CANARY, PRODUCTION = CHARTER.rollout.stages[1], CHARTER.rollout.stages[2]
FIRST_SOAK = T0 + 5 * D  # canary entered for the first time
RESOAKED = T0 + 20 * D  # canary entered again after a rollback to staging and back


def call(decision: str, at: datetime, stage: str = "production") -> GoNoGo:
    return GoNoGo(42, stage, decision, "ines-coord", at)  # type: ignore[arg-type]


def on_canary(since: datetime | None) -> dict[str, datetime]:
    return {"staging": T0} | ({"canary": since} if since is not None else {})


STALE = (
    "go/no-go: the last decision for production (go, ines-coord, 2026-03-21 09:00 UTC) was "
    "made before the rollout last entered canary (2026-03-22 09:00 UTC); a new go/no-go call "
    "must decide"
)


@pytest.mark.parametrize(
    ("entered", "decisions", "passed", "reason"),
    [
        (on_canary(FIRST_SOAK), (call("go", FIRST_SOAK + 14 * D),), True,
         "go/no-go: the call decided go for production (ines-coord, 2026-03-21 09:00 UTC)"),
        (on_canary(RESOAKED), (call("go", FIRST_SOAK + 14 * D),), False, STALE),
        (on_canary(RESOAKED), (call("no-go", RESOAKED - H), call("go", RESOAKED - 2 * H)), False,
         "go/no-go: the last decision for production (no-go, ines-coord, 2026-03-22 08:00 UTC) "
         "was made before the rollout last entered canary (2026-03-22 09:00 UTC); a new "
         "go/no-go call must decide"),
        (on_canary(RESOAKED), (call("go", FIRST_SOAK + 14 * D), call("go", RESOAKED + 14 * D)),
         True, "go/no-go: the call decided go for production (ines-coord, 2026-04-05 09:00 UTC)"),
        (on_canary(RESOAKED), (call("go", FIRST_SOAK + 14 * D), call("no-go", RESOAKED)), False,
         "go/no-go: the call decided no-go for production (ines-coord, 2026-03-22 09:00 UTC)"),
        (on_canary(RESOAKED), (call("go", RESOAKED),), True,
         "go/no-go: the call decided go for production (ines-coord, 2026-03-22 09:00 UTC)"),
        # canary's clock is stopped (a client rolled back): the soak gate holds the rollout
        (on_canary(None), (call("go", FIRST_SOAK + 14 * D),), True,
         "go/no-go: the call decided go for production (ines-coord, 2026-03-21 09:00 UTC)"),
        (on_canary(RESOAKED), (), False, "go/no-go: no decision recorded for production"),
    ],
    ids=["go-in-soak", "go-before-resoak", "all-before-resoak", "new-go", "new-no-go",
         "go-at-entry", "clock-stopped", "none"],
)  # fmt: skip
def test_only_a_decision_since_the_previous_stage_was_entered_counts(
    entered: dict[str, datetime], decisions: tuple[GoNoGo, ...], passed: bool, reason: str
) -> None:
    """A decision older than canary's current soak clock does not pass (or fail) production."""
    rollout = rollout_at(1, entered=entered)
    assert go_no_go(PRODUCTION, rollout, decisions, CHARTER) == GateResult(
        "go_no_go", passed, reason
    )


def test_evaluate_reads_the_go_no_go_gate_with_the_stage_order() -> None:
    """Through evaluate (what `advance` runs), a "go" from before a re-soak fails the gate."""
    rollout = rollout_at(1, entered=on_canary(RESOAKED))
    facts = GateFacts(go_no_go=(call("go", FIRST_SOAK + 14 * D),))
    results = evaluate(PRODUCTION, rollout, facts, CHARTER, RESOAKED + 15 * D)
    assert [r for r in results if r.gate == "go_no_go"] == [GateResult("go_no_go", False, STALE)]


STAGING_CALL = Stage(id="staging", go_no_go_meeting=True)


@pytest.mark.parametrize(
    ("target", "entered", "decisions", "since", "current"),
    [
        (PRODUCTION, on_canary(RESOAKED), (call("no-go", RESOAKED + D),), RESOAKED, 0),
        (PRODUCTION, on_canary(RESOAKED), (call("go", RESOAKED - D),), RESOAKED, None),
        (PRODUCTION, on_canary(RESOAKED),
         (call("go", RESOAKED + D), call("no-go", RESOAKED + 2 * D)), RESOAKED, 1),
        (PRODUCTION, on_canary(None), (call("go", T0),), None, 0),
        (CANARY, on_canary(RESOAKED), (call("go", RESOAKED + D),), T0, None),
        (STAGING_CALL, {}, (call("go", T0, stage="staging"),), None, 0),
    ],
    ids=["in-soak", "stale", "latest", "clock-stopped", "other-stage", "first-stage"],
)  # fmt: skip
def test_current_decision_and_soak_start(
    target: Stage,
    entered: dict[str, datetime],
    decisions: tuple[GoNoGo, ...],
    since: datetime | None,
    current: int | None,
) -> None:
    """soak_started is when the stage before was last entered (None for the first stage or a
    stopped clock); current_go_no_go is the latest decision for the stage made since then."""
    rollout = rollout_at(1, entered=entered)
    assert soak_started(target, rollout, CHARTER) == since
    expected = None if current is None else decisions[current]
    assert current_go_no_go(target, rollout, decisions, CHARTER) == expected
