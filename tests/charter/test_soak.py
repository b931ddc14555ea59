"""The soak is counted per release: a report that brings a stage a new release restarts the
stage's soak clock, and a go/no-go decision made before a release reached the stage it gates no
longer counts (charter.soak)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from charter.effects import Reply
from charter.gates import GateFacts, GateResult, GoNoGo, current_go_no_go, go_no_go, soak
from charter.rollout import (
    CheckResult,
    ReadyReport,
    Rollout,
    advance,
    report_ready,
    rollback,
)
from charter.soak import same_release
from charter.watchdogs import earliest_production
from tests.charter.rollout_support import CLIENTS, T0, H, reference, report, rollout_at, sha

CHARTER = reference()
D = timedelta(days=1)
CANARY, PRODUCTION = CHARTER.rollout.stages[1], CHARTER.rollout.stages[2]
ENTERED = T0 + 5 * D  # every client on canary, the rollout entered it
NOW = ENTERED + 10 * D
GO = ENTERED + 14 * D  # the go/no-go call decides


def build(client: str, version: str = "1.4.0") -> str:
    """One commit per client and version, whatever the stage it is reported for."""
    return sha(client, "build", version)


def ran(client: str, stage: str, at: datetime, version: str = "1.4.0") -> ReadyReport:
    return report(client, stage, at, version=version, ref=build(client, version))


def on_canary(*more: ReadyReport, positions: dict[str, int] | None = None) -> Rollout:
    """Every client ran 1.4.0 on staging and on canary; canary's clock started at ENTERED."""
    reports = [ran(c, s, T0 + i * H) for i, s in enumerate(("staging", "canary")) for c in CLIENTS]
    entered = {"staging": T0, "canary": ENTERED}
    if min((positions or {}).values(), default=1) < 1:
        entered = {"staging": T0}  # a client below canary: canary's clock is stopped
    return rollout_at(1, positions=positions, entered=entered, reports=(*reports, *more))


def reply(effects: tuple[object, ...]) -> Reply:
    (said,) = [e for e in effects if isinstance(e, Reply)]
    return said


# -- what a release is -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (("1.4.0", "abcdef1234"), ("1.4.0", "abcdef1234"), True),
        (("v1.4.0", None), ("1.4.0", None), True),
        (("1.4.0", "ABCDEF1"), ("1.4.0", "abcdef1234567890"), True),
        (("1.4.0", "abcdef1"), ("1.4.0", "1234567"), False),
        (("1.4.0", "refs/tags/v1.4.0"), ("1.4.0", "v1.4.0"), True),
        (("1.4.0", "v1.4.0"), ("1.4.0", "v1.4.0-fix"), False),
        (("1.4.0", "abcdef1"), ("1.4.0", "v1.4.0"), True),
        (("1.4.0", None), ("1.4.0", "abcdef1"), True),
        (("1.4.0", "abcdef1"), ("1.4.1", "abcdef1"), False),
        (("vnext", None), ("next", None), False),
        (("12.0", None), ("2.0", None), False),
    ],
    ids=["same", "v-prefix", "abbreviated-sha", "other-commit", "qualified-tag", "other-tag",
         "sha-and-tag", "missing-ref", "other-version", "not-a-version", "only-a-v-is-dropped"],
)  # fmt: skip
def test_two_reports_name_the_same_release(
    a: tuple[str, str | None], b: tuple[str, str | None], same: bool
) -> None:
    """Versions equal (a leading v aside) and refs that do not tell two builds apart."""
    first = ReadyReport("aurora", "canary", a[0], a[1], "", "alice", T0)
    second = ReadyReport("aurora", "canary", b[0], b[1], "", "alice", T0 + H)
    assert same_release(first, second) is same
    assert same_release(second, first) is same


# -- a new release restarts the soak of the stage it is reported for ---------------------------

REBUILT = sha("aurora", "rebuild", "1.4.0")


@pytest.mark.parametrize(
    ("before", "sent", "said", "clocks"),
    [
        (on_canary(), ran("aurora", "canary", NOW, "2.0.0"),
         "recorded aurora 2.0.0@8b2f2c920e43 for canary; aurora's canary soak restarts: 2.0.0"
         " replaces 1.4.0",
         {"staging": T0, "canary": NOW}),
        (on_canary(), ran("aurora", "canary", NOW), "recorded aurora 1.4.0@f960c4c050b0 for canary",
         {"staging": T0, "canary": ENTERED}),
        (on_canary(), report("aurora", "canary", NOW, version="v1.4.0", ref=None),
         "recorded aurora v1.4.0 for canary", {"staging": T0, "canary": ENTERED}),
        (on_canary(), report("aurora", "canary", NOW, ref=REBUILT),
         "recorded aurora 1.4.0@2b772e3e3d86 for canary; aurora's canary soak restarts:"
         f" 1.4.0@{REBUILT[:12]} replaces 1.4.0@{build('aurora')[:12]}",
         {"staging": T0, "canary": NOW}),
        (on_canary(), ran("aurora", "staging", NOW, "2.0.0"),
         "recorded aurora 2.0.0@8b2f2c920e43 for staging; aurora's staging soak restarts: 2.0.0"
         " replaces 1.4.0", {"staging": NOW, "canary": ENTERED}),
        (on_canary(ran("aurora", "production", ENTERED), positions={"aurora": 2}),
         ran("aurora", "canary", NOW, "2.0.0"),
         "recorded aurora 2.0.0@8b2f2c920e43 for canary; aurora's canary soak restarts: 2.0.0"
         " replaces 1.4.0",
         {"staging": T0, "canary": NOW}),
        (on_canary(), ran("aurora", "production", NOW, "2.0.0"),
         "recorded aurora 2.0.0@8b2f2c920e43 for production", {"staging": T0, "canary": ENTERED}),
        (on_canary(positions={"dorado": 0}), ran("aurora", "canary", NOW, "2.0.0"),
         "recorded aurora 2.0.0@8b2f2c920e43 for canary", {"staging": T0}),
        (on_canary(ran("aurora", "canary", NOW + H, "2.0.0")), ran("aurora", "canary", NOW),
         "recorded aurora 1.4.0@f960c4c050b0 for canary", {"staging": T0, "canary": NOW + H}),
    ],
    ids=["new-version", "repeat", "repeat-without-ref", "rebuilt", "earlier-stage",
         "client-past-the-stage", "next-stage", "clock-stopped", "dated-before-the-latest"],
)  # fmt: skip
def test_a_new_release_restarts_the_soak_of_its_stage(
    before: Rollout, sent: ReadyReport, said: str, clocks: dict[str, datetime]
) -> None:
    """A report bringing a stage another release than its client ran there restarts the
    stage's running soak clock at the report, and the reply says so; repeating a release, a
    first report for the next stage or a report while the clock is stopped restarts nothing."""
    decision = report_ready(before, CHARTER, sent)
    assert reply(decision.effects) == Reply(said)
    assert dict(decision.rollout.stage_entered_at) == clocks


def test_the_restarted_clock_is_the_one_every_reader_sees() -> None:
    """The soak gate (the rollout view's time to go) and the watchdogs' earliest production
    read the restarted clock."""
    restarted = report_ready(on_canary(), CHARTER, ran("aurora", "canary", NOW, "2.0.0")).rollout
    assert soak(PRODUCTION, restarted, CHARTER, NOW + D) == GateResult(
        "soak",
        False,
        "soak: canary has run 1d of 14d with every client on it (13d to go; counted since"
        " aurora's 2.0.0 replaced 1.4.0)",
    )
    assert earliest_production(restarted, CHARTER, NOW) == NOW + 14 * D


# -- the reviewer's case: 2.0.0 never ran on canary ----------------------------------------------


def green(rollout: Rollout, at: datetime) -> Rollout:
    """Every check production requires succeeded on every client's release for it."""
    runs = tuple(
        CheckResult(c, name, r.ref or "", "success", at)
        for c in CLIENTS
        for name in PRODUCTION.require_checks
        if (r := rollout.latest_report(c, "production")) is not None
    )
    return replace(rollout, checks=(*rollout.checks, *runs))


def test_a_release_that_never_ran_on_canary_does_not_enter_production() -> None:
    """A "go" decided after 14 days on canary with 1.4.0; an hour later aurora ships 2.0.0 to
    canary and production at once. Production waits for 2.0.0's own 14 days on canary and a
    new call; an override still enters it, with the failing gates on record."""
    facts = GateFacts(go_no_go=(GoNoGo(42, "production", "go", "ines-coord", GO),))
    rollout = on_canary()
    shipped = [
        ran("aurora", "canary", GO + H, "2.0.0"),
        ran("aurora", "production", GO + H, "2.0.0"),
    ]
    for sent in (*shipped, *(ran(c, "production", GO + H) for c in CLIENTS[1:])):
        rollout = report_ready(rollout, CHARTER, sent).rollout
    rollout = green(rollout, GO + H)
    refused = advance(rollout, CHARTER, facts, GO + 2 * H, by="ines-coord")
    assert reply(refused.effects) == Reply(
        "#42 cannot advance to production:\n"
        "- soak: canary has run 0d 1h of 14d with every client on it (13d 23h to go; counted"
        " since aurora's 2.0.0 replaced 1.4.0)\n"
        "- go/no-go: the last decision for production (go, ines-coord, 2026-03-21 09:00 UTC) was"
        " made before aurora's 2.0.0 replaced 1.4.0 on canary (2026-03-21 10:00 UTC); a new"
        " go/no-go call must decide",
        ok=False,
    )
    assert refused.rollout == rollout
    overridden = advance(
        rollout, CHARTER, facts, GO + 2 * H, by="ines-coord", override_reason="hotfix",
        may_override=True, to="production",
    )  # fmt: skip
    assert overridden.rollout.overrides[-1].gates == ("soak", "go_no_go")
    assert overridden.rollout.stage_index == 2
    later = GO + H + 14 * D
    again = replace(facts, go_no_go=(*facts.go_no_go, GoNoGo(42, "production", "go", "x", later)))
    entered = advance(rollout, CHARTER, again, later, by="ines-coord")
    assert reply(entered.effects) == Reply("#42 advanced to production")


# -- a go/no-go decision counts only after the releases it gates were reported ------------------


def prod(client: str, at: datetime, version: str = "1.4.0") -> ReadyReport:
    return ran(client, "production", at, version)


@pytest.mark.parametrize(
    ("reports", "canary", "decided", "passed", "reason"),
    [
        ((prod("aurora", GO - D),), ENTERED, GO, True,
         "go/no-go: the call decided go for production (ines-coord, 2026-03-21 09:00 UTC)"),
        ((prod("aurora", GO + H),), ENTERED, GO, False,
         "go/no-go: the last decision for production (go, ines-coord, 2026-03-21 09:00 UTC) was"
         " made before aurora's report of 1.4.0 for production (2026-03-21 10:00 UTC); a new"
         " go/no-go call must decide"),
        ((prod("aurora", GO - D), prod("aurora", GO + H)), ENTERED, GO, True,
         "go/no-go: the call decided go for production (ines-coord, 2026-03-21 09:00 UTC)"),
        ((prod("aurora", GO - D), prod("aurora", GO + H, "2.0.0")), ENTERED, GO, False,
         "go/no-go: the last decision for production (go, ines-coord, 2026-03-21 09:00 UTC) was"
         " made before aurora's report of 2.0.0 for production (2026-03-21 10:00 UTC); a new"
         " go/no-go call must decide"),
        ((ran("aurora", "canary", GO + H, "2.0.0"),), GO + H, GO, False,
         "go/no-go: the last decision for production (go, ines-coord, 2026-03-21 09:00 UTC) was"
         " made before aurora's 2.0.0 replaced 1.4.0 on canary (2026-03-21 10:00 UTC); a new"
         " go/no-go call must decide"),
        ((prod("aurora", GO - D), prod("aurora", GO + H, "2.0.0")), ENTERED, GO + 2 * H, True,
         "go/no-go: the call decided go for production (ines-coord, 2026-03-21 11:00 UTC)"),
    ],
    ids=["reported-before", "first-report-after", "repeat-after", "new-release-after",
         "canary-release-after", "call-after-the-release"],
)  # fmt: skip
def test_a_decision_counts_only_after_the_releases_it_gates(
    reports: tuple[ReadyReport, ...],
    canary: datetime,
    decided: datetime,
    passed: bool,
    reason: str,
) -> None:
    """A decision from before a release was reported for the stage it gates (a client's first,
    or a new one), or before a new release restarted the soak of the stage before, no longer
    counts; a repeated release changes nothing."""
    rollout = replace(on_canary(*reports), stage_entered_at={"staging": T0, "canary": canary})
    decisions = (GoNoGo(42, "production", "go", "ines-coord", decided),)
    assert go_no_go(PRODUCTION, rollout, decisions, CHARTER) == GateResult(
        "go_no_go", passed, reason
    )
    counted = current_go_no_go(PRODUCTION, rollout, decisions, CHARTER)
    assert counted == (decisions[0] if passed else None)


def test_without_the_stage_order_a_release_reported_after_the_call_still_voids_it() -> None:
    """The report cutoff needs no stage order: ``go_no_go`` without ``charter`` applies it."""
    rollout = on_canary(prod("aurora", GO + H))
    decisions = (GoNoGo(42, "production", "go", "ines-coord", GO),)
    assert go_no_go(PRODUCTION, rollout, decisions) == GateResult(
        "go_no_go",
        False,
        "go/no-go: the last decision for production (go, ines-coord, 2026-03-21 09:00 UTC) was"
        " made before aurora's report of 1.4.0 for production (2026-03-21 10:00 UTC); a new"
        " go/no-go call must decide",
    )


# -- rollbacks: a release reported again after a rollback -----------------------------------------


@pytest.mark.parametrize(
    ("version", "clock", "counts"),
    [("1.4.0", ENTERED, True), ("1.4.1", NOW + 2 * H, False)],
    ids=["same-release-again", "fixed-release"],
)
def test_a_release_reported_again_after_a_rollback(
    version: str, clock: datetime, counts: bool
) -> None:
    """aurora, rolled back from production to canary, reports for canary again: the release it
    ran there keeps canary's soak and a call decided after the rollback; a fix restarts the soak
    and needs a new call."""
    rollout = on_canary(prod("aurora", ENTERED + D), positions={"aurora": 2})
    rollout = replace(rollout, stage_entered_at={"staging": T0, "canary": ENTERED})
    back = rollback(rollout, CHARTER, "halt", "ines-coord", NOW, clients=["aurora"]).rollout
    assert back.stage_entered_at == {"staging": T0, "canary": ENTERED}
    again = report_ready(back, CHARTER, ran("aurora", "canary", NOW + 2 * H, version)).rollout
    again = report_ready(again, CHARTER, prod("aurora", NOW + 2 * H, version)).rollout
    assert again.stage_entered_at["canary"] == clock
    decided = GoNoGo(42, "production", "go", "ines-coord", NOW + H)
    assert (current_go_no_go(PRODUCTION, again, (decided,), CHARTER) == decided) is counts
