"""Through the real service: a go/no-go decision voided by a new release for the call's own stage
(production) gets a new call, stored at once and announced like the other attempts, and the
reply to the report says so. One call only while a call waits; none for a rollout that can no
longer use it; private for a confidential rollout; a no-go voided by a release gets the one
call a release gets. A release reported while a call runs is that call's to decide (no new
call), and a no-go recorded while a later call waits adds none beside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot import meetings_service
from bot.relay_fanout import announcement
from charter.lifecycle import State
from charter.subscriptions import recipients
from storage import meetings as meeting_store
from storage.db import session_scope
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, D, H, World, form
from tests.bot.rollouts.test_rollback_gates import SHA, green, ready, ready_for_canary

FIRST = "Go/no-go: #1 to production"
NEW = {"aurora": "c" * 40, "borealis": "d" * 40}


def go_decided(
    world: World,
    decision: str = "go, all green",
    *,
    secret: bool = False,
    reported: tuple[str, ...] = tuple(SHA),
) -> None:
    """#1 (aurora, borealis) on canary with 1.0.0 reported and green for production by the
    ``reported`` clients; the tick stores the production call and, on it, the call decides
    ``decision``."""
    meetings_service.install_on(world.gov)
    if secret:
        world.open_issue(1, form(track="security-patch", clients=("aurora", "borealis")), "Fix")
        world.later(H)
        world.tick()
        for login in (*MAINTAINER.values(), COUNCIL):
            if world.state(1) is State.VOTING:
                world.ok(login, "approve 1 ship it")
        world.later(49 * H)  # the 48h vote closes
        world.tick()
        assert world.state(1) is State.ACCEPTED
    else:
        world.accept(1, form(clients=("aurora", "borealis"), likelihood=1, impact=1))
    ready_for_canary(world)
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    for client in reported:
        ready(world, client, "production")
        green(world, client, "production")
    world.later(12 * D + 2 * H)
    world.tick()
    world.later(2 * D)
    assert "Recorded" in world.ok(COORDINATOR, f"meeting decide {decision}")
    world.later(H)


def calls(world: World) -> list[tuple[str, datetime, bool]]:
    """Each go/no-go call's title, start and privacy."""
    with session_scope(world.engine) as session:
        rows = meeting_store.adhoc_rows(session)
        return [(r.title, r.starts_at.replace(tzinfo=UTC), r.private) for r in rows]


def titles(world: World) -> list[str]:
    return [title for title, _, _ in calls(world)]


def scheduled(world: World) -> list[dict[str, object]]:
    """The announcements of the go/no-go calls being scheduled."""
    return [a for a in world.outbox("announce") if str(a["title"]).startswith("Go/no-go")]


def new_release(world: World, client: str, how: str) -> str:
    """``client`` reports 1.0.1 for production by ``ready`` or by a GitHub release; returns the
    reply (none for a release event)."""
    if how == "ready":
        return ready(world, client, "production", "1.0.1", NEW[client])
    body = "Fixes the fee bug.\n\ncharterbot: ready 1 production\n"
    world.release(client, "v1.0.1", body, MAINTAINER[client])
    return ""


@pytest.mark.parametrize(
    ("decision", "how"),
    [("go, all green", "ready"), ("go, all green", "release"), ("no-go, divergence", "ready")],
    ids=["go-ready", "go-release-event", "no-go-ready"],
)
def test_a_new_production_release_schedules_a_new_call(
    sqlite_engine: Engine, decision: str, how: str
) -> None:
    """aurora's new production release voids what the call decided: a new call (attempt 2) is
    stored at once, two days after the report (on the hour), announced with the reason, and
    the reply says so; more ticks add nothing, and a "go" on attempt 2 lets #1 in. A no-go
    voided by the release before the tick gets this one call, not a no-go retry as well."""
    world = World(sqlite_engine)
    go_decided(world, decision)
    reported = world.clock.now()
    said = new_release(world, "aurora", how)
    for _ in range(3):
        world.tick()
    assert titles(world) == [FIRST, f"{FIRST} (attempt 2)"]
    starts = calls(world)[1][1]
    assert starts == reported + 2 * D  # reported on the hour: the notice a first call gets
    verdict = decision.split(",")[0]
    if how == "ready":
        assert said.splitlines()[1] == (
            f"the go/no-go decision for production ({verdict}, {COORDINATOR}, "
            f"{reported - H:%Y-%m-%d %H:%M} UTC) no longer counts: a new go/no-go call is "
            f"scheduled for {starts:%Y-%m-%d %H:%M} UTC ({FIRST} (attempt 2))"
        )
    text = str(scheduled(world)[1]["text"])
    version = "1.0.1" if how == "ready" else "v1.0.1"
    assert (
        f"A new go/no-go call (attempt 2) for #1 entering production is scheduled: aurora's "
        f"{version} replaced 1.0.0 for production ({reported:%Y-%m-%d %H:%M} UTC), so the "
        f"earlier decision no longer counts." in text
    )
    assert "a new go/no-go call must decide" in world.refused(COORDINATOR, "advance 1")
    green(world, "aurora", "production", NEW["aurora"] if how == "ready" else "")
    world.later(2 * D + timedelta(minutes=10))  # ten minutes into attempt 2
    assert "Recorded" in world.ok(COORDINATOR, "meeting decide go, 1.0.1 is green")
    if how == "ready":
        assert "#1 advanced to production" in world.ok(COORDINATOR, "advance 1")


def test_no_second_call_while_the_new_one_waits(sqlite_engine: Engine) -> None:
    """After aurora's new release stored attempt 2, borealis's new release before attempt 2
    starts adds no attempt 3 (attempt 2 decides on both) and its reply names no new call."""
    world = World(sqlite_engine)
    go_decided(world)
    new_release(world, "aurora", "ready")
    world.later(D)
    said = new_release(world, "borealis", "ready")
    assert said == "recorded borealis 1.0.1@dddddddddddd for production"
    for _ in range(2):
        world.tick()
    assert titles(world) == [FIRST, f"{FIRST} (attempt 2)"]
    assert len(scheduled(world)) == 2


def test_a_no_go_retry_waiting_is_not_doubled_by_a_release(sqlite_engine: Engine) -> None:
    """A no-go stored attempt 2 (the tick); a new release reported while it waits voids the
    no-go but adds no call: attempt 2 decides on the new release."""
    world = World(sqlite_engine)
    go_decided(world, "no-go, divergence")
    world.tick()
    assert titles(world) == [FIRST, f"{FIRST} (attempt 2)"]
    said = new_release(world, "aurora", "ready")
    assert said == "recorded aurora 1.0.1@cccccccccccc for production"
    world.tick()
    assert titles(world) == [FIRST, f"{FIRST} (attempt 2)"]


@pytest.mark.parametrize("case", ["staging-release", "completed", "rolled-back"])
def test_no_call_when_nothing_voids_the_go_or_the_rollout_cannot_use_it(
    sqlite_engine: Engine, case: str
) -> None:
    """A new release for another stage (staging) voids nothing; after the rollout completed a
    new production release needs no call (no stage is left to enter); rolled back for good,
    its release is refused and no call is stored."""
    world = World(sqlite_engine)
    go_decided(world)
    if case == "staging-release":
        said = ready(world, "aurora", "staging", "1.0.1", NEW["aurora"])
        assert len(said.splitlines()) == 1  # staging's own soak restarts; nothing more
        assert "a new go/no-go call must decide" not in world.ok(None, "rollout 1")
    elif case == "completed":
        assert "#1 advanced to production" in world.ok(COORDINATOR, "advance 1")
        assert world.state(1) is State.COMPLETED
        said = new_release(world, "aurora", "ready")
        assert said == "recorded aurora 1.0.1@cccccccccccc for production"
    else:
        for _ in range(3):  # production → canary → staging → pending: ended
            world.ok(COORDINATOR, 'rollback 1 "chain split"')
        assert world.state(1) is State.ROLLED_BACK
        new_release(world, "aurora", "release")
    for _ in range(2):
        world.later(3 * D)
        world.tick()
    assert titles(world) == [FIRST]


def test_a_release_by_a_client_rolled_back_from_production(sqlite_engine: Engine) -> None:
    """#1 completed; borealis alone rolled back production → canary (aurora stays on it): the
    tick stores attempt 2 for the rollback, which decides go; then borealis, not on
    production, reports its fixed release for it: attempt 3 is stored."""
    world = World(sqlite_engine)
    go_decided(world)
    assert "#1 advanced to production" in world.ok(COORDINATOR, "advance 1")
    world.later(D)
    world.ok(MAINTAINER["borealis"], 'rollback 1 borealis "fee bug"')
    world.tick()
    assert titles(world) == [FIRST, f"{FIRST} (attempt 2)"]
    world.later(2 * D + timedelta(minutes=10))
    assert "Recorded" in world.ok(COORDINATOR, "meeting decide go, aurora is fine")
    world.later(H)
    said = new_release(world, "borealis", "ready")
    assert "a new go/no-go call is scheduled" in said.splitlines()[-1]
    world.tick()
    assert titles(world) == [FIRST, f"{FIRST} (attempt 2)", f"{FIRST} (attempt 3)"]
    assert "borealis's 1.0.1 replaced 1.0.0 for production" in str(scheduled(world)[2]["text"])


def test_a_confidential_rollouts_new_call_is_private(sqlite_engine: Engine) -> None:
    """An undisclosed security patch: the new call is private, like its first call, and its
    announcement reaches no public channel."""
    world = World(sqlite_engine)
    go_decided(world, secret=True)
    new_release(world, "aurora", "ready")
    assert [private for _, _, private in calls(world)] == [True, True]
    new = scheduled(world)[1]
    assert new["title"] == f"{FIRST} (attempt 2)" and new["confidential"]
    assert [d.channel for d in recipients(announcement(new), world.gov.charter, [])] == []


def test_a_first_report_after_the_call_schedules_a_new_call(sqlite_engine: Engine) -> None:
    """The call decided go before borealis reported for production at all: its first report
    brings production a release the call never saw, and a new call is scheduled for it."""
    world = World(sqlite_engine)
    go_decided(world, reported=("aurora",))
    reported = world.clock.now()
    said = ready(world, "borealis", "production")
    assert said.splitlines()[0] == "recorded borealis 1.0.0@bbbbbbbbbbbb for production"
    assert "a new go/no-go call is scheduled" in said.splitlines()[1]
    world.tick()
    assert titles(world) == [FIRST, f"{FIRST} (attempt 2)"]
    assert (
        f"scheduled: borealis reported 1.0.0 for production ({reported:%Y-%m-%d %H:%M} UTC), "
        in str(scheduled(world)[1]["text"])
    )


def first_call_running(world: World, into: timedelta) -> None:
    """#1 (aurora, borealis) on canary, 1.0.0 reported and green for production; the tick
    stores the production call, and the clock is ``into`` it."""
    meetings_service.install_on(world.gov)
    world.accept(1, form(clients=("aurora", "borealis"), likelihood=1, impact=1))
    ready_for_canary(world)
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    for client in SHA:
        ready(world, client, "production")
        green(world, client, "production")
    world.later(12 * D + 2 * H)
    world.tick()
    assert titles(world) == [FIRST]
    world.later(calls(world)[0][1] - world.clock.now() + into)


@pytest.mark.parametrize(
    ("decision", "pending"),
    [("no-go, 1.0.1 diverges", [f"{FIRST} (attempt 2)"]), ("go, 1.0.1 is fine", [])],
    ids=["no-go", "go"],
)
def test_a_release_reported_during_the_call_is_that_calls_to_decide(
    sqlite_engine: Engine, decision: str, pending: list[str]
) -> None:
    """aurora's 1.0.1 reported ten minutes into the call stores no new call: the call in
    progress decides on it. Its no-go twenty minutes later then stores the one retry
    (attempt 2), not a retry beside a call for the release; its go stores none and lets #1 in."""
    world = World(sqlite_engine)
    first_call_running(world, timedelta(minutes=10))
    said = new_release(world, "aurora", "ready")
    assert said == "recorded aurora 1.0.1@cccccccccccc for production"
    world.tick()
    assert titles(world) == [FIRST]
    green(world, "aurora", "production", NEW["aurora"])
    world.later(timedelta(minutes=20))
    assert "Recorded" in world.ok(COORDINATOR, f"meeting decide {decision}")
    for _ in range(2):
        world.tick()
    assert [title for title, at, _ in calls(world) if at > world.clock.now()] == pending
    if not pending:
        assert "#1 advanced to production" in world.ok(COORDINATOR, "advance 1")


def test_a_release_after_the_running_call_decided_is_decided_again(sqlite_engine: Engine) -> None:
    """The call decides go five minutes in; aurora's 1.0.1 reported five minutes later voids
    it, and the reply says the call in progress decides on the release: no new call is
    stored, and the go the call records again lets #1 in."""
    world = World(sqlite_engine)
    first_call_running(world, timedelta(minutes=5))
    decided_at = world.clock.now()
    assert "Recorded" in world.ok(COORDINATOR, "meeting decide go, all green")
    world.later(timedelta(minutes=5))
    said = new_release(world, "aurora", "ready")
    assert said.splitlines()[1] == (
        f"the go/no-go decision for production (go, {COORDINATOR}, "
        f"{decided_at:%Y-%m-%d %H:%M} UTC) no longer counts: {FIRST}, in progress, decides "
        f"on this release: record it again"
    )
    world.tick()
    assert titles(world) == [FIRST]
    assert "a new go/no-go call must decide" in world.refused(COORDINATOR, "advance 1")
    green(world, "aurora", "production", NEW["aurora"])
    assert "Recorded" in world.ok(COORDINATOR, "meeting decide go, 1.0.1 is green")
    assert "#1 advanced to production" in world.ok(COORDINATOR, "advance 1")


def test_a_late_no_go_on_the_first_call_adds_no_call_beside_the_waiting_one(
    sqlite_engine: Engine,
) -> None:
    """The call ends with nothing recorded; aurora's 1.0.1 reported afterwards stores attempt
    2 (the tick); the no-go then recorded on the first call (the latest that started) adds no
    attempt 3: attempt 2, still to come, is its retry."""
    world = World(sqlite_engine)
    first_call_running(world, 2 * H)
    new_release(world, "aurora", "ready")
    world.tick()
    assert titles(world) == [FIRST, f"{FIRST} (attempt 2)"]
    world.later(H)
    assert "Recorded" in world.ok(COORDINATOR, "meeting decide no-go, 1.0.0 diverges")
    for _ in range(2):
        world.tick()
    assert titles(world) == [FIRST, f"{FIRST} (attempt 2)"]
