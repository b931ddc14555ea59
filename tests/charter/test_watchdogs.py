"""Watchdogs: each escalation rule fires when its condition has held `after`, once per key."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from charter.effects import Notify
from charter.gates import GateFacts
from charter.model import Charter, keeping
from charter.risk import Assessment
from charter.rollout import Rollout
from charter.watchdogs import ProposalStatus, Snapshot, check, earliest_production, new_alerts
from tests.charter.rollout_support import (
    CLIENTS,
    T0,
    H,
    check as check_run,
    reference,
    reference_data,
    report,
)

D = timedelta(days=1)
COORDINATORS = ("coordinators",)


def charter_with(*rules: dict[str, object]) -> Charter:
    """The reference charter plus escalation rules it does not configure itself."""
    data = reference_data()
    data["escalation"] = [*data["escalation"], *rules]
    return Charter.model_validate(data)


REFERENCE = reference()
FULL = charter_with(
    {"when": "stage-stuck", "after": "1d", "notify": ["coordinators"]},
    {"when": "activation-unreachable", "after": "2d", "notify": ["coordinators"]},
)


def keys(alerts: tuple[Notify, ...]) -> list[str]:
    return [a.key for a in alerts]


def proposal(state: str, **fields: object) -> ProposalStatus:
    return ProposalStatus(number=42, track="protocol-change", state=state, **fields)  # type: ignore[arg-type]


# -- no-maintainer-response -------------------------------------------------------------

QUIET = "escalation:no-maintainer-response:proposal:42"


@pytest.mark.parametrize(
    ("status", "now", "fired"),
    [
        (proposal("review", review_started_at=T0), T0 + 3 * D, [QUIET]),
        (proposal("review", review_started_at=T0), T0 + 3 * D - H, []),
        (proposal("review", review_started_at=T0, participants=("ines-coord",)), T0 + 4 * D,
         [QUIET]),
        (proposal("review", review_started_at=T0, participants=("Emeka-Cirrus",)), T0 + 4 * D,
         []),
        (proposal("voting", review_started_at=T0), T0 + 4 * D, []),
        (proposal("review"), T0 + 4 * D, []),
    ],
    ids=["silent-3d", "not-yet", "only-a-coordinator", "maintainer-spoke", "not-in-review",
         "no-review-start"],
)  # fmt: skip
def test_no_maintainer_response(status: ProposalStatus, now: datetime, fired: list[str]) -> None:
    """A proposal in review `after` with no comment or vote from any client maintainer escalates."""
    assert keys(check(Snapshot(proposals=(status,)), REFERENCE, now)) == fired


def test_no_maintainer_response_text() -> None:
    """The alert goes to the rule's roles and says how long the proposal has waited."""
    status = proposal("review", review_started_at=T0)
    assert check(Snapshot(proposals=(status,)), REFERENCE, T0 + 3 * D + 5 * H) == (
        Notify(
            COORDINATORS,
            "#42 has been in review 3d 5h with no comment or vote from any client maintainer",
            QUIET,
        ),
    )


# -- accepted-without-rollout -----------------------------------------------------------

IDLE = "escalation:accepted-without-rollout:proposal:42"
STAGED = Rollout(42, CLIENTS, T0, reports=(report("aurora", "staging", T0 + D),))


@pytest.mark.parametrize(
    ("status", "rollouts", "now", "fired"),
    [
        (proposal("accepted", decided_at=T0), (), T0 + 14 * D, [IDLE]),
        (proposal("rolling-out", decided_at=T0), (Rollout(42, CLIENTS, T0),), T0 + 15 * D, [IDLE]),
        (proposal("rolling-out", decided_at=T0), (STAGED,), T0 + 15 * D, []),
        (proposal("accepted", decided_at=T0), (), T0 + 14 * D - H, []),
        (proposal("completed", decided_at=T0), (), T0 + 30 * D, []),
        (proposal("accepted"), (), T0 + 30 * D, []),
    ],
    ids=["no-rollout", "no-report", "staging-reported", "not-yet", "completed", "undecided"],
)  # fmt: skip
def test_accepted_without_rollout(
    status: ProposalStatus, rollouts: tuple[Rollout, ...], now: datetime, fired: list[str]
) -> None:
    """An accepted proposal with no report for the first stage `after` its decision escalates."""
    snapshot = Snapshot(proposals=(status,), rollouts=rollouts)
    alerts = check(snapshot, REFERENCE, now)
    assert keys(alerts) == fired
    assert all(
        a.text == "#42 was accepted 14d ago and no client has reported a release for staging"
        for a in alerts
        if now == T0 + 14 * D
    )


# -- stage-stuck ------------------------------------------------------------------------

STUCK = "escalation:stage-stuck:rollout:42:canary"


def at_staging(**changes: object) -> Rollout:
    """Every client on staging since T0; all but cirrus have reported (and tested) canary."""
    reports = tuple(report(c, "canary", T0) for c in CLIENTS if c != "cirrus")
    positions = {c: 1 for c in CLIENTS} | {"cirrus": 0}
    rollout = Rollout(
        42, CLIENTS, T0, stage_index=0, positions=positions,
        stage_entered_at={"staging": T0}, reports=reports,
    )  # fmt: skip
    return replace(rollout, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rollout", "now", "fired"),
    [
        (at_staging(), T0 + 4 * D, [STUCK]),
        (at_staging(), T0 + 4 * D - H, []),
        (at_staging(pauses=(("INC-1", "fork"),)), T0 + 9 * D, []),
        (at_staging(completed_at=T0), T0 + 9 * D, []),
        (at_staging(stage_index=-1, stage_entered_at={}), T0 + 9 * D, []),
        (at_staging(stage_index=2, stage_entered_at={"production": T0}), T0 + 30 * D, []),
        (at_staging(stage_entered_at={}), T0 + 9 * D, []),
    ],
    ids=["stuck", "within-grace", "paused", "completed", "pending", "last-stage", "clock-stopped"],
)
def test_stage_stuck(rollout: Rollout, now: datetime, fired: list[str]) -> None:
    """A stage past the next stage's soak plus `after`, whose gates still fail, escalates."""
    assert keys(check(Snapshot(rollouts=(rollout,)), FULL, now)) == fired


def test_stage_stuck_lists_the_failing_gates_and_uses_the_facts() -> None:
    """The alert lists what blocks; once the gates pass (with the snapshot's facts) it is quiet."""
    rollout = at_staging()
    (alert,) = check(Snapshot(rollouts=(rollout,)), FULL, T0 + 4 * D)
    assert alert.text.startswith(
        "#42 has been on staging since 2026-03-02 09:00 UTC, past its soak, and cannot enter "
        "canary:\n- cirrus has not reported a release for canary\n"
    )
    assert alert.text.endswith(
        "- risk: likelihood and impact were not recorded; "
        "advancing past staging needs an override by coordinators"
    )
    ready = replace(
        rollout,
        positions={c: 1 for c in CLIENTS},
        reports=tuple(report(c, "canary", T0) for c in CLIENTS),
        checks=tuple(check_run(c, "canary", "interop-matrix", "success", T0) for c in CLIENTS),
    )
    facts = {42: GateFacts(risk=Assessment(2, 2))}
    assert check(Snapshot(rollouts=(ready,), facts=facts), FULL, T0 + 4 * D) == ()


# -- activation-unreachable -------------------------------------------------------------


def unreachable(target: datetime) -> str:
    return f"escalation:activation-unreachable:proposal:42:{target.isoformat()}"


CANARY_AT_3D = Rollout(
    42, CLIENTS, T0, stage_index=1, stage_entered_at={"staging": T0, "canary": T0 + 3 * D}
)


@pytest.mark.parametrize(
    ("status", "rollouts", "now", "text"),
    [
        (proposal("accepted", decided_at=T0, activation_at=T0 + 20 * D), (), T0,
         "it is less than 21d after the decision (2026-03-02 09:00 UTC)"),
        (proposal("accepted", decided_at=T0, activation_at=T0 + 22 * D), (), T0, None),
        (proposal("accepted", decided_at=T0, activation_at=T0 + 22 * D), (), T0 + 5 * D,
         "production cannot be reached before 2026-03-24 09:00 UTC with 2d to spare"),
        (proposal("accepted", decided_at=T0, activation_at=T0 + 4 * D), (), T0,
         "it is less than 21d after the decision (2026-03-02 09:00 UTC); "
         "production cannot be reached before 2026-03-19 09:00 UTC with 2d to spare"),
        (proposal("rolling-out", decided_at=T0, activation_at=T0 + 21 * D), (CANARY_AT_3D,),
         T0 + 10 * D, None),
        (proposal("rolling-out", decided_at=T0 - 5 * D, activation_at=T0 + 18 * D),
         (CANARY_AT_3D,),
         T0 + 10 * D, "production cannot be reached before 2026-03-19 09:00 UTC with 2d to spare"),
        (replace(proposal("accepted", activation_at=T0 + D), track="feature-flag"), (), T0,
         "production cannot be reached before 2026-03-19 09:00 UTC with 2d to spare"),
        (replace(proposal("accepted", decided_at=T0, activation_at=T0 + D), track="retired"), (),
         T0, "production cannot be reached before 2026-03-19 09:00 UTC with 2d to spare"),
        (proposal("accepted", activation_at=T0 + 20 * D), (), T0, None),
        (proposal("review", decided_at=T0, activation_at=T0 + D), (), T0, None),
        (proposal("accepted", decided_at=T0), (), T0, None),
    ],
    ids=["too-soon-after-decision", "fits", "soaks-too-long", "both", "on-canary-fits",
         "on-canary-late", "track-without-minimum", "unknown-track", "undecided",
         "not-accepted", "no-target"],
)  # fmt: skip
def test_activation_unreachable(
    status: ProposalStatus, rollouts: tuple[Rollout, ...], now: datetime, text: str | None
) -> None:
    """The target must be decision + min_activation_after_decision or later, and production must
    be reachable (the soaks ahead) with `after` to spare."""
    snapshot = Snapshot(proposals=(status,), rollouts=rollouts)
    alerts = tuple(a for a in check(snapshot, FULL, now) if ":activation-unreachable:" in a.key)
    if text is None:
        assert alerts == ()
    else:
        assert status.activation_at is not None
        assert alerts == (
            Notify(
                COORDINATORS,
                f"#42's activation target {status.activation_at:%Y-%m-%d %H:%M} UTC "
                f"no longer fits: {text}",
                unreachable(status.activation_at),
            ),
        )


@pytest.mark.parametrize(
    ("after", "said"),
    [
        ("0d", "production cannot be reached before 2026-03-19 09:00 UTC"),
        ("12h", "production cannot be reached before 2026-03-19 09:00 UTC with 12h to spare"),
    ],
)
def test_activation_margin(after: str, said: str) -> None:
    """`after` is the margin production must leave before the target; 0d means none."""
    charter = charter_with({"when": "activation-unreachable", "after": after, "notify": ["x"]})
    status = proposal("accepted", activation_at=T0 + 17 * D - H)
    (alert,) = check(Snapshot(proposals=(status,)), charter, T0)
    assert alert.text.endswith(said)
    later = replace(status, activation_at=T0 + 17 * D + 12 * H)
    assert check(Snapshot(proposals=(later,)), charter, T0) == ()


@pytest.mark.parametrize(
    ("rollout", "now", "expected"),
    [
        (None, T0, T0 + 17 * D),
        (Rollout(42, CLIENTS, T0), T0 + D, T0 + 18 * D),
        (Rollout(42, CLIENTS, T0, stage_index=0, stage_entered_at={"staging": T0}), T0 + D,
         T0 + 17 * D),
        (Rollout(42, CLIENTS, T0, stage_index=0), T0 + D, T0 + 18 * D),
        (CANARY_AT_3D, T0 + 10 * D, T0 + 17 * D),
        (Rollout(42, CLIENTS, T0, stage_index=2, stage_entered_at={"production": T0}), T0 + D, T0),
    ],
    ids=["nothing", "pending", "staging", "staging-clock-stopped", "canary", "production"],
)  # fmt: skip
def test_earliest_production(rollout: Rollout | None, now: datetime, expected: datetime) -> None:
    """Production is reached once the soaks ahead have run, from the current stage's clock."""
    assert earliest_production(rollout, REFERENCE, now) == expected


# -- once per condition -----------------------------------------------------------------


def test_each_condition_notifies_once_across_ticks() -> None:
    """Ticking hourly for three weeks, each condition's key fires exactly once."""
    snapshot = Snapshot(
        proposals=(
            proposal("review", review_started_at=T0),
            replace(proposal("accepted", decided_at=T0, activation_at=T0 + 20 * D), number=43),
        ),
        rollouts=(at_staging(),),
    )
    fired: set[str] = set()
    sent: list[str] = []
    for hour in range(21 * 24):
        for alert in new_alerts(check(snapshot, FULL, T0 + hour * H), fired):
            fired.add(alert.key)
            sent.append(alert.key)
    assert sent == [
        unreachable(T0 + 20 * D).replace(":42:", ":43:"),
        QUIET,
        STUCK,
        IDLE.replace(":42", ":43"),
    ]


def test_new_alerts_skips_fired_and_repeated_keys() -> None:
    """An alert whose key fired before, or appears twice in one batch, is sent once."""
    a, b, c = Notify(("r",), "a", "k1"), Notify(("r",), "b", "k2"), Notify(("r",), "c", "k1")
    assert new_alerts((a, b, c), {"k2"}) == (a,)
    assert new_alerts((a, b, c), ()) == (a, b)


@pytest.mark.parametrize(("version", "fires"), [(3, False), (4, True)])
def test_activation_floor_is_the_version_the_proposal_was_opened_under(
    version: int, fires: bool
) -> None:
    """v4 raises protocol-change's min_activation_after_decision from 21d to 30d; a proposal
    opened under v3 keeps 21d (a 22-day target is fine), one opened under v4 does not."""
    data = reference_data()
    data["charter"]["version"] = 4
    data["tracks"]["protocol-change"]["min_activation_after_decision"] = "30d"
    data["escalation"] = [{"when": "activation-unreachable", "after": "0d", "notify": ["x"]}]
    live = keeping(Charter.model_validate(data), {3: FULL})
    status = replace(
        proposal("accepted", decided_at=T0, activation_at=T0 + 22 * D), charter_version=version
    )
    alerts = [a for a in check(Snapshot(proposals=(status,)), live, T0) if "activation" in a.key]
    assert bool(alerts) is fires
