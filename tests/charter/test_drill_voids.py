"""A ``ready`` report that voids a client's rollback drill says so; one of the same release keeps it."""

# ruff: noqa: E501  (table rows quote whole reply sentences; wrapping them hides typos)

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from charter import drills
from charter.effects import Announce, Reply
from charter.rollout import matrix, report_ready
from charter.rollout_drills import report_drill, schedule_drill
from charter.rollout_facts import DrillReport, PlannedDrill, ReadyReport
from tests.charter.rollout_support import T0, H, report, rollout_at
from tests.charter.test_drills import CHARTER, REPORTS, M

KEPT = DrillReport("aurora", "canary", 12 * M, "", "alice-aurora", T0 + 3 * H, "1.4.0")
ON_CANARY = replace(rollout_at(1, reports=REPORTS), drills=(KEPT,))
CANARY = next(r for r in REPORTS if r.client == "aurora" and r.stage == "canary")
NOTICE = "aurora's rollback drill on canary no longer counts: drill again"


def again(version: str = "1.4.0", ref: str | None = None, stage: str = "canary") -> ReadyReport:
    return report("aurora", stage, T0 + 4 * H, version=version, ref=ref)


@pytest.mark.parametrize(
    ("entry", "voids"),
    [
        (again(), ()),  # the same version without a ref
        (again(ref=CANARY.ref), ()),  # the same version and ref
        (again(ref=(CANARY.ref or "")[:12]), ()),  # the ref abbreviated
        (again("1.4.1"), (NOTICE,)),
        (again(ref="f" * 40), (NOTICE,)),  # another build of 1.4.0
        (again("1.4.1", stage="staging"), ()),  # another stage's report
    ],
)
def test_voided_names_the_drills_a_report_voided(
    entry: ReadyReport, voids: tuple[str, ...]
) -> None:
    after = replace(ON_CANARY, reports=(*ON_CANARY.reports, entry))
    assert drills.voided(ON_CANARY, after, CHARTER, "aurora") == voids
    assert drills.voided(ON_CANARY, after, CHARTER, "borealis") == ()  # no drill: nothing voided


def test_a_drill_already_outdated_is_not_voided_again() -> None:
    outdated = replace(ON_CANARY, reports=(*ON_CANARY.reports, again("1.4.1")))
    after = replace(
        outdated,
        reports=(*outdated.reports, report("aurora", "canary", T0 + 5 * H, version="1.4.2")),
    )
    assert drills.voided(outdated, after, CHARTER, "aurora") == ()


def test_a_ready_report_that_voids_a_drill_says_so_in_its_reply_and_announcement() -> None:
    decision = report_ready(ON_CANARY, CHARTER, again("1.4.1"))
    [reply] = [e for e in decision.effects if isinstance(e, Reply)]
    assert reply.text == f"recorded aurora 1.4.1 for canary; {NOTICE}"
    [announced] = [e for e in decision.effects if isinstance(e, Announce)]
    assert announced.title == "#42 rollback drill no longer counts: aurora"
    assert announced.text.startswith(f"aurora reported 1.4.1 for canary: {NOTICE}.\n\n")
    found = drills.standing(decision.rollout, CHARTER, "aurora", "canary")
    assert found is not None and not found.counts


def test_a_ready_report_adding_the_ref_keeps_the_drill_and_says_nothing_of_it() -> None:
    without = replace(ON_CANARY, reports=tuple(replace(r, ref=None) for r in ON_CANARY.reports))
    decision = report_ready(without, CHARTER, again(ref="a" * 40))
    [reply] = [e for e in decision.effects if isinstance(e, Reply)]
    assert reply.text == "recorded aurora 1.4.0@aaaaaaaaaaaa for canary"
    assert not [e for e in decision.effects if isinstance(e, Announce)]
    found = drills.standing(decision.rollout, CHARTER, "aurora", "canary")
    assert found is not None and found.counts


# -- what a cell says under a drill's score --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("state db corrupt", "state db corrupt"),
        ("  state db\n corrupt  ", "state db corrupt"),
        ("x" * 80, "x" * 80),
        (
            "the node did not resync after the downgrade, because the snapshot was taken too late; restore",
            "the node did not resync after the downgrade, because the snapshot was taken…",
        ),
        ("y" * 100, "y" * 79 + "…"),  # no word boundary: cut mid-word
    ],
)
def test_shorten_cuts_at_a_word_boundary(text: str, shown: str) -> None:
    assert drills.shorten(text) == shown
    assert len(drills.shorten(text)) <= drills.WHY_LIMIT


@pytest.mark.parametrize(
    ("took", "notes", "expected"),
    [
        (12 * M, "", ""),
        (45 * M, "slow disk", "the charter allows 30m"),
        (None, "state db corrupt", "state db corrupt"),
    ],
)
def test_why_says_what_went_wrong_or_the_limit_exceeded(
    took: timedelta | None, notes: str, expected: str
) -> None:
    entry = replace(KEPT, recovered=took, notes=notes)
    rollout = replace(ON_CANARY, drills=(entry,))
    found = drills.standing(rollout, CHARTER, "aurora", "canary")
    assert found is not None
    assert drills.why(found) == expected


# -- plans, announcements ---------------------------------------------------------------------

PLAN = PlannedDrill("eridanus", "canary", T0 + 48 * H, "hana-eridanus", T0 + 3 * H)


def test_a_plan_of_a_completed_rollout_is_no_longer_shown() -> None:
    rollout = replace(ON_CANARY, planned_drills=(PLAN,))
    assert drills.planned(rollout, "eridanus", "canary") == PLAN
    done = replace(rollout, completed_at=T0 + 9 * H)
    assert drills.planned(done, "eridanus", "canary") is None


def test_a_second_plan_says_which_plan_it_replaces() -> None:
    first = schedule_drill(ON_CANARY, CHARTER, PLAN)
    later = replace(PLAN, at=T0 + 72 * H, planned_at=T0 + 4 * H)
    second = schedule_drill(first.rollout, CHARTER, later)
    [reply] = [e for e in second.effects if isinstance(e, Reply)]
    assert reply.text == (
        "planned eridanus's rollback drill on canary for Thu 2026-03-05 09:00 UTC;"
        " it replaces the plan for Wed 2026-03-04 09:00 UTC"
    )
    [announced] = [e for e in second.effects if isinstance(e, Announce)]
    assert "it replaces the plan for Wed 2026-03-04 09:00 UTC." in announced.text
    [once] = [e for e in first.effects if isinstance(e, Reply)]
    assert "replaces" not in once.text


def test_announcements_show_the_drills_in_the_matrix() -> None:
    rollout = replace(
        ON_CANARY,
        drills=(KEPT, replace(KEPT, client="cirrus", recovered=None, notes="no resync")),
        planned_drills=(PLAN,),
    )
    decision = report_drill(rollout, CHARTER, replace(KEPT, client="borealis", recovered=45 * M))
    [announced] = [e for e in decision.effects if isinstance(e, Announce)]
    rows = {
        line.split(" | ")[0].strip(): line for line in announced.text.splitlines() if " | " in line
    }
    assert "drill=pass 12m" in rows["aurora"]
    assert "drill=slow 45m (the charter allows 30m)" in rows["borealis"]
    assert "drill=fail (no resync)" in rows["cirrus"]
    assert "drill planned 2026-03-04 09:00 UTC" in rows["eridanus"]
    assert "drill=" not in rows["dorado"]


def test_a_cell_without_a_release_shows_a_plan_and_an_outdated_drill_says_so() -> None:
    early = replace(PLAN, stage="production")
    rollout = replace(
        ON_CANARY, planned_drills=(early,), reports=(*ON_CANARY.reports, again("1.4.1"))
    )
    table = drills.marked(matrix(rollout, CHARTER), rollout, CHARTER)
    assert table.cell("eridanus", "production").text() == "— drill planned 2026-03-04 09:00 UTC"
    assert table.cell("aurora", "canary").text().endswith(" drill=pass 12m (outdated)")
