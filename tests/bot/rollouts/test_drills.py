"""Rollback drills end to end: chat and GitHub comments through the real dispatch, stored in
the rollout, audited in the same transaction, announced, shown in the matrix and gating."""

from __future__ import annotations

import copy
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot import rollouts
from bot.render import build_notice
from charter.rollout_facts import DrillReport
from storage import rollouts as store
from storage.db import session_scope
from storage.models.audit import AuditEntry
from tests.bot.rollouts.conftest import (
    CLIENTS,
    COORDINATOR,
    COUNCIL,
    MAINTAINER,
    H,
    World,
    form,
    person,
    webhook,
)
from tests.bot.rollouts.test_rollout_commands import decide
from tests.paths import reference_charter_text

# The reference charter with canary requiring a rollback drill on staging.
DRILL_CHARTER = reference_charter_text().replace(
    "    - id: canary\n",
    "    - id: canary\n      require_drill: {stage: staging, recover_within: 30m}\n",
)
SHA = {c: f"{i + 1:x}" * 40 for i, c in enumerate(CLIENTS)}
_IDS = count(8_100_001)


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    world = World(sqlite_engine, DRILL_CHARTER)
    world.accept(1, form())
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 {SHA[client][:10]}")
    return world


def audit(world: World, kind: str) -> list[tuple[str, str]]:
    """The (subject, payload) of every audit entry of ``kind``, in order."""
    with session_scope(world.engine) as session:
        stmt = select(AuditEntry).where(AuditEntry.kind == kind).order_by(col(AuditEntry.seq))
        return [(e.subject, e.payload) for e in session.exec(stmt).all()]


def stored_drills(world: World, n: int = 1) -> tuple[DrillReport, ...]:
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, n, world.gov.charter)
        assert rollout is not None
        return rollout.drills


def drill_all(world: World, took: str = "12m") -> None:
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"drill 1 {client} staging recovered {took}")


def test_a_drill_in_chat_is_recorded_audited_announced_and_shown(world: World) -> None:
    said = world.ok("alice-aurora", "drill 1 aurora staging recovered 12m resynced from snapshot")
    assert said == (
        "recorded aurora's rollback drill on staging (1.0.0): recovered in 12m — pass"
        " (canary allows 30m)"
    )
    [drill] = stored_drills(world)
    assert (drill.client, drill.stage, drill.release, drill.notes) == (
        "aurora",
        "staging",
        "1.0.0",
        "resynced from snapshot",
    )
    assert drill.reported_by == "alice-aurora"
    [(subject, payload)] = audit(world, "drill-reported")
    assert subject == "rollout:1"
    assert '"outcome":"pass"' in payload and '"recovered":"12m"' in payload
    [announced] = world.announced("rollback drill: aurora on staging")
    assert announced["kind"] == "rollout" and not announced["confidential"]
    assert announced["title"] == "#1 rollback drill: aurora on staging — pass"
    shown = world.ok(None, "rollout 1")
    assert "drill=pass 12m" in shown
    assert "FAIL require_drill: borealis has not run a rollback drill on staging;" in shown
    view = rollouts.read_view(world.gov, 1, person(None))
    assert view is not None
    cell = next(c for c in view["matrix"] if (c["client"], c["stage"]) == ("aurora", "staging"))
    assert cell["drill"]["outcome"] == "pass" and cell["drill"]["took"] == "12m"
    assert cell["drill"]["counts"] and cell["drill"]["limit"] == "30m"
    assert [g["gate"] for g in view["gates"]][-1] == "require_drill"


def test_the_gate_names_slow_failed_and_outdated_drills_and_an_override_passes_it(
    world: World,
) -> None:
    drill_all(world)
    assert "PASS require_drill: every client's rollback drill on staging recovered within 30m" in (
        world.ok(None, "rollout 1")
    )
    world.ok("carmen-borealis", "drill 1 borealis staging recovered 45m")
    world.ok(COORDINATOR, 'drill 1 cirrus staging failed "the node did not resync"')
    world.later(H)
    world.ok("alice-aurora", f"ready 1 aurora staging 1.0.1 {SHA['aurora'][:10]}")
    refusal = world.refused(COORDINATOR, "advance 1 to canary")
    assert (
        "require_drill: aurora's rollback drill on staging was of 1.0.0, and 1.0.1 was"
        " reported there since; borealis's rollback drill on staging took 45m (the charter allows"
        " 30m); cirrus's rollback drill on staging failed: the node did not resync"
    ) in refusal
    shown = world.ok(None, "rollout 1")
    assert "drill=slow 45m" in shown and "drill=fail" in shown
    assert "drill=pass 12m (outdated)" in shown
    world.ok(COORDINATOR, 'advance 1 to canary --override "drills rerun next week"')
    [(_, overridden)] = audit(world, "gate-overridden")
    assert "cirrus's rollback drill on staging failed" in overridden


def test_a_new_drill_replaces_the_last_one(world: World) -> None:
    drill_all(world)
    world.ok(COORDINATOR, 'drill 1 dorado staging failed "disk full"')
    assert "dorado's rollback drill on staging failed: disk full" in world.ok(None, "rollout 1")
    world.ok("fatima-dorado", "drill 1 dorado staging recovered 20m")
    assert "PASS require_drill" in world.ok(None, "rollout 1")
    assert len(stored_drills(world)) == len(CLIENTS) + 2


@pytest.mark.parametrize(
    ("login", "text", "expected"),
    [
        (None, "drill 1 aurora staging recovered 12m", "run /charter link"),
        ("carmen-borealis", "drill 1 aurora staging recovered 12m", "Only maintainers of aurora"),
        ("alice-aurora", "drill 1 aurora nowhere recovered 12m", "unknown stage 'nowhere'"),
        (
            "alice-aurora",
            "drill 1 aurora canary recovered 12m",
            "aurora has not reported a release for canary: a rollback drill rehearses",
        ),
        (COORDINATOR, "drill 1 nowhere staging recovered 12m", "nowhere is not in the rollout"),
        ("alice-aurora", "drill 99 aurora staging recovered 12m", "There is no proposal #99."),
        ("alice-aurora", "drill 1 aurora staging recovered 12min", "Write the recovery time as"),
        ("alice-aurora", "drill 1 aurora staging failed", "Give the reason: what went wrong"),
    ],
)
def test_a_refused_drill_is_answered_and_changes_nothing_but_the_audit_log(
    world: World, login: str | None, text: str, expected: str
) -> None:
    refused_before = len(audit(world, "command-refused"))
    assert expected in world.refused(login, text)
    assert stored_drills(world) == ()
    assert audit(world, "drill-reported") == []
    parse_error = "recovery time" in expected or "Give the" in expected  # never reached the service
    assert len(audit(world, "command-refused")) == refused_before + (0 if parse_error else 1)


def test_a_rolled_back_client_drills_again_only_after_reporting_again(world: World) -> None:
    world.ok("alice-aurora", "drill 1 aurora staging recovered 12m")
    world.ok("alice-aurora", 'rollback 1 aurora "bad state root"')
    refusal = world.refused("alice-aurora", "drill 1 aurora staging recovered 10m")
    assert "aurora was rolled back from staging: report the release it runs there again" in refusal
    world.later(H)
    world.ok("alice-aurora", f"ready 1 aurora staging 1.0.2 {SHA['aurora'][:10]}")
    said = world.ok("alice-aurora", "drill 1 aurora staging recovered 10m")
    assert said.startswith("recorded aurora's rollback drill on staging (1.0.2): recovered in 10m")
    assert [d.release for d in stored_drills(world)] == ["1.0.0", "1.0.2"]


def comment(world: World, body: str, login: str) -> list[dict[str, Any]]:
    """A comment on issue #1 through the real webhook path; the replies it got."""
    payload: dict[str, Any] = copy.deepcopy(webhook("issue_comment", "created"))
    payload["repository"]["full_name"] = world.gov.charter.github.repository
    payload["issue"]["number"] = 1
    at = world.clock.now().isoformat().replace("+00:00", "Z")
    payload["comment"].update(id=next(_IDS), body=body, created_at=at, updated_at=at)
    payload["comment"]["user"]["login"] = login
    payload["sender"]["login"] = login
    before = len(world.outbox("comment"))
    world.deliver("issue_comment", payload)
    return world.outbox("comment")[before:]


def test_a_drill_in_a_github_comment_is_recorded_on_the_issues_rollout(world: World) -> None:
    """As a readiness report: recorded and announced, answered on the issue only when refused."""
    assert comment(world, "/drill borealis staging recovered 1h", "carmen-borealis") == []
    [drill] = stored_drills(world)
    assert (drill.client, drill.reported_by, drill.recovered) == ("borealis", "carmen-borealis", H)
    assert len(audit(world, "drill-reported")) == 1
    [announced] = world.announced("rollback drill: borealis on staging")
    assert "recovered in 1h — slow (canary allows 30m)" in announced["text"]
    [wrong] = comment(world, "/drill borealis staging recoverd 1h", "carmen-borealis")
    assert "Did you mean 'recovered'?" in wrong["body"]
    assert "/drill <client> <stage> recovered <duration>" in wrong["body"]
    [other] = comment(world, "/drill aurora staging recovered 5m", "carmen-borealis")
    assert "Only maintainers of aurora" in other["body"]
    [elsewhere] = comment(world, "/drill 2 borealis staging recovered 5m", "carmen-borealis")
    assert "leave out the number" in elsewhere["body"]
    assert len(stored_drills(world)) == 1


def test_a_confidential_rollouts_drills_stay_as_private_as_its_reports(
    sqlite_engine: Engine,
) -> None:
    world = World(sqlite_engine, DRILL_CHARTER)
    world.open_issue(1, form(track="security-patch", clients=("aurora",)))
    decide(world, 1)
    world.ok("alice-aurora", "ready 1 aurora staging 1.0.0")
    world.ok("alice-aurora", 'drill 1 aurora staging failed "replay stalled"')
    [announced] = world.announced("rollback drill: aurora on staging")
    assert announced["confidential"]
    assert "There is no proposal #1." in world.refused("outsider", "rollout 1")
    assert "drill=fail" in world.ok(COUNCIL, "rollout 1")
    assert rollouts.read_view(world.gov, 1, person("outsider")) is None
    # a maintainer of a client outside the rollout cannot find it either
    assert "There is no proposal #1." in world.refused(
        "carmen-borealis", "drill 1 borealis staging recovered 5m"
    )


def test_a_drill_is_planned_shown_until_reported_and_a_bad_time_is_refused(world: World) -> None:
    said = world.ok("hana-eridanus", "drill schedule 1 eridanus staging tomorrow 15:00")
    assert said.startswith("planned eridanus's rollback drill on staging for ")
    assert said.endswith(" 15:00 UTC")
    [(subject, payload)] = audit(world, "drill-scheduled")
    assert subject == "rollout:1" and '"by":"hana-eridanus"' in payload
    assert world.announced("rollback drill planned: eridanus on staging")
    assert "drill planned" in world.ok(None, "rollout 1")
    view = rollouts.read_view(world.gov, 1, person(None))
    assert view is not None
    cell = next(c for c in view["matrix"] if (c["client"], c["stage"]) == ("eridanus", "staging"))
    assert cell["planned_drill"]["by"] == "hana-eridanus"
    assert "(overdue)" not in world.ok(None, "rollout 1")
    world.later(48 * H)  # past the plan, no drill reported
    assert "(overdue)" in world.ok(None, "rollout 1")
    world.ok("hana-eridanus", "drill 1 eridanus staging recovered 7m")
    assert "drill planned" not in world.ok(None, "rollout 1")
    refused = world.refused("hana-eridanus", "drill schedule 1 eridanus staging someday")
    assert "could not read 'someday' as a time" in refused
    assert "Only maintainers of aurora" in world.refused(
        "hana-eridanus", "drill schedule 1 aurora staging tomorrow 15:00"
    )
    past = world.refused("hana-eridanus", "drill schedule 1 eridanus staging 2020-01-01 10:00")
    assert "is not in the future" in past
    [(_, _)] = audit(world, "drill-scheduled")  # the refusals planned nothing


def test_a_plan_says_how_its_time_was_read_and_its_notice_is_dated_by_the_drill(
    world: World,
) -> None:
    said = world.ok(
        "hana-eridanus", "drill schedule 1 eridanus staging tomorrow 10:00 America/New_York"
    )
    first, read = said.split(". Read as ")
    assert first.startswith("planned eridanus's rollback drill on staging for ")
    assert " 10:00 America/New_York = " in read and read.endswith(" 14:00 UTC."), read  # EDT
    [notice] = world.announced("rollback drill planned: eridanus on staging")
    shown = build_notice(notice, lang="en", zone="America/New_York")
    when = dict(shown.facts)["When"]
    assert "10:00" in when and "America/New_York" in when, when  # the drill's time, not now
    plain = world.ok("hana-eridanus", "drill schedule 1 eridanus staging 2030-01-02 10:00")
    assert "Read as" not in plain  # a UTC time in a UTC charter: nothing to echo


def test_a_plan_on_a_stage_the_client_is_past_is_accepted_with_a_note(world: World) -> None:
    drill_all(world)
    world.ok(COORDINATOR, 'advance 1 to canary --override "drills are fine"')
    world.ok("alice-aurora", f"ready 1 aurora canary 1.0.0 {SHA['aurora'][:10]}")
    said = world.ok("alice-aurora", "drill schedule 1 aurora staging 2030-01-02 10:00")
    assert said.endswith(
        ". aurora is already past staging; the drill rehearses rolling back there."
    )
    on_canary = world.ok("alice-aurora", "drill schedule 1 aurora canary 2030-01-02 10:00")
    assert "already past" not in on_canary
