"""Gates, one table per gate: pass or fail, with the exact reason people will read."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from charter.gates import (
    GateFacts,
    GateResult,
    GoNoGo,
    block_on_incident,
    evaluate,
    gate_line,
    go_no_go,
    prerequisites,
    require_checks,
    require_ready,
    risk,
    soak,
    unlabelled,
)
from charter.incident_facts import Incident
from charter.model import Charter, Stage
from charter.prerequisites import minimums
from charter.risk import Assessment, needs_override, risk_score
from charter.rollout import CheckResult, ReadyReport
from tests.charter.rollout_support import (
    CLIENTS,
    T0,
    H,
    check,
    reference,
    reference_data,
    report,
    rollout_at,
    sha,
)

CHARTER = reference()


def stage(stage_id: str) -> Stage:
    found = CHARTER.stage(stage_id)
    assert found is not None
    return found


STAGING, CANARY, PRODUCTION = stage("staging"), stage("canary"), stage("production")


def variant(**rollout: object) -> Charter:
    data = reference_data()
    data["rollout"].update(rollout)
    return Charter.model_validate(data)


NO_PAUSE = variant(risk={"scale": 5})  # the reference charter without a risk pause point


def _bare_canary() -> Charter:
    """The reference charter with a canary stage that configures no gate at all."""
    data = reference_data()
    data["rollout"]["stages"][1] = {"id": "canary"}
    return Charter.model_validate(data)


BARE_CANARY = _bare_canary()


# -- require_ready ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("positions", "reports", "expected"),
    [
        (
            {},
            (),
            GateResult("require_ready", True, "every client has reported a release for canary"),
        ),
        (
            {"cirrus": 0},
            (),
            GateResult("require_ready", False, "cirrus has not reported a release for canary"),
        ),
        (
            {"cirrus": 0, "dorado": 0},
            (),
            GateResult(
                "require_ready",
                False,
                "cirrus has not reported a release for canary; "
                "dorado has not reported a release for canary",
            ),
        ),
        (
            {"dorado": 0},
            (report("dorado", "canary", T0),),
            GateResult(
                "require_ready",
                False,
                "dorado was rolled back from canary and has not reported for it again",
            ),
        ),
    ],
    ids=["all-reported", "one-missing", "two-missing", "rolled-back"],
)
def test_require_ready(
    positions: dict[str, int], reports: tuple[ReadyReport, ...], expected: GateResult
) -> None:
    """Every client must be on the stage (reported, and not rolled back from it since)."""
    rollout = rollout_at(0, positions={c: 1 for c in CLIENTS} | positions, reports=reports)
    assert require_ready(CANARY, rollout, CHARTER) == expected


# -- soak -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "index", "positions", "entered", "now", "passed", "reason"),
    [
        (CANARY, 0, {}, {"staging": T0}, T0 + 41 * H, False,
         "soak: staging has run 41h of 72h with every client on it (31h to go)"),
        (CANARY, 0, {}, {"staging": T0}, T0 + 41.5 * H, False,
         "soak: staging has run 41h of 72h with every client on it (31h to go)"),
        (CANARY, 0, {}, {"staging": T0}, T0 + 72 * H, True,
         "soak: staging has run 72h of 72h with every client on it"),
        (CANARY, 0, {}, {"staging": T0}, T0 + 100 * H, True,
         "soak: staging has run 100h of 72h with every client on it"),
        (CANARY, 0, {"dorado": -1}, {}, T0 + 100 * H, False,
         "soak: staging has not yet run with every client on it (waiting for dorado)"),
        (PRODUCTION, 1, {}, {"canary": T0}, T0 + 200 * H, False,
         "soak: canary has run 8d 8h of 14d with every client on it (5d 16h to go)"),
        (PRODUCTION, 1, {}, {"canary": T0}, T0 + timedelta(days=14), True,
         "soak: canary has run 14d of 14d with every client on it"),
        (PRODUCTION, 0, {c: 1 for c in CLIENTS}, {"staging": T0}, T0 + 400 * H, False,
         "soak: canary has not yet run with every client on it "
         "(waiting for the rollout to reach it)"),
        (STAGING, -1, {}, {}, T0, True, "soak: none required before staging"),
    ],
    ids=["41h", "fraction", "exact", "over", "client-missing", "days", "days-exact",
         "stage-not-reached", "no-soak"],
)  # fmt: skip
def test_soak(
    target: Stage,
    index: int,
    positions: dict[str, int],
    entered: dict[str, datetime],
    now: datetime,
    passed: bool,
    reason: str,
) -> None:
    """The previous stage must have run `soak` with every client on it (hours floor, to-go ceil)."""
    rollout = rollout_at(index, positions=positions, entered=entered)
    assert soak(target, rollout, CHARTER, now) == GateResult("soak", passed, reason)


# -- require_checks ---------------------------------------------------------------------


def released(
    target: Stage, *, skip: tuple[str, ...] = (), ref: dict[str, str | None] | None = None
) -> tuple[ReadyReport, ...]:
    refs = ref or {}
    return tuple(report(c, target.id, T0, ref=refs.get(c, "")) for c in CLIENTS if c not in skip)


def greens(target: Stage, *, except_: tuple[tuple[str, str], ...] = ()) -> tuple[CheckResult, ...]:
    return tuple(
        check(c, target.id, name, "success", T0 + H)
        for c in CLIENTS
        for name in target.require_checks
        if (c, name) not in except_
    )


DORADO = f"dorado@{sha('dorado', 'canary')}"


@pytest.mark.parametrize(
    ("target", "reports", "checks", "passed", "reason"),
    [
        (CANARY, released(CANARY), greens(CANARY), True,
         "interop-matrix passed on every client's release"),
        (CANARY, released(CANARY, skip=("cirrus",)), greens(CANARY), False,
         "cirrus has no reported release for canary to check"),
        (CANARY, released(CANARY, ref={"cirrus": None}), greens(CANARY), False,
         "cirrus reported 1.4.0 for canary without a commit ref"),
        (CANARY, released(CANARY), greens(CANARY, except_=(("dorado", "interop-matrix"),)), False,
         f"interop-matrix has not run on {DORADO}"),
        (CANARY, released(CANARY),
         (*greens(CANARY), check("dorado", "canary", "interop-matrix", None, T0 + 2 * H)), False,
         f"interop-matrix on {DORADO} has not concluded yet"),
        (CANARY, released(CANARY),
         (*greens(CANARY), check("dorado", "canary", "interop-matrix", "failure", T0 + 2 * H)),
         False, f"interop-matrix on {DORADO} concluded failure"),
        (CANARY, released(CANARY),
         (check("dorado", "canary", "interop-matrix", "failure", T0), *greens(CANARY)), True,
         "interop-matrix passed on every client's release"),
        (CANARY, released(CANARY),
         (*greens(CANARY, except_=(("dorado", "interop-matrix"),)),
          check("dorado", "staging", "interop-matrix", "success", T0)), False,
         f"interop-matrix has not run on {DORADO}"),
        (CANARY, released(CANARY, ref={"dorado": sha("dorado", "canary")[:7].upper()}),
         greens(CANARY), True, "interop-matrix passed on every client's release"),
        (PRODUCTION, released(PRODUCTION),
         greens(PRODUCTION, except_=(("dorado", "differential-fuzz"),)), False,
         f"differential-fuzz has not run on dorado@{sha('dorado', 'production')}"),
        (STAGING, (), (), True, "no checks required for staging"),
    ],
    ids=["green", "no-report", "no-ref", "not-run", "running", "failed", "latest-wins",
         "other-commit", "short-sha", "second-check", "none-required"],
)  # fmt: skip
def test_require_checks(
    target: Stage,
    reports: tuple[ReadyReport, ...],
    checks: tuple[CheckResult, ...],
    passed: bool,
    reason: str,
) -> None:
    """Each required check's latest run on each client's reported commit must be a success."""
    rollout = rollout_at(1, reports=reports, checks=checks)
    assert require_checks(target, rollout) == GateResult("require_checks", passed, reason)


# -- block_on_incident ------------------------------------------------------------------


def incident(
    severity: str,
    *,
    proposals: tuple[int, ...] = (),
    clients: tuple[str, ...] = (),
    resolved: bool = False,
    id: str = "INC-1",
) -> Incident:
    return Incident(
        id=id,
        severity=severity,
        summary="interop fork on canary",
        proposals=proposals,
        clients=clients,
        declared_by="ines-coord",
        declared_at=T0,
        resolved_at=T0 + H if resolved else None,
    )


NO_BLOCK = "no open incident of sev2 or worse concerns this rollout"
BLOCK = "incident INC-1 ({}) is open: interop fork on canary"


@pytest.mark.parametrize(
    ("target", "incidents", "passed", "reason"),
    [
        (CANARY, (), True, NO_BLOCK),
        (CANARY, (incident("sev1", proposals=(42,)),), False, BLOCK.format("sev1")),
        (CANARY, (incident("sev2", clients=("dorado",)),), False, BLOCK.format("sev2")),
        (CANARY, (incident("sev2"),), False, BLOCK.format("sev2")),
        (CANARY, (incident("sev3", proposals=(42,)),), True, NO_BLOCK),
        (CANARY, (incident("sev1", proposals=(7,)),), True, NO_BLOCK),
        (CANARY, (incident("sev1", proposals=(42,), resolved=True),), True, NO_BLOCK),
        (PRODUCTION, (incident("sev3", proposals=(42,)),), False, BLOCK.format("sev3")),
        (CANARY, (incident("sev1"), incident("sev2", clients=("aurora",), id="INC-2")), False,
         BLOCK.format("sev1") + "; incident INC-2 (sev2) is open: interop fork on canary"),
        (STAGING, (incident("sev1"),), True, "no incident blocks staging"),
    ],
    ids=["none", "names-proposal", "names-client", "names-nothing", "too-mild",
         "other-proposal", "resolved", "production-sev3", "two", "stage-without-gate"],
)  # fmt: skip
def test_block_on_incident(
    target: Stage, incidents: tuple[Incident, ...], passed: bool, reason: str
) -> None:
    """An open incident this severe or worse naming the proposal, a client, or nothing blocks."""
    result = block_on_incident(target, rollout_at(1), incidents, CHARTER)
    assert result == GateResult("block_on_incident", passed, reason)


# -- risk -------------------------------------------------------------------------------

OVERRIDE = "advancing past staging needs an override by coordinators"


@pytest.mark.parametrize(
    ("charter", "assessment", "passed", "reason"),
    [
        (CHARTER, Assessment(4, 5), False,
         f"risk: likelihood 4 × impact 5 = 20 is above 15; {OVERRIDE}"),
        (CHARTER, Assessment(3, 5), True, "risk: likelihood 3 × impact 5 = 15 is within 15"),
        (CHARTER, None, False, f"risk: likelihood and impact were not recorded; {OVERRIDE}"),
        (NO_PAUSE, Assessment(5, 5), True, "risk: the charter sets no pause point"),
        (variant(override_roles=[]), Assessment(5, 4), False,
         "risk: likelihood 5 × impact 4 = 20 is above 15; advancing past staging needs an "
         "override by nobody (the charter names no override role)"),
    ],
    ids=["above", "at-limit", "unscored", "no-pause-point", "no-override-role"],
)  # fmt: skip
def test_risk_gate(
    charter: Charter, assessment: Assessment | None, passed: bool, reason: str
) -> None:
    """Likelihood × impact above pause_above (or unscored) needs an override to leave staging."""
    assert risk(assessment, charter) == GateResult("risk", passed, reason)


@pytest.mark.parametrize(
    ("likelihood", "impact", "scale", "expected"),
    [(4, 5, None, 20), (5, 5, 5, 25), (1, 1, 5, 1), (9, 2, None, 18)],
)
def test_risk_score(likelihood: int, impact: int, scale: int | None, expected: int) -> None:
    """The score is likelihood × impact."""
    assert risk_score(likelihood, impact, scale=scale) == expected


@pytest.mark.parametrize(
    ("likelihood", "impact", "scale", "message"),
    [
        (0, 3, None, "likelihood must be a whole number 1 or more, got 0"),
        (6, 1, 5, "likelihood must be a whole number 1..5, got 6"),
        (3, -1, 5, "impact must be a whole number 1..5, got -1"),
        (True, 2, 5, "likelihood must be a whole number 1..5, got True"),
    ],
)
def test_risk_score_refuses_out_of_scale(
    likelihood: int, impact: int, scale: int | None, message: str
) -> None:
    """Each factor is a whole number from 1 to the charter's scale."""
    with pytest.raises(ValueError, match=message):
        risk_score(likelihood, impact, scale=scale)


@pytest.mark.parametrize(
    ("charter", "score", "expected"),
    [(CHARTER, 16, True), (CHARTER, 15, False), (NO_PAUSE, 25, False)],
)
def test_needs_override(charter: Charter, score: int, expected: bool) -> None:
    """Only a score strictly above pause_above needs an override; none without a pause point."""
    assert needs_override(score, charter) is expected


# -- go/no-go ---------------------------------------------------------------------------

CALL = T0 + 300 * H


def call(
    decision: str, *, at: datetime = CALL, proposal: int = 42, stage: str = "production"
) -> GoNoGo:
    return GoNoGo(proposal, stage, decision, "ines-coord", at)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "decisions", "passed", "reason"),
    [
        (PRODUCTION, (), False, "go/no-go: no decision recorded for production"),
        (PRODUCTION, (call("go"),), True,
         "go/no-go: the call decided go for production (ines-coord, 2026-03-14 21:00 UTC)"),
        (PRODUCTION, (call("no-go"),), False,
         "go/no-go: the call decided no-go for production (ines-coord, 2026-03-14 21:00 UTC)"),
        (PRODUCTION, (call("go"), call("no-go", at=CALL + H)), False,
         "go/no-go: the call decided no-go for production (ines-coord, 2026-03-14 22:00 UTC)"),
        (PRODUCTION, (call("no-go", at=CALL + H), call("go", at=CALL + 2 * H)), True,
         "go/no-go: the call decided go for production (ines-coord, 2026-03-14 23:00 UTC)"),
        (PRODUCTION, (call("go", proposal=7), call("go", stage="canary")), False,
         "go/no-go: no decision recorded for production"),
        (CANARY, (), True, "go/no-go: no call required for canary"),
    ],
    ids=["none", "go", "no-go", "latest-no-go", "latest-go", "other-subject", "not-required"],
)  # fmt: skip
def test_go_no_go(target: Stage, decisions: tuple[GoNoGo, ...], passed: bool, reason: str) -> None:
    """A stage with a go/no-go call needs its latest recorded decision to be "go"."""
    assert go_no_go(target, rollout_at(1), decisions) == GateResult("go_no_go", passed, reason)


# -- evaluate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charter", "target", "gates"),
    [
        (CHARTER, STAGING, ("require_ready",)),
        (CHARTER, CANARY, ("require_ready", "soak", "require_checks", "block_on_incident", "risk")),
        (CHARTER, PRODUCTION,
         ("require_ready", "soak", "require_checks", "block_on_incident", "go_no_go")),
        (NO_PAUSE, CANARY,
         ("require_ready", "soak", "require_checks", "block_on_incident")),
        (BARE_CANARY, Stage(id="canary"), ("risk",)),
    ],
    ids=["staging", "canary", "production", "canary-without-pause-point", "bare-stage"],
)  # fmt: skip
def test_evaluate_runs_the_configured_gates(
    charter: Charter, target: Stage, gates: tuple[str, ...]
) -> None:
    """A stage runs exactly the gates its charter entry sets; risk only when leaving staging."""
    results = evaluate(target, rollout_at(0), GateFacts(), charter, T0)
    assert tuple(r.gate for r in results) == gates


def test_evaluate_passes_the_facts_to_the_gates() -> None:
    """evaluate hands each gate its facts: incidents, risk and calls reach their gates."""
    facts = GateFacts(incidents=(incident("sev3"),), risk=Assessment(1, 1), go_no_go=(call("go"),))
    rollout = rollout_at(
        1,
        positions={c: 2 for c in CLIENTS},
        entered={"canary": T0},
        reports=released(PRODUCTION),
        checks=greens(PRODUCTION),
    )
    results = evaluate(PRODUCTION, rollout, facts, CHARTER, T0 + timedelta(days=15))
    assert [(r.gate, r.passed) for r in results] == [
        ("require_ready", True),
        ("soak", True),
        ("require_checks", True),
        ("block_on_incident", False),
        ("go_no_go", True),
    ]


# -- prerequisites ------------------------------------------------------------------------

NEEDS = minimums("aurora >= 1.4, dorado >= 1.5.0, libp2p >= 0.53")


@pytest.mark.parametrize(
    ("reports", "passed", "reason"),
    [
        (
            tuple(report(c, "canary", T0) for c in CLIENTS),
            False,
            "dorado 1.4.0 does not meet dorado >= 1.5.0",
        ),
        (
            (*(report(c, "canary", T0) for c in CLIENTS),
             report("dorado", "canary", T0 + H, version="1.5.1")),
            True,
            "the releases for canary meet aurora >= 1.4, dorado >= 1.5.0",
        ),
        (
            (report("aurora", "canary", T0, version="1.3"), report("dorado", "canary", T0,
             version="nightly")),
            False,
            "aurora 1.3 does not meet aurora >= 1.4",  # an incomparable version holds nothing
        ),
        ((), True, "the releases for canary meet aurora >= 1.4, dorado >= 1.5.0"),
    ],
    ids=["below", "latest-meets", "incomparable", "nothing-reported"],
)  # fmt: skip
def test_prerequisites(reports: tuple[ReadyReport, ...], passed: bool, reason: str) -> None:
    """Each client's latest release for the stage meets the form's minimum for it; names that
    are not clients of the rollout (libp2p) are not checked."""
    rollout = rollout_at(0, reports=reports)
    assert prerequisites(CANARY, rollout, NEEDS) == GateResult("prerequisites", passed, reason)


@pytest.mark.parametrize(
    ("text", "runs"),
    [("aurora >= 1.4", True), ("libp2p >= 0.53", False), ("", False)],
)
def test_evaluate_runs_prerequisites_when_the_form_names_a_client(text: str, runs: bool) -> None:
    results = evaluate(STAGING, rollout_at(0), GateFacts(minimums=minimums(text)), CHARTER, T0)
    assert ("prerequisites" in [r.gate for r in results]) is runs


@pytest.mark.parametrize(
    ("gate", "reason", "line", "bare"),
    [
        ("require_ready", "aurora has not reported", "require_ready: aurora has not reported",
         "aurora has not reported"),
        ("soak", "soak: canary has run 1d", "soak: canary has run 1d", "canary has run 1d"),
        ("go_no_go", "go/no-go: no decision", "go/no-go: no decision", "no decision"),
        ("risk", "risk: 20 is above 15", "risk: 20 is above 15", "20 is above 15"),
        ("soak", "waiting", "soak: waiting", "waiting"),  # a reason without its label
        ("require_checks", "risk: x", "require_checks: risk: x", "risk: x"),  # not its label
    ],
    ids=["plain", "soak", "go-no-go", "risk", "soak-unlabelled", "other-label"],
)  # fmt: skip
def test_a_gate_is_named_once(gate: str, reason: str, line: str, bare: str) -> None:
    """In a list of gates (``rollout <n>``, ``advance``'s refusal) each line names its gate
    once; a page that shows the gate's name beside the reason shows it without the label."""
    assert gate_line(gate, reason) == GateResult(gate, False, reason).line == line
    assert unlabelled(gate, reason) == bare
