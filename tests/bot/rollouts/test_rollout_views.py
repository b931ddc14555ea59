"""Rollout views: the JSON view, its chat rendering, the inventory and the retrospective."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.messages import When, plain_text
from bot.rollout_retrospective import retrospective_body, stage_times
from bot.rollout_views import (
    earlier_versions,
    inventory_message,
    next_stage,
    rollout_message,
    rollout_view,
)
from charter.gates import GateResult
from charter.incident_facts import Incident
from charter.load import load_charter
from charter.rollout import CheckResult, Override, ReadyReport, RollbackRecord, Rollout
from charter.rollout_facts import DrillReport
from tests.paths import reference_charter_text

T = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
CHARTER = load_charter(reference_charter_text()).charter


def report(
    client: str, stage: str, version: str, at: datetime, ref: str | None = "abc1234"
) -> ReadyReport:
    return ReadyReport(client, stage, version, ref, "", f"{client}-dev", at)


ON_STAGING = Rollout(
    proposal=4,
    clients=("aurora", "dorado"),
    started_at=T,
    stage_index=0,
    positions={"aurora": 1, "dorado": 0},
    stage_entered_at={"staging": T + H},
    reports=(
        report("aurora", "staging", "1.0", T),
        report("dorado", "staging", "3.0", T + H, ref=None),
        report("aurora", "canary", "1.1", T + 2 * H),
    ),
    checks=(CheckResult("aurora", "interop-matrix", "abc1234ff", "success", T),),
)
GATES = (
    GateResult("require_ready", False, "dorado has not reported a release for canary"),
    GateResult(
        "soak", False, "soak: staging has run 2h of 72h with every client on it (70h to go)"
    ),
    GateResult(
        "block_on_incident", True, "no open incident of sev2 or worse concerns this rollout"
    ),
)


def test_the_view_is_json_and_holds_every_cell() -> None:
    """The view serialises as JSON; one cell per client × stage with version, ref and checks."""
    view = rollout_view(ON_STAGING, CHARTER, gates=GATES, title="Gas", state="rolling-out")
    assert json.loads(json.dumps(view)) == view
    assert len(view["matrix"]) == 2 * 3
    canary = next(c for c in view["matrix"] if (c["client"], c["stage"]) == ("aurora", "canary"))
    assert canary == {
        "client": "aurora",
        "stage": "canary",
        "version": "1.1",
        "ref": "abc1234",
        "reported_at": "2026-06-01T11:00:00Z",
        "on": True,
        "checks": [{"name": "interop-matrix", "status": "success"}],
        "drill": None,  # no rollback drill reported there
        "planned_drill": None,  # nor planned
    }
    assert view["next_stage"] == "canary"
    assert view["can_advance"] is False


@pytest.mark.parametrize(
    ("rollout", "gates", "can"),
    [
        (ON_STAGING, (GateResult("soak", True, "ok"),), True),
        (ON_STAGING, GATES, False),
        (Rollout(4, ("aurora",), T, pauses=(("1", "fork"),), stage_index=0), (), False),
        (Rollout(4, ("aurora",), T), (), False),  # pending: the first stage is entered by reports
        (Rollout(4, ("aurora",), T, stage_index=2), (), False),  # nothing after production
    ],
)
def test_can_advance_only_when_every_gate_passes(
    rollout: Rollout, gates: tuple[GateResult, ...], can: bool
) -> None:
    """``can_advance`` is true only on a stage with a next one, unpaused, every gate passing."""
    assert rollout_view(rollout, CHARTER, gates=gates)["can_advance"] is can


@pytest.mark.parametrize(
    ("rollout", "expected"),
    [
        (Rollout(4, ("aurora",), T), "staging"),
        (ON_STAGING, "canary"),
        (Rollout(4, ("aurora",), T, stage_index=2), None),
        (Rollout(4, ("aurora",), T, stage_index=1, completed_at=T), None),
    ],
)
def test_next_stage(rollout: Rollout, expected: str | None) -> None:
    """The stage ``advance`` would enter; none after the last stage or once completed."""
    assert next_stage(rollout, CHARTER) == expected


def test_the_message_shows_matrix_gates_and_exceptions() -> None:
    """One line per client (times as ``When``), then each gate with PASS/FAIL and its reason."""
    held = ON_STAGING.__class__(
        **{
            **ON_STAGING.__dict__,
            "pauses": (("1", "incident 1 (sev1): fork"),),
            "overrides": (Override("canary", "call agreed", "ines-coord", T, ("risk",)),),
            "rollbacks": (RollbackRecord(("dorado",), "bad build", "fatima-dorado", T),),
        }
    )
    message = rollout_message(rollout_view(held, CHARTER, gates=GATES))
    assert message.title == "#4 rollout — stage: staging (paused)"
    assert When(T + 2 * H) in message.lines[0]
    assert plain_text(message).splitlines()[1:] == [
        "aurora: staging 1.0@abc1234 (2026-06-01T09:00Z) · canary 1.1@abc1234 (2026-06-01T11:00Z)"
        " interop-matrix=success · production —",
        "dorado: staging 3.0 (2026-06-01T10:00Z) · canary — · production —",
        "Paused: incident 1 (sev1): fork",
        "Gates for canary (failing):",
        "  FAIL require_ready: dorado has not reported a release for canary",
        "  FAIL soak: staging has run 2h of 72h with every client on it (70h to go)",
        "  PASS block_on_incident: no open incident of sev2 or worse concerns this rollout",
        "Override into canary by ines-coord: call agreed",
        "Rollback of dorado by fatima-dorado: bad build",
    ]


def test_a_completed_rollout_says_so_instead_of_gates() -> None:
    """Once every client is on the last stage there is no gate left to show."""
    done = Rollout(4, ("aurora",), T, stage_index=2, positions={"aurora": 2}, completed_at=T + H)
    lines = plain_text(rollout_message(rollout_view(done, CHARTER))).splitlines()
    assert lines[-1] == "Completed: every client is on the last stage since 2026-06-01T10:00Z"


def test_the_inventory_shows_the_latest_version_per_stage_with_history() -> None:
    """Per client and stage: the latest release, for which proposal, since when, and before."""
    reports = [
        (4, report("dorado", "staging", "3.0", T)),
        (4, report("dorado", "staging", "3.0.1", T + H, ref=None)),
        (5, report("aurora", "canary", "1.1", T)),
    ]
    text = plain_text(inventory_message(reports, CHARTER))
    assert text.splitlines() == [
        "Inventory — every rollout",
        "aurora:",
        "  canary: 1.1@abc1234 for #5 since 2026-06-01T09:00Z",
        "dorado:",
        "  staging: 3.0.1 for #4 since 2026-06-01T10:00Z (before: 3.0)",
    ]


@pytest.mark.parametrize(
    ("versions", "shown"),
    [
        ([], ""),
        (["1.0"], "1.0"),
        (["1.0", "1.1"], "1.0, 1.1"),
        (["1.0", "1.1", "1.2"], "+1 earlier, 1.1, 1.2"),
        ([f"1.{k}" for k in range(99)], "+97 earlier, 1.97, 1.98"),
    ],
)
def test_earlier_versions_show_the_last_two_and_count_the_rest(
    versions: list[str], shown: str
) -> None:
    """The history names at most the last two earlier versions and counts the ones before."""
    assert earlier_versions(versions) == shown


def test_the_inventory_stays_short_after_a_hundred_releases() -> None:
    """After 100 releases every stage's line still names the current version and at most two
    earlier ones, so the current versions of every client fit in one answer."""
    reports = [
        (100 + k, report(client, stage, f"1.{k}.0", T + k * 24 * H + j * H))
        for k in range(100)
        for client in CHARTER.client_ids
        for j, stage in enumerate(CHARTER.stage_ids)
    ]
    lines = plain_text(inventory_message(reports, CHARTER)).splitlines()
    stage_lines = [line for line in lines if line.startswith("  ")]
    assert len(stage_lines) == len(CHARTER.client_ids) * len(CHARTER.stage_ids)
    for line in stage_lines:
        assert line.endswith("(before: +97 earlier, 1.97.0, 1.98.0)"), line
        assert "1.99.0@abc1234 for #199" in line
        assert len(line) < 120


def test_stage_times_run_from_first_report_to_the_next_stage() -> None:
    """Time on a stage: its first report to the first report for the next stage (or completion)."""
    done = Rollout(
        4,
        ("aurora", "dorado"),
        T,
        reports=(
            report("aurora", "staging", "1", T),
            report("aurora", "staging", "1.0.1", T + 5 * H),
            report("aurora", "canary", "1", T + 80 * H),
            report("aurora", "production", "1", T + 20 * 24 * H),
        ),
        completed_at=T + 21 * 24 * H,
    )
    assert stage_times(done, CHARTER) == {
        "aurora": {"staging": "3d 8h", "canary": "16d 16h", "production": "1d 0h"},
        "dorado": {"staging": "—", "canary": "—", "production": "—"},
    }


def test_the_retrospective_escapes_what_people_wrote() -> None:
    """Reasons and summaries cannot ping or format in the drafted issue."""
    rollout = Rollout(
        4,
        ("aurora",),
        T,
        overrides=(Override("canary", "ask @everyone **now**", "ines-coord", T),),
        rollbacks=(RollbackRecord(("aurora",), "see <script>", "alice-aurora", T),),
    )
    incident = Incident("2", "sev1", "fork by @mallory", (4,), (), "kofi-sec", T, resolved_at=T + H)
    body = retrospective_body(
        rollout, CHARTER, title="Gas *target*", record=["a @b c"], incidents=[incident]
    )
    assert "# Retrospective: #4 Gas \\*target\\*" in body
    assert "@&#8203;everyone \\*\\*now\\*\\*" in body
    assert "see &lt;script&gt;" in body
    assert "incident 2 (sev1): fork by @&#8203;mallory — resolved 2026-06-01 10:00 UTC" in body
    assert "- a @&#8203;b c" in body
    assert "completed —." in body
    empty = retrospective_body(
        Rollout(4, ("aurora",), T), CHARTER, title="x", record=[], incidents=[]
    )
    assert empty.count("- none") == 4


def test_the_retrospective_lists_every_rollback_drill_with_its_score() -> None:
    rollout = Rollout(
        4,
        ("aurora",),
        T,
        drills=(
            DrillReport("aurora", "canary", None, "ask @everyone", "alice-aurora", T, "1.1"),
            DrillReport("aurora", "canary", timedelta(minutes=9), "", "alice-aurora", T + H, "1.1"),
        ),
    )
    body = retrospective_body(rollout, CHARTER, title="x", record=[], incidents=[])
    section = body.split("## Rollback drills\n\n")[1].split("\n\n")[0]
    assert section.splitlines() == [
        "- aurora on canary (1\\.1) by alice-aurora at 2026-06-01 09:00 UTC: failed: ask"
        " @&#8203;everyone — fail",
        "- aurora on canary (1\\.1) by alice-aurora at 2026-06-01 10:00 UTC: recovered in 9m"
        " — pass",  # the release is escaped as Markdown (it renders "1.1")
    ]


def test_a_cell_shows_its_latest_drill_scored_and_whether_it_counts() -> None:
    """The view carries each client's latest rollback drill per stage; the message marks it."""
    drilled = replace(
        ON_STAGING,
        drills=(
            DrillReport("aurora", "staging", timedelta(minutes=45), "", "alice-aurora", T, "1.0"),
            DrillReport("aurora", "canary", None, "no resync", "ines-coord", T + 3 * H, "1.1"),
        ),
    )
    view = rollout_view(drilled, CHARTER)
    cells = {(c["client"], c["stage"]): c["drill"] for c in view["matrix"]}
    assert cells[("aurora", "canary")] == {
        "outcome": "fail",
        "recovered": None,
        "took": None,
        "recovery": "failed: no resync",
        "limit": None,
        "release": "1.1",
        "notes": "no resync",
        "by": "ines-coord",
        "at": "2026-06-01T12:00:00Z",
        "counts": True,
        "stale": None,
        "why": "no resync",
    }
    staging = cells[("aurora", "staging")]
    assert (staging["outcome"], staging["took"], staging["recovered"]) == ("pass", "45m", 2700)
    text = plain_text(rollout_message(view))
    assert "drill=fail" in text and "drill=pass 45m" in text
