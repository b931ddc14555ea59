"""Rollback drills: scoring, what still counts, the require_drill gate and its charter field."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from charter import drills
from charter.gates import GateFacts, evaluate, require_drill
from charter.grammar_drills import MAX_RECOVERY
from charter.load import CharterInvalid, load_charter
from charter.model import Charter, Stage
from charter.rollout_facts import DrillReport, ReadyReport, RollbackRecord, Rollout
from tests.charter.rollout_support import CLIENTS, T0, H, reference_data, report, rollout_at
from tests.paths import reference_charter_text

M = timedelta(minutes=1)


def drilled(**stages: dict[str, object]) -> Charter:
    """The reference charter with ``require_drill`` set on the stages named."""
    data = reference_data()
    for entry in data["rollout"]["stages"]:
        if entry["id"] in stages:
            entry["require_drill"] = stages[entry["id"]]
    return Charter.model_validate(data)


CHARTER = drilled(production={"stage": "canary", "recover_within": "30m"})
PRODUCTION = CHARTER.stage("production")
assert PRODUCTION is not None


def drill(
    client: str, at: datetime, took: timedelta | None = 12 * M, *, stage: str = "canary"
) -> DrillReport:
    notes = "" if took is not None else "the node did not resync"
    return DrillReport(client, stage, took, notes, f"{client}-bot", at)


# Every client reported 1.4.0 for staging and canary before T0 + 2h; the rollout is on canary.
REPORTS = tuple(
    report(c, s, T0 + i * H) for i, s in enumerate(("staging", "canary")) for c in CLIENTS
)
GOOD = tuple(drill(c, T0 + 3 * H) for c in CLIENTS)


def on_canary(*drills_: DrillReport, **changes: object) -> Rollout:
    base = rollout_at(1, reports=REPORTS)
    return replace(base, drills=drills_, **changes)  # type: ignore[arg-type]


# -- scoring ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recovered", "limit", "expected"),
    [
        (12 * M, 30 * M, "pass"),
        (30 * M, 30 * M, "pass"),  # the limit itself still passes
        (30 * M + timedelta(seconds=1), 30 * M, "slow"),
        (45 * M, 30 * M, "slow"),
        (None, 30 * M, "fail"),
        (45 * M, None, "pass"),  # no stage requires the drill: any recovery passes
        (None, None, "fail"),
    ],
)
def test_score(recovered: timedelta | None, limit: timedelta | None, expected: str) -> None:
    assert drills.score(recovered, limit) == expected


@given(
    st.one_of(st.none(), st.integers(1, 10**6)),
    st.one_of(st.none(), st.integers(1, 10**6)),
)
def test_score_is_fail_only_without_recovery_and_slow_only_past_the_limit(
    took: int | None, limit: int | None
) -> None:
    recovered = None if took is None else timedelta(seconds=took)
    bound = None if limit is None else timedelta(seconds=limit)
    outcome = drills.score(recovered, bound)
    assert (outcome == "fail") == (took is None)
    assert (outcome == "slow") == (took is not None and limit is not None and took > limit)


@pytest.mark.parametrize(
    ("stages", "on", "expected", "requiring"),
    [
        ({}, "canary", None, ()),
        (
            {"production": {"stage": "canary", "recover_within": "30m"}},
            "canary",
            30 * M,
            ("production",),
        ),
        ({"production": {"stage": "canary", "recover_within": "30m"}}, "staging", None, ()),
        (
            {
                "canary": {"stage": "staging", "recover_within": "1h"},
                "production": {"stage": "staging", "recover_within": "20m"},
            },
            "staging",
            20 * M,  # the strictest limit scores
            ("canary", "production"),
        ),
    ],
)
def test_limit_for_and_requiring(
    stages: dict[str, dict[str, object]],
    on: str,
    expected: timedelta | None,
    requiring: tuple[str, ...],
) -> None:
    charter = drilled(**stages)
    found = drills.limit_for(charter, on)
    assert (None if found is None else found.recover_within) == expected
    assert drills.requiring(charter, on) == requiring


@pytest.mark.parametrize(
    ("took", "expected"),
    [
        (12 * M, "recovered in 12m"),
        (90 * M, "recovered in 1h30m"),
        (timedelta(seconds=1845), "recovered in 30m45s"),
        (2 * H, "recovered in 2h"),
        (None, "failed: the node did not resync"),
    ],
)
def test_recovery_words(took: timedelta | None, expected: str) -> None:
    assert drills.recovery(drill("aurora", T0, took)) == expected


# -- what still counts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rollout", "expected"),
    [
        (on_canary(drill("aurora", T0 + 3 * H)), None),
        (on_canary(drill("aurora", T0 + H)), None),  # at the moment of the report: it counts
        (
            on_canary(drill("aurora", T0 + H - M)),
            "aurora's rollback drill on canary was before its release 1.4.0 was reported there",
        ),
        (
            on_canary(
                drill("aurora", T0 + 3 * H),
                reports=(*REPORTS, report("aurora", "canary", T0 + 4 * H, version="1.4.1")),
            ),
            "aurora's rollback drill on canary was of 1.4.0, and 1.4.1 was reported there since",
        ),
        (
            on_canary(
                drill("aurora", T0 + 3 * H), positions={**{c: 1 for c in CLIENTS}, "aurora": 0}
            ),
            "aurora was rolled back from canary after its rollback drill there",
        ),
        (  # rolled back from production onto canary: the canary drill still counts
            on_canary(
                drill("aurora", T0 + 3 * H), positions={**{c: 1 for c in CLIENTS}, "aurora": 2}
            ),
            None,
        ),
    ],
)
def test_stale(rollout: Rollout, expected: str | None) -> None:
    assert drills.stale(rollout, rollout.drills[0], CHARTER) == expected


def test_standing_scores_the_latest_drill_of_a_client_on_a_stage() -> None:
    rollout = on_canary(drill("aurora", T0 + 3 * H, 45 * M), drill("aurora", T0 + 4 * H, 20 * M))
    found = drills.standing(rollout, CHARTER, "aurora", "canary")
    assert found is not None
    assert (found.outcome, found.limit, found.counts) == ("pass", 30 * M, True)
    assert found.drill.at == T0 + 4 * H
    assert drills.standing(rollout, CHARTER, "borealis", "canary") is None
    unrequired = drills.standing(
        on_canary(drill("aurora", T0 + 3 * H, stage="staging")), CHARTER, "aurora", "staging"
    )
    assert unrequired is not None
    assert (unrequired.outcome, unrequired.limit) == ("pass", None)
    old = on_canary(drill("aurora", T0))
    stale = drills.standing(old, CHARTER, "aurora", "canary")
    assert stale is not None
    assert not stale.counts
    assert (
        stale.stale
        == "aurora's rollback drill on canary was before its release 1.4.0 was reported there"
    )


# -- the gate -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rollout", "passed", "reason"),
    [
        (on_canary(*GOOD), True, "every client's rollback drill on canary recovered within 30m"),
        (
            on_canary(*GOOD[1:]),
            False,
            "aurora has not run a rollback drill on canary",
        ),
        (
            on_canary(*GOOD[:1], drill("borealis", T0 + 3 * H, 45 * M), *GOOD[2:]),
            False,
            "borealis's rollback drill on canary took 45m (the charter allows 30m)",
        ),
        (
            on_canary(*GOOD[:2], drill("cirrus", T0 + 3 * H, None), *GOOD[3:]),
            False,
            "cirrus's rollback drill on canary failed: the node did not resync",
        ),
        (  # the latest drill wins, a worse one too
            on_canary(*GOOD, drill("dorado", T0 + 5 * H, None)),
            False,
            "dorado's rollback drill on canary failed: the node did not resync",
        ),
        (  # a later good drill replaces a failed one
            on_canary(drill("dorado", T0 + 3 * H, None), *GOOD),
            True,
            "every client's rollback drill on canary recovered within 30m",
        ),
        (
            on_canary(
                *GOOD, reports=(*REPORTS, report("aurora", "canary", T0 + 4 * H, version="1.2.1"))
            ),
            False,
            "aurora's rollback drill on canary was of 1.4.0, and 1.2.1 was reported there since",
        ),
        (
            on_canary(*GOOD, positions={**{c: 1 for c in CLIENTS}, "eridanus": 0}),
            False,
            "eridanus was rolled back from canary after its rollback drill there",
        ),
        (  # a drill on another stage is no drill on canary
            on_canary(*(replace(d, stage="staging") for d in GOOD)),
            False,
            "; ".join(f"{c} has not run a rollback drill on canary" for c in CLIENTS),
        ),
        (
            on_canary(drill("aurora", T0 + 3 * H, 31 * M), *GOOD[1:4]),
            False,
            "aurora's rollback drill on canary took 31m (the charter allows 30m); eridanus has not run a rollback drill on canary",
        ),
    ],
)
def test_require_drill_gate(rollout: Rollout, passed: bool, reason: str) -> None:
    result = require_drill(PRODUCTION, rollout, CHARTER)
    assert (result.gate, result.passed, result.reason) == ("require_drill", passed, reason)
    assert result.line == f"require_drill: {reason}"


def test_a_stage_without_require_drill_passes() -> None:
    canary = CHARTER.stage("canary")
    assert canary is not None
    result = require_drill(canary, on_canary(), CHARTER)
    assert (result.passed, result.reason) == (True, "no rollback drill required before canary")


def test_evaluate_runs_require_drill_after_go_no_go_and_before_prerequisites() -> None:
    from charter.prerequisites import minimums

    facts = GateFacts(minimums=minimums("aurora >= 1.0"))
    gates = [
        r.gate for r in evaluate(PRODUCTION, on_canary(*GOOD), facts, CHARTER, T0 + 30 * 24 * H)
    ]
    assert gates == [
        "require_ready",
        "soak",
        "require_checks",
        "block_on_incident",
        "go_no_go",
        "require_drill",
        "prerequisites",
    ]
    plain = Charter.model_validate(reference_data()).stage("production")
    assert isinstance(plain, Stage)
    assert "require_drill" not in [r.gate for r in evaluate(plain, on_canary(), facts, CHARTER, T0)]


def test_rollbacks_alone_do_not_stale_a_drill_of_a_client_still_on_the_stage() -> None:
    back = RollbackRecord(("aurora",), "bad", "ines-coord", T0 + 4 * H)
    rollout = on_canary(*GOOD, rollbacks=(back,))  # a rollback from production: still on canary
    assert require_drill(PRODUCTION, rollout, CHARTER).passed


# -- the charter field -------------------------------------------------------------------------


def test_the_reference_charter_has_no_drill_requirement() -> None:
    charter = load_charter(reference_charter_text()).charter
    assert all(s.require_drill is None for s in charter.rollout.stages)


def _with_drill(stage: str, block: str) -> str:
    """The reference charter's text with ``block`` (indented YAML) added to stage ``stage``."""
    text = reference_charter_text()
    anchor = f"    - id: {stage}\n"
    assert anchor in text
    return text.replace(anchor, anchor + block)


def test_a_valid_requirement_loads() -> None:
    text = _with_drill("production", "      require_drill: {stage: canary, recover_within: 30m}\n")
    stage = load_charter(text).charter.stage("production")
    assert stage is not None
    assert stage.require_drill is not None
    assert (stage.require_drill.stage, stage.require_drill.recover_within) == ("canary", 30 * M)


@pytest.mark.parametrize(
    ("stage", "block", "path", "message"),
    [
        (
            "production",
            "      require_drill: {stage: production, recover_within: 30m}\n",
            "rollout.stages[2].require_drill.stage",
            "a stage cannot require a rollback drill on itself; name an earlier one: staging, canary",
        ),
        (
            "canary",
            "      require_drill: {stage: production, recover_within: 30m}\n",
            "rollout.stages[1].require_drill.stage",
            "production comes after canary: a rollback drill runs on an earlier stage: staging",
        ),
        (
            "production",
            "      require_drill: {stage: canery, recover_within: 30m}\n",
            "rollout.stages[2].require_drill.stage",
            "unknown stage 'canery' (did you mean 'canary'?); the stages before production: staging, canary",
        ),
        (
            "staging",
            "      require_drill: {stage: canary, recover_within: 30m}\n",
            "rollout.stages[0].require_drill.stage",
            "staging is the first stage: no stage comes before it to run a rollback drill on; require the drill on a later stage",
        ),
        (
            "production",
            "      require_drill: {stage: canary, recover_within: 0m}\n",
            "rollout.stages[2].require_drill.recover_within",
            "recover_within must be longer than 0s: the longest recovery that scores a pass, e.g. 30m",
        ),
        (
            "production",
            "      require_drill: {stage: canary, recover_within: 30}\n",
            "rollout.stages[2].require_drill.recover_within",
            "30 has no unit; write e.g. 30m, 30h or 30d",
        ),
        (
            "production",
            "      require_drill: {stage: canary, recover_within: 8d}\n",
            "rollout.stages[2].require_drill.recover_within",
            "recover_within is 8d, but a drill reports a recovery of at most 7d (a longer one"
            " failed), so no drill could be slow; write 7d or less, e.g. 30m",
        ),
        (
            "production",
            "      require_drill: {stage: canary, recover_within: 7d 1s}\n",
            "rollout.stages[2].require_drill.recover_within",
            "recover_within is 7d 1s, but a drill reports a recovery of at most 7d (a longer one"
            " failed), so no drill could be slow; write 7d or less, e.g. 30m",
        ),
        (
            "production",
            "      require_drill: {stage: canary}\n",
            "rollout.stages[2].require_drill.recover_within",
            "missing required field 'recover_within'",
        ),
        (
            "production",
            "      require_drill: {stage: canary, recover_within: 30m, within: 1h}\n",
            "rollout.stages[2].require_drill.within",
            "unknown field 'within' (did you mean 'recover_within'?)",
        ),
    ],
)
def test_invalid_requirements_are_reported_with_their_position(
    stage: str, block: str, path: str, message: str
) -> None:
    text = _with_drill(stage, block)
    with pytest.raises(CharterInvalid) as caught:
        load_charter(text, "charter.yaml")
    problems = caught.value.problems
    assert [(p.path, p.message) for p in problems] == [(path, message)]
    line = text.splitlines().index(block.rstrip("\n")) + 1
    assert problems[0].line == line
    assert str(problems[0]).startswith(f"charter.yaml:{line}:")


def test_the_longest_recovery_a_drill_reports_is_a_valid_recover_within() -> None:
    """The cap is the drill command's (a recovery longer than it is refused there)."""
    assert timedelta(days=7) == MAX_RECOVERY
    text = _with_drill("production", "      require_drill: {stage: canary, recover_within: 7d}\n")
    stage = load_charter(text).charter.stage("production")
    assert stage is not None and stage.require_drill is not None
    assert stage.require_drill.recover_within == MAX_RECOVERY


def test_malformed_drill_blocks_leave_the_cross_check_quiet() -> None:
    """The shape check reports a drill block that is no mapping; the stage check skips it."""
    text = _with_drill("production", "      require_drill: canary\n")
    with pytest.raises(CharterInvalid) as caught:
        load_charter(text)
    assert [p.path for p in caught.value.problems] == ["rollout.stages[2].require_drill"]


def test_a_report_at_the_moment_of_the_drill_stales_it_when_it_brings_another_release() -> None:
    at = T0 + 3 * H
    kept = replace(drill("aurora", at), release="1.4.0")
    same = on_canary(kept, reports=(*REPORTS, report("aurora", "canary", at)))
    assert drills.stale(same, kept, CHARTER) is None
    newer = on_canary(kept, reports=(*REPORTS, report("aurora", "canary", at, version="1.4.1")))
    assert drills.stale(newer, kept, CHARTER) == (
        "aurora's rollback drill on canary was of 1.4.0, and 1.4.1 was reported there since"
    )


def _canary(client: str, at: datetime, version: str, ref: str | None) -> ReadyReport:
    return report(client, "canary", at, version=version, ref=ref)


BARE = tuple(r for r in REPORTS if r.client != "aurora" or r.stage != "canary")
SHA_A, SHA_B = "a" * 40, "b" * 40
KEPT = replace(drill("aurora", T0 + 3 * H), release="1.0.0")


@pytest.mark.parametrize(
    ("reports", "expected"),
    [
        # The same release reported again, before or after the drill: it still counts.
        (
            (
                _canary("aurora", T0 + H, "1.0.0", None),
                _canary("aurora", T0 + 4 * H, "1.0.0", None),
            ),
            None,
        ),
        # Reporting again to add the ref (the reviewer's `ready 1 borealis staging 1.0.0 <ref>`).
        (
            (
                _canary("aurora", T0 + H, "1.0.0", None),
                _canary("aurora", T0 + 4 * H, "1.0.0", SHA_A),
            ),
            None,
        ),
        # The same ref again, abbreviated or with a leading v on the version.
        (
            (
                _canary("aurora", T0 + H, "1.0.0", SHA_A),
                _canary("aurora", T0 + 4 * H, "v1.0.0", SHA_A[:12]),
            ),
            None,
        ),
        # A report without a ref after one with it: nothing tells them apart.
        (
            (
                _canary("aurora", T0 + H, "1.0.0", SHA_A),
                _canary("aurora", T0 + 4 * H, "1.0.0", None),
            ),
            None,
        ),
        # Another ref of the same version: another build, the drill no longer counts.
        (
            (
                _canary("aurora", T0 + H, "1.0.0", SHA_A),
                _canary("aurora", T0 + 4 * H, "1.0.0", SHA_B),
            ),
            f"aurora's rollback drill on canary was of 1.0.0@{SHA_A[:12]}, and 1.0.0@{SHA_B[:12]} was reported there since",
        ),
        # A ref added, then another ref: the second names another build than the first.
        (
            (
                _canary("aurora", T0 + H, "1.0.0", None),
                _canary("aurora", T0 + 4 * H, "1.0.0", SHA_A),
                _canary("aurora", T0 + 5 * H, "1.0.0", SHA_B),
            ),
            f"aurora's rollback drill on canary was of 1.0.0@{SHA_A[:12]}, and 1.0.0@{SHA_B[:12]} was reported there since",
        ),
        # Another version, even when the one rehearsed is reported again after it.
        (
            (
                _canary("aurora", T0 + H, "1.0.0", None),
                _canary("aurora", T0 + 4 * H, "1.0.1", None),
                _canary("aurora", T0 + 5 * H, "1.0.0", None),
            ),
            "aurora's rollback drill on canary was of 1.0.0, and 1.0.1 was reported there since",
        ),
        # Reports before the one rehearsed do not matter.
        ((_canary("aurora", T0, "0.9.0", SHA_B), _canary("aurora", T0 + H, "1.0.0", SHA_A)), None),
        # No report for the stage at all: nothing was replaced (the position speaks).
        ((), None),
    ],
)
def test_a_drill_counts_across_reports_of_the_same_release(
    reports: tuple[ReadyReport, ...], expected: str | None
) -> None:
    rollout = on_canary(KEPT, reports=(*BARE, *reports))
    assert drills.stale(rollout, KEPT, CHARTER) == expected


def test_a_drill_without_the_release_it_kept_rehearsed_the_latest_report_before_it() -> None:
    """A drill stored before drills kept their release: the report before it is the one."""
    legacy = drill("aurora", T0 + 3 * H)
    older = on_canary(legacy, reports=(*BARE, _canary("aurora", T0 + H, "1.0.0", None)))
    assert drills.stale(older, legacy, CHARTER) is None
    newer = replace(older, reports=(*older.reports, _canary("aurora", T0 + 4 * H, "2.0.0", None)))
    assert drills.stale(newer, legacy, CHARTER) == (
        "aurora's rollback drill on canary was of 1.0.0, and 2.0.0 was reported there since"
    )
