"""Through the real service: a go/no-go call that has not started is cancelled, as `meeting
cancel` would (stored, audited, announced with the reason, in the feed as CANCELLED, off the
upcoming calls), once its rollout can no longer enter the call's stage next: a rollback below
the stage before it, a rollback from every stage, or completion. A confidential rollout's
cancellation stays private; a call that has started stays; re-entering the stage before
schedules a new attempt."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import yaml
from icalendar import Calendar
from sqlalchemy import Engine

from bot import meetings_service
from bot.relay_fanout import announcement
from bot.web.calls import upcoming
from charter.lifecycle import State
from charter.subscriptions import recipients
from storage import meetings as meeting_store, rollout_record as record_store
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, D, H, World, form
from tests.bot.rollouts.test_rollback_gates import (
    PAIR,
    green,
    on_canary,
    ready,
    ready_for_canary,
    rollout,
)
from tests.paths import reference_charter_text

CALL = "go-no-go-1-production"
TITLE = "Go/no-go: #1 to production"


def with_meetings(world: World) -> World:
    meetings_service.install_on(world.gov)
    return world


def scheduled_on_canary(world: World) -> None:
    """#1 (aurora, borealis) on canary, its production call scheduled by the tick."""
    on_canary(world, likelihood=1, impact=1)
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    world.later(12 * D + 2 * H)
    world.tick()
    assert CALL in listed(world)


def listed(world: World) -> list[str]:
    """The ids of the calls on /meetings (and the overview's next call)."""
    return [
        c["id"] for c in upcoming(world.engine, world.gov.charter, world.clock.now(), count=100)
    ]


def feed_status(world: World) -> dict[str, tuple[str, int]]:
    """Each ad-hoc call's STATUS and SEQUENCE in /calendar.ics, by title."""
    body = meetings_service.feed(world.gov, None, world.clock.now())
    cal = Calendar.from_ical(body)
    return {
        str(ev["SUMMARY"]): (str(ev["STATUS"]), int(ev["SEQUENCE"]))
        for ev in cal.walk("VEVENT")
        if str(ev["SUMMARY"]).startswith("Go/no-go")
    }


def row(world: World, call_id: str = CALL) -> AdhocMeetingRow:
    with session_scope(world.engine) as session:
        found = session.get(AdhocMeetingRow, call_id)
        assert found is not None
        session.expunge(found)
    return found


def cancellations(world: World) -> list[dict[str, Any]]:
    return [a for a in world.outbox("announce") if a["title"].startswith("Cancelled: Go/no-go")]


def audited(world: World, key: str) -> list[str]:
    """The audit lines about the call's occurrence ``key``."""
    with session_scope(world.engine) as session:
        return record_store.audit_lines(session, [f"meeting:{key}"])


def test_a_rollback_below_canary_cancels_the_production_call(sqlite_engine: Engine) -> None:
    """borealis rolls back canary → staging: the rollout goes back to staging, so the pending
    production call is cancelled (announced with the reason, CANCELLED in the feed, gone from
    the upcoming calls); nothing new is scheduled while on staging, and re-entering canary
    schedules a fresh call as its new soak nears its end."""
    world = with_meetings(World(sqlite_engine))
    scheduled_on_canary(world)
    assert feed_status(world)[TITLE] == ("CONFIRMED", 1)

    world.ok(MAINTAINER["borealis"], 'rollback 1 borealis "fee bug"')
    assert rollout(world).stage_index == 0
    assert row(world).cancelled
    [said] = cancellations(world)
    assert said["title"] == f"Cancelled: {TITLE}"
    assert said["text"].endswith("is cancelled. #1 was rolled back to staging.")
    assert said["data"]["meeting"] == CALL and not said["confidential"]
    key = said["data"]["occurrence"]
    assert any(
        " meeting-cancelled " in line and "by charterbot" in line for line in audited(world, key)
    )
    assert feed_status(world)[TITLE] == ("CANCELLED", 2)
    assert CALL not in listed(world)
    world.tick()
    world.later(3 * D)
    world.tick()
    with session_scope(world.engine) as session:
        assert [r.id for r in meeting_store.adhoc_rows(session)] == [CALL]

    fix = "c" * 40
    ready(world, "borealis", "canary", "1.0.1", fix)
    green(world, "borealis", "canary", fix)
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    world.later(12 * D + 2 * H)
    world.tick()
    again = f"{CALL}-2"
    assert not row(world, again).cancelled
    assert again in listed(world) and CALL not in listed(world)
    assert feed_status(world)[f"{TITLE} (attempt 2)"][0] == "CONFIRMED"
    assert len(cancellations(world)) == 1


def test_a_rollback_of_every_client_cancels_it_too(sqlite_engine: Engine) -> None:
    """`rollback 1` (every client, canary → staging) cancels the production call as well."""
    world = with_meetings(World(sqlite_engine))
    scheduled_on_canary(world)
    said = world.ok(COORDINATOR, 'rollback 1 "chain split"')
    assert said == "rolled back aurora canary → staging, borealis canary → staging"
    assert row(world).cancelled and CALL not in listed(world)
    [cancelled] = cancellations(world)
    assert cancelled["text"].endswith("#1 was rolled back to staging.")
    assert feed_status(world)[TITLE][0] == "CANCELLED"


def canary_call_charter() -> str:
    """The reference charter with a go/no-go call before canary too."""
    data = yaml.safe_load(reference_charter_text())
    for stage in data["rollout"]["stages"]:
        if stage["id"] == "canary":
            stage["go_no_go_meeting"] = True
    return yaml.safe_dump(data, sort_keys=False)


def test_a_rollback_from_every_stage_cancels_the_call(sqlite_engine: Engine) -> None:
    """With a call before canary: every client rolled back from staging leaves #1 rolled back
    (final), and its pending canary call is cancelled with that reason."""
    world = with_meetings(World(sqlite_engine, canary_call_charter()))
    world.accept(1, form(clients=PAIR))
    for client in PAIR:
        ready(world, client, "staging")
    world.later(D + 2 * H)  # canary's 3-day soak ends within two days
    world.tick()
    call = "go-no-go-1-canary"
    assert call in listed(world)
    world.ok(COORDINATOR, 'rollback 1 "wrong build"')
    assert world.state(1) is State.ROLLED_BACK
    assert row(world, call).cancelled and call not in listed(world)
    [cancelled] = cancellations(world)
    assert cancelled["text"].endswith("#1 was rolled back from every stage.")
    assert feed_status(world)["Go/no-go: #1 to canary"][0] == "CANCELLED"


def test_completing_cancels_a_call_not_held(sqlite_engine: Engine) -> None:
    """Production entered by override before the call was held, and completed: the pending
    call is cancelled ("completed its rollout")."""
    world = with_meetings(World(sqlite_engine))
    scheduled_on_canary(world)
    for client in PAIR:
        ready(world, client, "production")
        green(world, client, "production")
    world.ok(COORDINATOR, 'advance 1 to production --override "fork date is fixed"')
    assert world.state(1) is State.COMPLETED
    assert row(world).cancelled and CALL not in listed(world)
    [cancelled] = cancellations(world)
    assert cancelled["text"].endswith("#1 completed its rollout.")


def test_entering_the_stage_by_override_cancels_its_call(sqlite_engine: Engine) -> None:
    """With a call before canary: a coordinator enters canary by override before the call was
    held; the call can decide nothing any more and is cancelled with that reason."""
    world = with_meetings(World(sqlite_engine, canary_call_charter()))
    world.accept(1, form(clients=PAIR))
    for client in PAIR:
        ready(world, client, "staging")
    world.later(D + 2 * H)
    world.tick()
    call = "go-no-go-1-canary"
    assert call in listed(world)
    for client in PAIR:
        ready(world, client, "canary")
    assert "advanced to canary" in world.ok(
        COORDINATOR, 'advance 1 to canary --override "fork is fixed"'
    )
    assert world.state(1) is State.ROLLING_OUT
    assert row(world, call).cancelled and call not in listed(world)
    [cancelled] = cancellations(world)
    assert cancelled["text"].endswith("#1 entered canary before the call was held.")


def test_a_call_that_has_started_stays(sqlite_engine: Engine) -> None:
    """A rollback during (or after) the call leaves it as it was: it is history."""
    world = with_meetings(World(sqlite_engine))
    scheduled_on_canary(world)
    world.later(2 * D)
    assert world.clock.now() > row(world).starts_at.replace(tzinfo=UTC)
    world.ok(MAINTAINER["borealis"], 'rollback 1 borealis "fee bug"')
    assert not row(world).cancelled and cancellations(world) == []


def test_a_confidential_rollouts_cancellation_stays_private(sqlite_engine: Engine) -> None:
    """An undisclosed security patch's production call is private; so is its cancellation,
    and the call is in neither the public feed nor the upcoming calls before or after."""
    world = with_meetings(World(sqlite_engine))
    world.open_issue(1, form(track="security-patch", clients=PAIR), "Embargoed fix")
    world.later(H)
    world.tick()
    for login in (*MAINTAINER.values(), COUNCIL):
        if world.state(1) is State.VOTING:
            world.ok(login, "approve 1 ship it")
    world.later(49 * H)  # the 48h vote closes
    world.tick()
    assert world.state(1) is State.ACCEPTED
    assert rollout(world).confidential
    ready_for_canary(world)
    assert "#1 advanced to canary" in world.ok(COORDINATOR, "advance 1")
    world.later(12 * D + 2 * H)
    world.tick()
    assert row(world).private and CALL not in listed(world)
    world.ok(COORDINATOR, 'rollback 1 borealis "fee bug"')
    assert row(world).cancelled
    [cancelled] = cancellations(world)
    assert cancelled["confidential"]
    assert [d.channel for d in recipients(announcement(cancelled), world.gov.charter, [])] == []
    assert TITLE not in feed_status(world) and CALL not in listed(world)
