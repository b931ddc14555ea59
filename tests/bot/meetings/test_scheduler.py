"""The wake-up scheduler: armed from stored state, clamped, leader-only; SQLite refuses a second
process and says why."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.leader import AlwaysLeader, FileLeadership
from bot.meetings_timers import next_timer_at
from bot.scheduler import SchedulerRefused, WakeupScheduler
from storage.db import session_scope
from tests.bot.meetings.conftest import HOURLY, charter_with, make_gov
from tests.paths import REPO

NOW = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)


class NotLeader:
    is_leader = False
    why_not = "another replica holds the scheduler lock"

    def try_acquire(self) -> bool:
        return False

    def release(self) -> None:
        return None


@pytest.mark.parametrize(
    ("due_in", "expected"),
    [
        (None, timedelta(minutes=1)),  # nothing due: look again after max_delay
        (timedelta(seconds=-30), timedelta(seconds=1)),  # already due: the tick handles it
        (timedelta(seconds=20), timedelta(seconds=20)),
        (timedelta(hours=3), timedelta(minutes=1)),  # far away: re-derive within a minute
    ],
)
def test_the_wakeup_delay_is_clamped(due_in: timedelta | None, expected: timedelta) -> None:
    """The wake-up is never sooner than min_delay (no busy loop) nor later than max_delay."""
    clock = FixedClock(NOW)
    scheduler = WakeupScheduler(AlwaysLeader(), lambda now: None, lambda: None, clock)
    assert scheduler.delay_until(None if due_in is None else NOW + due_in) == expected


async def test_it_wakes_the_tick_at_the_next_stored_timer() -> None:
    """Started on the leader, the one job fires at the next timer's instant and wakes the tick
    loop, then re-arms itself from stored state."""
    clock = FixedClock(NOW)
    woken = asyncio.Event()
    scheduler = WakeupScheduler(
        AlwaysLeader(),
        lambda now: now + timedelta(seconds=0.1),
        woken.set,
        clock,
        min_delay=timedelta(seconds=0.05),
    )
    scheduler.start()
    try:
        assert await scheduler.arm() == timedelta(seconds=0.1)
        await asyncio.wait_for(woken.wait(), 2)
        assert scheduler.wakeups >= 1
    finally:
        scheduler.shutdown()
    assert not scheduler.running


async def test_follow_runs_only_while_leading() -> None:
    """`follow` starts the scheduler when this replica leads and stops it when it does not."""
    leading = {"now": True}
    stop = asyncio.Event()
    scheduler = WakeupScheduler(AlwaysLeader(), lambda now: None, lambda: None, FixedClock(NOW))
    task = asyncio.create_task(scheduler.follow(lambda: leading["now"], stop, poll=0.02))
    await asyncio.sleep(0.1)
    assert scheduler.running
    leading["now"] = False
    await asyncio.sleep(0.1)
    assert not scheduler.running
    stop.set()
    await task


def test_a_standby_refuses_to_start_and_says_why() -> None:
    """start() on a replica that is not the leader raises, naming the reason."""
    scheduler = WakeupScheduler(NotLeader(), lambda now: None, lambda: None, FixedClock(NOW))
    with pytest.raises(SchedulerRefused, match="another replica holds the scheduler lock"):
        scheduler.start()


def test_on_sqlite_a_second_process_refuses_to_run_the_scheduler(tmp_path: Path) -> None:
    """While one process holds the SQLite database's scheduler lock, a second process cannot
    start the scheduler and is told that SQLite allows one and replicas need PostgreSQL."""
    db = tmp_path / "charterbot.db"
    holder = FileLeadership(db.resolve())
    assert holder.try_acquire()
    script = textwrap.dedent(f"""
        from pathlib import Path
        from bot.clock import SystemClock
        from bot.leader import leadership_for
        from bot.scheduler import SchedulerRefused, WakeupScheduler
        from storage.db import make_engine
        engine = make_engine("sqlite:///{db}")
        s = WakeupScheduler(leadership_for(engine), lambda now: None, lambda: None, SystemClock())
        try:
            s.start()
        except SchedulerRefused as exc:
            print(exc)
            raise SystemExit(3)
    """)
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
        )
    finally:
        holder.release()
    assert done.returncode == 3, done.stderr
    assert "another charterbot process" in done.stdout
    assert "SQLite allows one. Use PostgreSQL for replicas." in done.stdout


def test_next_timer_at_is_derived_from_the_charter_and_storage(db_url: str) -> None:
    """The wake-up time is the next reminder of the stored schedule (10:20 for the 10:30 call),
    and moves when that occurrence is cancelled."""
    gov = make_gov(db_url, charter_with([HOURLY]), FixedClock(NOW))
    with session_scope(gov.engine) as session:
        assert next_timer_at(session, gov.charter, NOW) == NOW + timedelta(minutes=20)
    from storage import meetings as store

    with session_scope(gov.engine) as session:
        store.set_exception(
            session,
            key="hourly@2026-03-20T10:30",
            meeting_id="hourly",
            moved_to=None,
            by="test",
            now=NOW,
        )
    with session_scope(gov.engine) as session:
        assert next_timer_at(session, gov.charter, NOW) == NOW + timedelta(minutes=80)
    gov.engine.dispose()
