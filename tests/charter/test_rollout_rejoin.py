"""Re-entry is entry: a rollback moves the rollout back to the lowest stage a client is on, so
a client that rejoins a stage never puts the rollout back on it by reporting; ``advance`` enters
it again with every gate asked anew (checks on the new release, risk, incidents, and a go/no-go
decided after the rollback)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest

from charter.effects import Announce, Reply
from charter.gates import (
    GateFacts,
    GateResult,
    GoNoGo,
    current_go_no_go,
    go_no_go,
    rolled_back_from,
)
from charter.incident_facts import Incident
from charter.risk import Assessment
from charter.rollout import (
    CheckResult,
    ReadyReport,
    RollbackRecord,
    Rollout,
    advance,
    record_check,
    report_ready,
    rollback,
    start,
)
from tests.charter.rollout_support import CLIENTS, T0, H, reference, report, rollout_at, sha

CHARTER = reference()
D = timedelta(days=1)
LOW_RISK = GateFacts(risk=Assessment(2, 2))
HIGH_RISK = GateFacts(risk=Assessment(4, 5))
PRODUCTION = CHARTER.rollout.stages[2]
ENTERED = {"staging": T0, "canary": T0 + 3 * D, "production": T0 + 18 * D}


def ran(
    client: str, stage: str, name: str, conclusion: str, at: datetime, version: str = "1.4.0"
) -> CheckResult:
    return CheckResult(client, name, sha(client, stage, version), conclusion, at)


def on(stage: str, at: datetime, rollout: Rollout, *, version: str = "1.4.0") -> Rollout:
    """Every client reports ``version`` for ``stage`` and its required checks succeed."""
    found = CHARTER.stage(stage)
    assert found is not None
    for client in rollout.clients:
        rollout = report_ready(rollout, CHARTER, report(client, stage, at, version=version)).rollout
        for name in found.require_checks:
            rollout = record_check(rollout, ran(client, stage, name, "success", at, version))
    return rollout


def refusal(text: str) -> str:
    return text.split(":\n", 1)[1]


# -- the rollout's stage after a rollback -------------------------------------------------------


def at_stage(index: int, positions: dict[str, int] | None = None, done: bool = False) -> Rollout:
    entered = {k: v for i, (k, v) in enumerate(ENTERED.items()) if i <= index}
    rollout = rollout_at(index, positions=positions, entered=entered)
    return replace(rollout, completed_at=T0 + 18 * D if done else None)


BACK_ON_STAGING = (
    "\n#42 is back on staging: canary is entered again only by `/charter advance 42`, its gates"
)
BACK_ON_CANARY = (
    "\n#42 is back on canary: production is entered again only by `/charter advance 42`, its gates"
)


@pytest.mark.parametrize(
    ("before", "clients", "stage_index", "clocks", "said"),
    [
        (at_stage(1), ["dorado"], 0, ["staging"], BACK_ON_STAGING),
        (at_stage(1, {"aurora": 2}), ["aurora"], 1, ["staging", "canary"], ""),
        (at_stage(1, {"aurora": 2}), None, 0, ["staging"], BACK_ON_STAGING),
        (at_stage(2, done=True), None, 1, ["staging", "canary"], BACK_ON_CANARY),
        (at_stage(2, done=True), ["dorado"], 1, ["staging", "canary"], BACK_ON_CANARY),
        (at_stage(0), ["cirrus"], -1, [],
         "\n#42 is pending again: staging is entered once every client reports for it."),
    ],
    ids=["one-below", "ahead-only", "every-client-one-ahead", "every-client-from-last",
         "one-from-last", "first-stage"],
)  # fmt: skip
def test_a_rollback_moves_the_rollout_to_the_lowest_stage_a_client_is_on(
    before: Rollout, clients: list[str] | None, stage_index: int, clocks: list[str], said: str
) -> None:
    """The rollout never stays on a stage a client was rolled back below (and a rollback of a
    client only ahead of it leaves it where it is); the stages above lose their clocks."""
    decision = rollback(before, CHARTER, "fork", "ines-coord", T0 + 30 * D, clients=clients)
    after = decision.rollout
    assert after.stage_index == stage_index == min(after.position(c) for c in CLIENTS)
    assert sorted(after.stage_entered_at, key=CHARTER.stage_ids.index) == clocks
    assert after.completed_at is None
    (announce,) = [e for e in decision.effects if isinstance(e, Announce)]
    assert announce.text.startswith(f"Rolled back by ines-coord: fork{said}")


# -- rejoining runs every gate again ------------------------------------------------------------


@dataclass(frozen=True)
class Rejoin:
    rollout: Rollout  # after the rollback and the rejoining reports
    stage: str  # the stage the clients rejoined
    now: datetime
    facts: GateFacts
    failing: str  # the gates `advance` names


def _canary(facts: GateFacts = LOW_RISK, override: str | None = None) -> Rollout:
    rollout = start(42, CLIENTS, T0).rollout
    rollout = on("staging", T0, rollout)
    rollout = on("canary", T0 + H, rollout)
    entered = advance(
        rollout, CHARTER, facts, T0 + 4 * D, by="ines-coord",
        override_reason=override, may_override=override is not None, to="canary",
    )  # fmt: skip
    assert entered.rollout.stage_index == 1
    return entered.rollout


def failing_check() -> Rejoin:
    """dorado is rolled back from canary; its fix fails interop-matrix."""
    down = rollback(_canary(), CHARTER, "fork", "ines-coord", T0 + 5 * D, clients=["dorado"])
    fixed = report("dorado", "canary", T0 + 6 * D, version="1.4.1")
    rollout = report_ready(down.rollout, CHARTER, fixed).rollout
    rollout = record_check(
        rollout, ran("dorado", "canary", "interop-matrix", "failure", T0 + 6 * D, "1.4.1")
    )
    failing = f"- require_checks: interop-matrix on dorado@{fixed.ref} concluded failure"
    return Rejoin(rollout, "canary", T0 + 20 * D, LOW_RISK, failing)


def risk_again() -> Rejoin:
    """Canary was entered with a risk override; every client is rolled back (aurora from
    production, reported ahead) and comes back with green checks: the risk is asked again."""
    rollout = _canary(HIGH_RISK, override="accepted risk")
    rollout = report_ready(rollout, CHARTER, report("aurora", "production", T0 + 5 * D)).rollout
    rollout = rollback(rollout, CHARTER, "chain split", "ines-coord", T0 + 6 * D).rollout
    rollout = on("canary", T0 + 7 * D, rollout, version="1.4.1")
    failing = (
        "- risk: likelihood 4 × impact 5 = 20 is above 15; advancing past staging needs an"
        " override by coordinators"
    )
    return Rejoin(rollout, "canary", T0 + 20 * D, HIGH_RISK, failing)


def stale_go() -> Rejoin:
    """Production was entered on a "go"; every client is rolled back to canary (whose soak
    clock keeps running) and reports the same release again: the old "go" no longer counts."""
    rollout = on("production", T0 + 5 * D, _canary())
    go = GoNoGo(42, "production", "go", "jonas-coord", T0 + 17 * D)
    facts = replace(LOW_RISK, go_no_go=(go,))
    entered = advance(rollout, CHARTER, facts, T0 + 18 * D + H, by="ines-coord").rollout
    assert entered.completed_at == T0 + 18 * D + H
    rollout = rollback(entered, CHARTER, "mainnet halt", "ines-coord", T0 + 19 * D).rollout
    rollout = on("production", T0 + 19 * D + H, rollout)
    failing = (
        "- go/no-go: the last decision for production (go, jonas-coord, 2026-03-19 09:00 UTC)"
        " was made before the rollback out of production (2026-03-21 09:00 UTC); a new go/no-go"
        " call must decide"
    )
    return Rejoin(rollout, "production", T0 + 19 * D + 2 * H, facts, failing)


def open_incident() -> Rejoin:
    """dorado rejoins canary with a green fix while a sev2 naming it is open."""
    down = rollback(_canary(), CHARTER, "fork", "ines-coord", T0 + 5 * D, clients=["dorado"])
    rollout = on("canary", T0 + 6 * D, down.rollout, version="1.4.1")
    sev2 = Incident("INC-1", "sev2", "dorado stalls", (), ("dorado",), "kofi-sec", T0)
    facts = replace(LOW_RISK, incidents=(sev2,))
    return Rejoin(
        rollout,
        "canary",
        T0 + 20 * D,
        facts,
        "- block_on_incident: incident INC-1 (sev2) is open: dorado stalls",
    )


@pytest.mark.parametrize(
    "scenario",
    [failing_check, risk_again, stale_go, open_incident],
    ids=["failing-check", "risk-again", "stale-go", "open-incident"],
)
def test_a_rejoined_stage_is_entered_again_only_through_its_gates(
    scenario: Callable[[], Rejoin],
) -> None:
    """After the rejoining reports the rollout is still below the stage (no clock restarted);
    `advance` refuses with exactly the gate that fails, and an override is recorded as one."""
    case = scenario()
    index = CHARTER.stage_ids.index(case.stage)
    assert case.rollout.stage_index == index - 1
    assert all(case.rollout.position(c) == index for c in CLIENTS)
    assert case.stage not in case.rollout.stage_entered_at
    refused = advance(case.rollout, CHARTER, case.facts, case.now, by="ines-coord")
    (said,) = [e for e in refused.effects if isinstance(e, Reply)]
    assert (said.ok, refusal(said.text)) == (False, case.failing)
    assert refused.rollout == case.rollout
    overridden = advance(
        case.rollout, CHARTER, case.facts, case.now, by="ines-coord",
        override_reason="reviewed", may_override=True, to=case.stage,
    ).rollout  # fmt: skip
    assert overridden.stage_index == index
    assert overridden.overrides[-1].stage == case.stage
    assert overridden.stage_entered_at.get(case.stage, case.now) == case.now


def test_a_report_for_the_stage_above_a_rolled_back_rollout_is_refused() -> None:
    """Rolled back to staging, the rollout takes reports up to canary, not production."""
    rollout = failing_check().rollout
    sent = report("aurora", "production", T0 + 7 * D)
    assert report_ready(rollout, CHARTER, sent).effects == (
        Reply("#42 is at staging: report for canary or earlier, not production", ok=False),
    )


# -- go/no-go after a rollback out of the stage -------------------------------------------------

SOAK = T0 + 5 * D  # canary entered
GO = T0 + 19 * D
BACK = T0 + 20 * D  # the rollback


def prod(client: str, at: datetime) -> ReadyReport:
    return report(client, "production", at)


def back(*clients: str, at: datetime = BACK) -> RollbackRecord:
    return RollbackRecord(clients, "halt", "ines-coord", at)


def call(decision: str, at: datetime) -> GoNoGo:
    return GoNoGo(42, "production", decision, "jonas-coord", at)  # type: ignore[arg-type]


BEFORE_ROLLBACK = (
    "go/no-go: the last decision for production (go, jonas-coord, 2026-03-21 09:00 UTC) was made"
    " before the rollback out of production (2026-03-22 09:00 UTC); a new go/no-go call must"
    " decide"
)


@pytest.mark.parametrize(
    ("soak", "reports", "rollbacks", "decisions", "cutoff", "current", "passed", "reason"),
    [
        (SOAK, (prod("aurora", GO - D),), (), (call("go", GO),), None, 0, True,
         "go/no-go: the call decided go for production (jonas-coord, 2026-03-21 09:00 UTC)"),
        (SOAK, (prod("aurora", GO - D),), (back("aurora", "dorado"),), (call("go", GO),),
         BACK, None, False, BEFORE_ROLLBACK),
        (SOAK, (prod("aurora", GO - D),), (back("aurora"),),
         (call("go", GO), call("go", BACK + D)), BACK, 1, True,
         "go/no-go: the call decided go for production (jonas-coord, 2026-03-23 09:00 UTC)"),
        (SOAK, (prod("aurora", GO - D),), (back("aurora"),),
         (call("go", GO), call("no-go", BACK)), BACK, 1, False,
         "go/no-go: the call decided no-go for production (jonas-coord, 2026-03-22 09:00 UTC)"),
        (SOAK, (prod("aurora", GO - D),), (back("dorado"),), (call("go", GO),), None, 0, True,
         "go/no-go: the call decided go for production (jonas-coord, 2026-03-21 09:00 UTC)"),
        # aurora's release for production came after the call: the call did not see it
        (SOAK, (prod("aurora", BACK + H),), (back("aurora"),), (call("go", GO),), None, None,
         False,
         "go/no-go: the last decision for production (go, jonas-coord, 2026-03-21 09:00 UTC) was"
         " made before aurora's report of 1.4.0 for production (2026-03-22 10:00 UTC); a new"
         " go/no-go call must decide"),
        (SOAK, (prod("aurora", GO - D),), (back("aurora", at=GO - H), back("aurora")),
         (call("go", GO),), BACK, None, False, BEFORE_ROLLBACK),
        (BACK + D, (prod("aurora", GO - D),), (back("aurora"),), (call("go", BACK + H),),
         BACK, None, False,
         "go/no-go: the last decision for production (go, jonas-coord, 2026-03-22 10:00 UTC) was"
         " made before the rollout last entered canary (2026-03-23 09:00 UTC); a new go/no-go"
         " call must decide"),
    ],
    ids=["no-rollback", "go-then-rollback", "go-after-rollback", "no-go-after-rollback",
         "client-never-on-stage", "reported-after-rollback", "latest-of-two", "soak-later"],
)  # fmt: skip
def test_only_a_decision_since_the_latest_rollback_out_of_the_stage_counts(
    soak: datetime,
    reports: tuple[ReadyReport, ...],
    rollbacks: tuple[RollbackRecord, ...],
    decisions: tuple[GoNoGo, ...],
    cutoff: datetime | None,
    current: int | None,
    passed: bool,
    reason: str,
) -> None:
    """A rollback naming a client that had reported for production is a rollback out of it:
    a decision from before it neither passes nor fails the gate, with or without the stage
    order; the later of it and the soak clock's start is what counts."""
    rollout = replace(
        rollout_at(1, entered={"staging": T0, "canary": soak}, reports=reports),
        rollbacks=rollbacks,
    )
    found = rolled_back_from(PRODUCTION, rollout)
    assert (None if found is None else found.at) == cutoff
    expected = None if current is None else decisions[current]
    assert current_go_no_go(PRODUCTION, rollout, decisions, CHARTER) == expected
    assert go_no_go(PRODUCTION, rollout, decisions, CHARTER) == GateResult(
        "go_no_go", passed, reason
    )
    if soak == SOAK:  # without the stage order only the rollback decides
        assert go_no_go(PRODUCTION, rollout, decisions) == GateResult("go_no_go", passed, reason)
