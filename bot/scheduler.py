"""The scheduler: an APScheduler ``AsyncIOScheduler`` used as an alarm clock, nothing more.

Rules:
- No timer lives in APScheduler. Every timer (meeting reminders, agenda posts, proposal
  deadlines) is derived from stored state by the leader's tick; APScheduler holds exactly one
  in-memory job, ``wakeup``, armed at the next timer's instant so the tick runs on time even when
  the tick interval is long. Losing the job (a restart, a crash) loses nothing: the next tick
  derives the same timers again, and ``fired_timer`` rows keep it from repeating one.
- Misfire policy of the wake-up job: ``misfire_grace_time=None`` and ``coalesce=True`` (a late
  wake-up still runs, once). The policy for the timers themselves — a reminder later than its
  grace is recorded as missed, a catch-up after downtime fires once — is
  :mod:`bot.meetings_timers`'s, applied in the tick.
- Only the leader runs it. :meth:`WakeupScheduler.start` refuses, with the reason, when this
  process is not (and cannot become) the leader: on SQLite a second process is told another
  one holds the database's scheduler lock and that replicas need PostgreSQL.
- The wake-up is never sooner than ``min_delay`` (no busy loop when a timer is already due: the
  tick handles it) nor later than ``max_delay`` (changes made elsewhere are picked up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.leader import Leadership

log = logging.getLogger("charterbot.scheduler")

JOB_ID = "wakeup"
NextAt = Callable[[datetime], datetime | None]


class SchedulerRefused(RuntimeError):
    """This process may not run the scheduler; the message says why and what to do."""


class WakeupScheduler:
    def __init__(
        self,
        leadership: Leadership,
        next_at: NextAt,
        wake: Callable[[], None],
        clock: Clock,
        *,
        min_delay: timedelta = timedelta(seconds=1),
        max_delay: timedelta = timedelta(minutes=1),
    ) -> None:
        self._leadership = leadership
        self._next_at = next_at
        self._wake = wake
        self._clock = clock
        self._min, self._max = min_delay, max_delay
        self._scheduler: AsyncIOScheduler | None = None
        self.wakeups = 0

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        """Start on the running event loop, or raise :class:`SchedulerRefused` saying why not."""
        if self._scheduler is not None:
            return
        if not (self._leadership.is_leader or self._leadership.try_acquire()):
            raise SchedulerRefused(
                f"not starting the scheduler: {self._leadership.why_not or 'not the leader'}"
            )
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            jobstores={"default": MemoryJobStore()},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started (this replica leads)")

    def shutdown(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            log.info("scheduler stopped")

    def delay_until(self, at: datetime | None) -> timedelta:
        """How long to sleep before waking for a timer at ``at`` (clamped, see the rules)."""
        if at is None:
            return self._max
        return min(max(at - self._clock.now(), self._min), self._max)

    async def arm(self) -> timedelta:
        """(Re)arm the one wake-up job from stored state; returns the delay chosen."""
        now = self._clock.now()
        at = await asyncio.to_thread(self._next_at, now)
        delay = self.delay_until(at)
        if self._scheduler is not None:
            self._scheduler.add_job(
                self._fire,
                "date",
                run_date=datetime.now(UTC) + delay,
                id=JOB_ID,
                replace_existing=True,
            )
        return delay

    async def _fire(self) -> None:
        self.wakeups += 1
        self._wake()
        with contextlib.suppress(Exception):
            await self.arm()

    async def follow(
        self, is_leader: Callable[[], bool], stop: asyncio.Event, poll: float = 1.0
    ) -> None:
        """Run while this replica leads; stop when it loses leadership; until ``stop``."""
        try:
            while not stop.is_set():
                if is_leader() and not self.running:
                    self.start()
                    await self.arm()
                elif not is_leader() and self.running:
                    self.shutdown()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll)
        finally:
            self.shutdown()
