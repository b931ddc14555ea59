"""Reminders of planned rollback drills through the real service's tick and a hand-moved clock:
before the drill, an overdue nudge after it, each once across ticks and restarts; a report or a
new plan cancels the old plan's; a confidential rollout's stay private; the scheduler wakes
for them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import select

from bot import meetings_service, rollouts
from bot.charter_adoption import adopt_charter
from bot.leader import AlwaysLeader
from bot.relay_fanout import announcement
from bot.service import Governance
from charter.load import load_charter
from charter.subscriptions import recipients
from storage import rollouts as store
from storage.db import session_scope
from storage.models.meetings import FiredTimerRow
from tests.bot.rollouts.conftest import CLIENTS, COORDINATOR, MAINTAINER, H, World, form
from tests.bot.rollouts.test_drills import DRILL_CHARTER, SHA
from tests.bot.rollouts.test_rollout_commands import decide

M = timedelta(minutes=1)
REMINDER, OVERDUE = "rollback drill reminder", "rollback drill overdue"


@pytest.fixture
def world(engine: Engine) -> World:
    """Proposal #1 accepted, every client on staging (as in the drill tests), on SQLite and on
    PostgreSQL."""
    world = World(engine, DRILL_CHARTER)
    world.accept(1, form())
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 {SHA[client][:10]}")
    return world


def plan(world: World, client: str, when: str, n: int = 1) -> datetime:
    """Plan ``client``'s drill on staging ``when`` (read in the charter's zone, UTC) and
    return the stored time."""
    world.ok(MAINTAINER[client], f"drill schedule {n} {client} staging {when}")
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, n, world.gov.charter)
        assert rollout is not None
        return rollout.planned_drills[-1].at


def at(world: World, moment: datetime) -> int:
    """Move the clock to ``moment`` and tick; returns what the tick reported."""
    world.clock.set(moment)
    return world.tick()


def sent(world: World, needle: str, client: str = "aurora") -> list[str]:
    """The first paragraph of every announcement of ``needle`` about ``client``."""
    found = world.announced(f"{needle}: {client} on staging")
    return [a["text"].split("\n\n")[0] for a in found]


def restart(world: World) -> None:
    """A new service on the same database (what a restart or another replica has)."""
    world.gov = Governance(world.engine, load_charter(DRILL_CHARTER, "reference"), world.clock)
    rollouts.install_on(world.gov)


def test_reminders_before_the_drill_then_one_overdue_nudge_each_once(world: World) -> None:
    drill_at = plan(world, "aurora", "2026-07-01 15:00")
    assert at(world, drill_at - 24 * H - M) >= 0 and sent(world, REMINDER) == []
    at(world, drill_at - 24 * H)
    said = "aurora's rollback drill on staging for #1 is planned at Wed 2026-07-01 15:00 UTC"
    assert sent(world, REMINDER) == [f"{said} (in 1d)."]
    for moment in (drill_at - 24 * H, drill_at - 23 * H):  # ticking again, restarted
        at(world, moment)
        restart(world)
        at(world, moment)
    assert len(sent(world, REMINDER)) == 1
    # Down from 23h before until 40 minutes before: the hour-ahead reminder is sent late, once.
    restart(world)
    at(world, drill_at - 40 * M)
    at(world, drill_at - 39 * M)
    assert sent(world, REMINDER)[1:] == [f"{said} (in 40m)."]
    at(world, drill_at + 59 * M)
    assert sent(world, OVERDUE) == []
    at(world, drill_at + H)
    restart(world)
    at(world, drill_at + 2 * H)
    [nudge] = sent(world, OVERDUE)
    assert nudge.startswith("aurora's rollback drill on staging for #1 was planned at ")
    assert (
        "Report it: /charter drill 1 aurora staging recovered <duration>"
        " (or /charter drill 1 aurora" in nudge
    )
    with session_scope(world.engine) as session:  # handled once each, in the timers' table
        rows = session.exec(select(FiredTimerRow).where(FiredTimerRow.kind == "drill")).all()
        assert sorted((r.timer_key.rsplit("/", 1)[1], r.outcome) for r in rows) == [
            ("overdue", "fired"),
            ("remind-1d", "fired"),
            ("remind-1h", "fired"),
        ]


def test_missed_while_down_past_the_drill_time_only_the_nudge_is_sent(world: World) -> None:
    drill_at = plan(world, "aurora", "2026-07-01 15:00")
    restart(world)
    at(world, drill_at + 5 * H)
    assert sent(world, REMINDER) == [] and len(sent(world, OVERDUE)) == 1


def test_a_report_cancels_the_plans_reminders(world: World) -> None:
    drill_at = plan(world, "borealis", "2026-07-01 15:00")
    at(world, drill_at - 24 * H)
    assert len(sent(world, REMINDER, "borealis")) == 1
    world.ok(MAINTAINER["borealis"], "drill 1 borealis staging recovered 9m")
    for moment in (drill_at - H, drill_at + H, drill_at + 30 * H):
        at(world, moment)
    assert len(sent(world, REMINDER, "borealis")) == 1 and sent(world, OVERDUE, "borealis") == []


def test_a_new_plan_replaces_the_old_ones_reminders(world: World) -> None:
    first = plan(world, "cirrus", "2026-07-01 15:00")
    at(world, first - 24 * H)
    world.clock.set(first - 3 * H)
    second = plan(world, "cirrus", "2026-07-03 15:00")
    at(world, first - H)  # the old plan's hour-ahead reminder and its nudge are gone
    at(world, first + 2 * H)
    assert len(sent(world, REMINDER, "cirrus")) == 1 and sent(world, OVERDUE, "cirrus") == []
    at(world, second - 24 * H)  # the new plan's own
    at(world, second - H)
    assert sent(world, REMINDER, "cirrus")[1:] == [
        "cirrus's rollback drill on staging for #1 is planned at Fri 2026-07-03 15:00 UTC (in 1d).",
        "cirrus's rollback drill on staging for #1 is planned at Fri 2026-07-03 15:00 UTC (in 1h).",
    ]


def _channels(world: World, a: dict[str, Any]) -> list[str | None]:
    return sorted(str(d.channel) for d in recipients(announcement(a), world.gov.charter, []))


def test_a_confidential_rollouts_reminders_go_where_its_plan_went(sqlite_engine: Engine) -> None:
    world = World(sqlite_engine, DRILL_CHARTER)
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    world.ok(COORDINATOR, "rollout 2")
    drill_at = plan(world, "aurora", "2026-07-01 15:00", n=2)
    at(world, drill_at - 24 * H)
    at(world, drill_at + H)
    [planned] = world.announced("#2 rollback drill planned: aurora on staging")
    [reminder] = world.announced(f"#2 {REMINDER}: aurora on staging")
    [nudge] = world.announced(f"#2 {OVERDUE}: aurora on staging")
    assert planned["confidential"] and reminder["confidential"] and nudge["confidential"]
    public = _channels(world, {**planned, "confidential": False})
    assert _channels(world, reminder) == _channels(world, planned) != public
    assert (reminder["kind"], reminder["clients"]) == (planned["kind"], planned["clients"])


async def test_the_scheduler_wakes_for_the_next_drill_reminder(world: World) -> None:
    """The one wake-up job is armed at the next drill timer too (meetings_service's scheduler)."""
    drill_at = plan(world, "aurora", "2026-07-01 15:07")  # no meeting timer near 14:07
    rt: Any = SimpleNamespace(
        gov=world.gov, extras={}, leadership=AlwaysLeader(), wake=SimpleNamespace(set=lambda: None)
    )
    rt.clock = world.clock
    meetings_service.install(rt)
    world.clock.set(drill_at - H - 20 * timedelta(seconds=1))
    assert await rt.extras["meetings_scheduler"].arm() == timedelta(seconds=20)


def test_a_rollout_rolled_back_for_good_reminds_of_nothing(world: World) -> None:
    drill_at = plan(world, "dorado", "2026-07-01 15:00")
    world.ok(COORDINATOR, 'rollback 1 "the fork choice breaks on staging"')
    assert world.state(1).value == "rolled-back"
    for moment in (drill_at - 24 * H, drill_at - H, drill_at + 2 * H):
        at(world, moment)
    assert sent(world, REMINDER, "dorado") == [] and sent(world, OVERDUE, "dorado") == []


def _statements_on_fired_timers(world: World, moment: datetime) -> list[str]:
    """The SQL statements one tick at ``moment`` sends that read ``fired_timer``."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "fired_timer" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(world.engine, "before_cursor_execute", record)
    try:
        at(world, moment)
    finally:
        event.remove(world.engine, "before_cursor_execute", record)
    return seen


def test_a_tick_reads_only_the_timers_of_pending_plans(world: World) -> None:
    """The tick runs every second and handled rows only grow: with no plan the drill hook reads
    no handled row at all, and with plans it asks for their keys only, however many older
    drill timers were handled (a 20,000-row table took a tick from 10 ms to 785 ms)."""
    now = world.clock.now()
    with session_scope(world.engine) as session:
        for i in range(3000):  # the memory of plans long gone
            session.add(
                FiredTimerRow(
                    timer_key=f"drill/9/aurora/staging/old{i}/overdue",
                    series="drill/9/aurora/staging",
                    occurrence_key="drill/9/aurora/staging",
                    kind="drill",
                    outcome="fired",
                    fires_at=now - 30 * 24 * H,
                    handled_at=now - 30 * 24 * H,
                )
            )
    reads = _statements_on_fired_timers(world, now + M)
    assert not any("timer_key IN" in s for s in reads), reads  # no plan: no drill lookup
    assert not any("fired_timer.kind" in s for s in reads), reads  # nor a read of them all
    drill_at = plan(world, "aurora", "2026-07-01 15:00")
    reads = _statements_on_fired_timers(world, drill_at - 24 * H)
    assert sent(world, REMINDER) != []  # still reminded
    assert not any("fired_timer.kind" in s for s in reads), reads
    assert any("timer_key IN" in s for s in reads), reads


def test_a_plan_on_a_stage_an_amendment_dropped_is_let_go(engine: Engine) -> None:
    """An amendment may drop a stage no rollout is on, even one a drill was planned on: that
    plan has no timers any more (no drill could be reported or planned there), and the tick,
    with every hook after this one, goes on. Before, building its overdue nudge raised on
    every tick."""
    world = World(engine, DRILL_CHARTER)
    world.accept(1, form())
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 {SHA[client][:10]}")
    world.ok(MAINTAINER["aurora"], "drill schedule 1 aurora production 2026-07-01 15:00")
    with session_scope(world.engine) as session:
        rollout = store.load_rollout(session, 1, world.gov.charter)
        assert rollout is not None
        drill_at = rollout.planned_drills[-1].at
    adopt_charter(world.engine, load_charter(DRILL_CHARTER, "v3"), world.clock.now())
    text = re.sub(r"    - id: production\n(      .*\n)+", "", DRILL_CHARTER)
    text = text.replace("  version: 3 ", "  version: 4 ")
    assert "id: production" not in text and "version: 4 " in text
    loaded = adopt_charter(world.engine, load_charter(text, "v4"), world.clock.now())
    world.gov = Governance(world.engine, loaded, world.clock)
    rollouts.install_on(world.gov)
    world.clock.set(drill_at + 2 * H)
    world.tick()
    assert world.announced("rollback drill overdue: aurora on production") == []
