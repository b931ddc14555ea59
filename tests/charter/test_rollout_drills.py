"""Recording a rollback drill: accepted, refused, audited, announced and answered."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from charter import drills
from charter.effects import Announce, Audit, Reply, SyncTracking
from charter.rollout_drills import report_drill, schedule_drill
from charter.rollout_facts import DrillReport, PlannedDrill, Rollout
from tests.charter.rollout_support import T0, H, reference, report, rollout_at
from tests.charter.test_drills import CHARTER, REPORTS, M, drilled

ON_CANARY = rollout_at(1, reports=REPORTS)


def drill(
    took: timedelta | None = 12 * M,
    *,
    client: str = "aurora",
    stage: str = "canary",
    notes: str = "",
) -> DrillReport:
    return DrillReport(client, stage, took, notes, "alice-aurora", T0 + 3 * H)


def replies(effects: tuple[object, ...]) -> list[tuple[str, bool]]:
    return [(e.text, e.ok) for e in effects if isinstance(e, Reply)]


@pytest.mark.parametrize(
    ("entry", "outcome", "reply"),
    [
        (
            drill(),
            "pass",
            "recorded aurora's rollback drill on canary (1.4.0): recovered in 12m — pass (production allows 30m)",
        ),
        (
            drill(45 * M, notes="slow disk"),
            "slow",
            "recorded aurora's rollback drill on canary (1.4.0): recovered in 45m — slow (production allows 30m)",
        ),
        (
            drill(None, notes="state db corrupt"),
            "fail",
            "recorded aurora's rollback drill on canary (1.4.0): failed: state db corrupt — fail (production allows 30m)",
        ),
    ],
)
def test_a_drill_is_recorded_audited_announced_and_answered(
    entry: DrillReport, outcome: str, reply: str
) -> None:
    decision = report_drill(ON_CANARY, CHARTER, entry)
    assert decision.rollout.drills == (replace(entry, release="1.4.0"),)
    assert decision.rollout.positions == ON_CANARY.positions  # nothing moves
    audit, announce, sync, answer = decision.effects
    assert audit == Audit(
        "drill-reported",
        "rollout:42",
        {
            "client": "aurora",
            "stage": "canary",
            "release": "1.4.0",
            "recovered": None if entry.recovered is None else f"{int(entry.recovered / M)}m",
            "outcome": outcome,
            "notes": entry.notes,
            "by": "alice-aurora",
        },
    )
    assert isinstance(announce, Announce)
    assert announce.kind == "rollout"
    assert announce.title == f"#42 rollback drill: aurora on canary — {outcome}"
    assert announce.text.startswith(
        "aurora's rollback drill on canary (1.4.0), reported by alice-aurora: "
    )
    assert "Rollout of #42 — stage: canary" in announce.text  # the matrix follows
    assert announce.clients == ("aurora",)  # the drill is about aurora alone
    assert sync == SyncTracking(42)
    assert answer == Reply(reply)


def test_the_drill_keeps_the_release_it_rehearsed() -> None:
    newer = replace(
        ON_CANARY, reports=(*REPORTS, report("aurora", "canary", T0 + 2 * H, version="1.4.1"))
    )
    assert report_drill(newer, CHARTER, drill()).rollout.drills[0].release == "1.4.1"


def test_a_confidential_rollout_announces_its_drills_as_confidential() -> None:
    secret = replace(ON_CANARY, confidential=True)
    announce = next(
        e for e in report_drill(secret, CHARTER, drill()).effects if isinstance(e, Announce)
    )
    assert announce.confidential


def test_a_drill_no_stage_requires_is_recorded_and_says_it_gates_nothing() -> None:
    decision = report_drill(ON_CANARY, reference(), drill())
    assert replies(decision.effects) == [
        (
            "recorded aurora's rollback drill on canary (1.4.0): recovered in 12m — pass; note: no stage of this charter requires a rollback drill on canary, so it gates nothing",
            True,
        )
    ]


def test_two_stages_requiring_one_drill_stage_are_both_named_and_the_strictest_limit_scores() -> (
    None
):
    charter = drilled(
        canary={"stage": "staging", "recover_within": "1h"},
        production={"stage": "staging", "recover_within": "20m"},
    )
    decision = report_drill(ON_CANARY, charter, drill(30 * M, stage="staging"))
    [(text, _)] = replies(decision.effects)
    assert text.endswith("recovered in 30m — slow (canary, production allows 20m)")


def test_a_paused_or_completed_rollout_still_takes_drills() -> None:
    paused = replace(ON_CANARY, pauses=(("", "held by ines-coord: freeze"),))
    assert report_drill(paused, CHARTER, drill()).rollout.drills
    done = replace(rollout_at(2, reports=REPORTS), completed_at=T0 + 9 * H)
    assert report_drill(done, CHARTER, drill()).rollout.drills


@pytest.mark.parametrize(
    ("rollout", "entry", "why"),
    [
        (
            ON_CANARY,
            drill(client="zephyr"),
            "zephyr is not in the rollout of #42 (aurora, borealis, cirrus, dorado, eridanus)",
        ),
        (
            rollout_at(0, reports=REPORTS[:5]),
            drill(),
            "aurora has not reported a release for canary: a rollback drill rehearses reverting the release it runs there; report it first: /charter ready 42 aurora canary <version>",
        ),
        (
            replace(ON_CANARY, positions={**ON_CANARY.positions, "aurora": 0}),
            drill(),
            "aurora was rolled back from canary: report the release it runs there again (/charter ready 42 aurora canary <version>), then drill its rollback",
        ),
    ],
)
def test_a_drill_the_rollout_cannot_take_now_is_refused(
    rollout: Rollout, entry: DrillReport, why: str
) -> None:
    decision = report_drill(rollout, CHARTER, entry)
    assert decision.rollout is rollout
    assert replies(decision.effects) == [(why, False)]
    # In a GitHub comment the hint is the comment form: the issue is the proposal.
    commented = report_drill(rollout, CHARTER, entry, comment=True)
    comment_form = why.replace("/charter ready 42 aurora", "/ready aurora")
    assert replies(commented.effects) == [(comment_form, False)]
    assert "`" not in why  # plain text: each surface escapes it, no markup to show escaped


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            drill(stage="mainnet"),
            "unknown stage 'mainnet'; the charter's stages are staging, canary, production",
        ),
        (
            drill(None, notes="  "),
            'a failed rollback drill needs what went wrong, e.g. failed "the node did not resync after the downgrade"',
        ),
        (
            drill(timedelta(0)),
            "a recovery takes some time: write how long it took, e.g. 45s or 12m",
        ),
    ],
)
def test_a_drill_that_can_never_be_right_raises(entry: DrillReport, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        report_drill(ON_CANARY, CHARTER, entry)


PLAN = PlannedDrill("eridanus", "canary", T0 + 48 * H, "hana-eridanus", T0 + 3 * H)


def test_a_planned_drill_is_audited_announced_and_answered() -> None:
    decision = report_drill(ON_CANARY, CHARTER, drill())  # another client's drill changes nothing
    planned = schedule_drill(decision.rollout, CHARTER, PLAN)
    assert planned.rollout.planned_drills == (PLAN,)
    audit, announce, sync, answer = planned.effects
    assert audit == Audit(
        "drill-scheduled",
        "rollout:42",
        {
            "client": "eridanus",
            "stage": "canary",
            "at": "2026-03-04T09:00:00+00:00",
            "by": "hana-eridanus",
        },
    )
    assert isinstance(announce, Announce)
    assert announce.title == "#42 rollback drill planned: eridanus on canary"
    assert announce.text.startswith(
        "eridanus's rollback drill on canary is planned for Wed 2026-03-04 09:00 UTC by hana-eridanus."
    )
    assert announce.data["drill_at"] == "2026-03-04T09:00:00+00:00"  # "When": the drill's time
    assert sync == SyncTracking(42)
    assert answer == Reply(
        "planned eridanus's rollback drill on canary for Wed 2026-03-04 09:00 UTC"
    )
    assert drills.planned(planned.rollout, "eridanus", "canary") == PLAN


def test_a_plan_no_stage_requires_says_it_gates_nothing_and_strangers_are_refused() -> None:
    staging = replace(PLAN, stage="staging")
    [*_, answer] = schedule_drill(ON_CANARY, CHARTER, staging).effects
    assert answer == Reply(
        "planned eridanus's rollback drill on staging for Wed 2026-03-04 09:00 UTC; note: no stage"
        " of this charter requires a rollback drill on staging, so it gates nothing. eridanus is"
        " already past staging; the drill rehearses rolling back there."
    )
    refused = schedule_drill(ON_CANARY, CHARTER, replace(PLAN, client="zephyr"))
    assert refused.rollout is ON_CANARY
    assert replies(refused.effects) == [
        ("zephyr is not in the rollout of #42 (aurora, borealis, cirrus, dorado, eridanus)", False)
    ]
    with pytest.raises(ValueError, match="unknown stage 'mainnet'"):
        schedule_drill(ON_CANARY, CHARTER, replace(PLAN, stage="mainnet"))


READ = "Wed 2026-03-04 10:00 Europe/Berlin = Wed 2026-03-04 09:00 UTC"
FOR = "planned eridanus's rollback drill on canary for Wed 2026-03-04 09:00 UTC"
PAST = "eridanus is already past canary; the drill rehearses rolling back there."


@pytest.mark.parametrize(
    ("position", "read_as", "reply"),
    [
        (1, "", FOR),  # on the planned stage: nothing to add
        (0, "", FOR),  # not there yet
        (-1, "", FOR),  # not started
        (2, "", f"{FOR}. {PAST}"),  # on production, past canary
        (1, READ, f"{FOR}. Read as {READ}."),
        (2, READ, f"{FOR}. {PAST} Read as {READ}."),
    ],
)
def test_a_plans_reply_notes_a_stage_already_passed_and_how_its_time_was_read(
    position: int, read_as: str, reply: str
) -> None:
    rollout = replace(ON_CANARY, positions={**ON_CANARY.positions, "eridanus": position})
    [*_, answer] = schedule_drill(rollout, CHARTER, PLAN, read_as=read_as).effects
    assert answer == Reply(reply)


@pytest.mark.parametrize(
    ("plans", "reported", "expected"),
    [
        ((), (), None),
        ((PLAN,), (), PLAN),
        ((PLAN,), (drill(client="eridanus"),), None),  # reported at the moment it was planned
        ((PLAN,), (replace(drill(client="eridanus"), at=T0 + 2 * H),), PLAN),  # an older drill
        ((PLAN,), (drill(client="aurora"),), PLAN),  # another client's
        (
            (PLAN, replace(PLAN, at=T0 + 72 * H, planned_at=T0 + 4 * H)),
            (drill(client="eridanus"),),
            replace(PLAN, at=T0 + 72 * H, planned_at=T0 + 4 * H),
        ),
    ],
)
def test_planned_is_the_latest_plan_until_a_drill_is_reported(
    plans: tuple[PlannedDrill, ...],
    reported: tuple[DrillReport, ...],
    expected: PlannedDrill | None,
) -> None:
    rollout = replace(ON_CANARY, planned_drills=plans, drills=reported)
    assert drills.planned(rollout, "eridanus", "canary") == expected
