"""A drill's cell says why it failed, by how much it was slow, and why an outdated one no longer
counts: in chat (``drill_mark``) and on the dashboard (visible lines, not only a tooltip)."""

# ruff: noqa: E501  (expected lines quote whole cells)

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.messages import plain_text
from bot.rollout_views import rollout_message, rollout_view
from bot.web.app import environment
from charter.rollout_facts import DrillReport, PlannedDrill
from tests.charter.rollout_support import T0, H, report
from tests.charter.test_drills import CHARTER, M, on_canary

LONG = "the node did not start: its database was already migrated to the new schema, and the old binary refused it"


def view(took: timedelta | None, notes: str = "", *, replaced: bool = False) -> dict[str, Any]:
    entry = DrillReport("aurora", "canary", took, notes, "alice-aurora", T0 + 3 * H, "1.4.0")
    rollout = on_canary(entry)
    if replaced:
        later = report("aurora", "canary", T0 + 4 * H, version="1.4.1")
        rollout = replace(rollout, reports=(*rollout.reports, later))
    return rollout_view(rollout, CHARTER)


def aurora_line(v: dict[str, Any]) -> str:
    return next(
        line for line in plain_text(rollout_message(v)).splitlines() if line.startswith("aurora:")
    )


def cell_html(v: dict[str, Any]) -> str:
    html = str(environment().get_template("_macros.html").module.matrix(v))  # type: ignore[attr-defined]
    return re.sub(r"\s+", " ", html)


@pytest.mark.parametrize(
    ("took", "notes", "replaced", "mark"),
    [
        (12 * M, "", False, "drill=pass 12m"),
        (
            timedelta(minutes=30, seconds=45),
            "",
            False,
            "drill=slow 30m45s (the charter allows 30m)",
        ),
        (None, "state db corrupt", False, "drill=fail (state db corrupt)"),
        (
            None,
            LONG,
            False,
            "drill=fail (the node did not start: its database was already migrated to the new schema…)",
        ),
        (12 * M, "", True, "drill=pass 12m (outdated)"),
    ],
)
def test_the_chat_matrix_says_why_a_drill_failed_or_was_slow(
    took: timedelta | None, notes: str, replaced: bool, mark: str
) -> None:
    line = aurora_line(view(took, notes, replaced=replaced))
    canary = next(part for part in line.split(" · ") if part.startswith("canary "))
    assert canary.endswith(f" {mark}")


def test_the_dashboard_shows_the_limit_a_slow_drill_exceeded() -> None:
    html = cell_html(view(timedelta(minutes=30, seconds=45)))
    assert "rollback drill: slow (30m45s)" in html
    assert (
        '<span class="note drill-why" data-testid="drill-why">the charter allows 30m</span>' in html
    )


def test_the_dashboard_shows_what_went_wrong_shortened_with_the_whole_text_one_click_away() -> None:
    html = cell_html(view(None, LONG))
    assert (
        '<details class="note drill-why" data-testid="drill-why"><summary>what went wrong: the node did not start:'
        f" its database was already migrated to the new schema…</summary>{LONG}</details>"
    ) in html
    short = cell_html(view(None, "state db corrupt"))
    assert (
        '<span class="note drill-why" data-testid="drill-why">what went wrong: state db corrupt</span>'
        in short
    )


def test_the_dashboard_says_why_an_outdated_drill_no_longer_counts() -> None:
    html = cell_html(view(12 * M, replaced=True))
    assert (
        '<details class="note drill-stale-why" data-testid="drill-stale"><summary>why it no longer counts</summary>'
        "aurora&#39;s rollback drill on canary was of 1.4.0, and 1.4.1 was reported there since</details>"
    ) in html
    assert "drill-why" not in cell_html(view(12 * M))  # a pass that counts says nothing more


@pytest.mark.parametrize("state", ["rolled-back", ""])
def test_a_plan_of_a_rollout_that_is_over_is_not_shown(state: str) -> None:
    plan = PlannedDrill("eridanus", "canary", T0 + 48 * H, "hana-eridanus", T0 + 3 * H)
    rollout = replace(on_canary(), planned_drills=(plan,))
    if not state:  # completed
        rollout = replace(rollout, completed_at=T0 + 9 * H)
    cells = rollout_view(rollout, CHARTER, state=state)["matrix"]
    assert [c["planned_drill"] for c in cells if c["planned_drill"]] == []
    assert [
        c
        for c in rollout_view(replace(rollout, completed_at=None), CHARTER)["matrix"]
        if c["planned_drill"]
    ]


PLANNED = PlannedDrill("eridanus", "canary", T0 + 48 * H, "hana-eridanus", T0 + 3 * H)


@pytest.mark.parametrize(
    ("now", "overdue"),
    [
        (None, False),  # no clock given: nothing is marked
        (T0 + 47 * H, False),  # before the drill's time
        (T0 + 48 * H, True),  # its time has come and no drill was reported
        (T0 + 72 * H, True),
    ],
)
def test_a_plan_past_its_time_and_unreported_is_shown_overdue(
    now: datetime | None, overdue: bool
) -> None:
    v = rollout_view(replace(on_canary(), planned_drills=(PLANNED,)), CHARTER)
    [line] = [
        line
        for line in plain_text(rollout_message(v, now)).splitlines()
        if line.startswith("eridanus:")
    ]
    assert "drill planned 2026-03-04T09:00Z" in line
    assert ("drill planned 2026-03-04T09:00Z (overdue)" in line) is overdue, line
    html = str(environment().get_template("_macros.html").module.matrix(v, now))  # type: ignore[attr-defined]
    assert ("(overdue)" in html) is overdue, html
    reported = DrillReport("eridanus", "canary", 12 * M, "", "hana-eridanus", T0 + 49 * H, "1.4.0")
    done = rollout_view(replace(on_canary(reported), planned_drills=(PLANNED,)), CHARTER)
    assert "drill planned" not in plain_text(rollout_message(done, T0 + 72 * H))  # reported
