"""Stopping: the leader's loops finish the step each is in, then leadership is released.

Rules proven:
- ``Runtime.background()`` returns only after a step in flight has finished. A step runs in a
  thread, which cancelling its task does not stop; the caller then disposes of the engine, and
  a step still running would open a connection that nobody closes (on PostgreSQL, psycopg warns
  when it is collected, and leaves the session open until then).
- A loop waiting for its next step stops at once; it does not sleep out its period.
- A step that overruns ``STOP_GRACE`` is cancelled, and the log names its loop; cancelling
  ``background()`` itself while it waits cancels its loops too.
- ``campaign`` releases leadership when stopped and when cancelled, and only after a try that
  is still running in its thread has finished (or that try would take the lock afterwards).
- The app's lifespan exit (what ``charterbot serve`` runs on SIGTERM) waits for all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from bot.bootstrap import build
from bot.http import create_app
from bot.leader import campaign
from bot.runtime import Runtime
from bot.settings import Settings


class Leadership:
    """Always wins; records what it was asked, and can hold a try in flight."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.events: list[str] = []
        self.trying = threading.Event()
        self._gate = gate
        self.is_leader = False
        self.why_not = ""

    def try_acquire(self) -> bool:
        self.events.append("try")
        self.trying.set()
        if self._gate is not None:
            assert self._gate.wait(10)
        self.events.append("acquired")
        self.is_leader = True
        return True

    def release(self) -> None:
        self.events.append("release")
        self.is_leader = False


class SlowStep:
    """A deadlines step that blocks in its thread until ``go`` is set."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()
        self.done = threading.Event()
        self.finished = False

    def __call__(self, now: datetime) -> int:
        self.entered.set()
        try:
            assert self.go.wait(20)
            self.finished = True
        finally:
            self.done.set()
        return 0


def runtime(url: str, **settings: float) -> tuple[Runtime, Leadership]:
    rt = build(Settings(database_url=url, **settings))  # type: ignore[arg-type]
    leadership = Leadership()
    rt.leadership = leadership
    return rt, leadership


@contextlib.asynccontextmanager
async def stalled(url: str) -> AsyncIterator[tuple[Runtime, Leadership, SlowStep]]:
    """A runtime whose deadlines step blocks in its thread until let go. On the way out the
    step is let go and its thread has finished before the engine is disposed."""
    rt, leadership = runtime(url)
    slow = SlowStep()
    rt.gov.tick = slow  # type: ignore[method-assign]
    try:
        yield rt, leadership, slow
    finally:
        slow.go.set()
        if slow.entered.is_set():
            assert await asyncio.to_thread(slow.done.wait, 10)
        rt.engine.dispose()


async def stepping(rt: Runtime, slow: SlowStep) -> asyncio.Task[None]:
    """background() started, once its deadlines step is under way."""
    task = asyncio.create_task(rt.background())
    assert await asyncio.to_thread(slow.entered.wait, 10)
    return task


async def test_stop_waits_for_the_step_in_flight(engine_url: str) -> None:
    async with stalled(engine_url) as (rt, leadership, slow):
        task = await stepping(rt, slow)
        rt.stop.set()
        await asyncio.sleep(0.3)
        assert not task.done(), "background() returned while a step was still running"
        slow.go.set()
        await asyncio.wait_for(task, 10)
        assert slow.finished
        assert leadership.events[-1] == "release"


async def test_a_waiting_loop_stops_at_once(sqlite_url: str) -> None:
    """The deadlines loop waits a minute between steps; a stop does not wait that minute out."""
    rt, leadership = runtime(sqlite_url, tick_seconds=60.0)
    ticks: list[datetime] = []
    rt.gov.tick = lambda now: ticks.append(now) or 0  # type: ignore[method-assign]
    task = asyncio.create_task(rt.background())
    try:
        for _ in range(200):
            if ticks:
                break
            await asyncio.sleep(0.02)
        assert ticks
        await asyncio.sleep(0.1)  # the loop is now waiting for its next step
        rt.stop.set()
        await asyncio.wait_for(task, 3)
        assert len(ticks) == 1
        assert leadership.events[-1] == "release"
    finally:
        rt.engine.dispose()


async def test_a_step_that_overruns_the_grace_is_cancelled(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bot.runtime.STOP_GRACE", 0.3)
    async with stalled(sqlite_url) as (rt, leadership, slow):
        task = await stepping(rt, slow)
        rt.stop.set()
        await asyncio.wait_for(task, 3)
        assert not slow.finished
        assert "deadlines loop still busy 0.3 s after the stop" in caplog.text
        assert leadership.events[-1] == "release"


async def test_cancelled_while_winding_down_leaves_no_loop_behind(sqlite_url: str) -> None:
    """What the lifespan does to a background() that overruns its grace: cancel it. Its loops
    are cancelled with it, not left running."""
    async with stalled(sqlite_url) as (rt, leadership, slow):
        task = await stepping(rt, slow)
        rt.stop.set()
        await asyncio.sleep(0.2)  # background() is waiting for the step
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 3)
        loops = [t for t in asyncio.all_tasks() if t.get_name().endswith(" loop")]
        assert loops == []
        assert leadership.events[-1] == "release"


@pytest.mark.parametrize("how", ["stopped", "cancelled"])
async def test_campaign_releases_after_the_try_in_flight(how: str) -> None:
    gate = threading.Event()
    leadership = Leadership(gate)
    stop = asyncio.Event()
    task = asyncio.create_task(campaign(leadership, lambda leader: None, stop=stop))
    assert await asyncio.to_thread(leadership.trying.wait, 10)
    if how == "stopped":
        stop.set()
    else:
        task.cancel()
    await asyncio.sleep(0.2)
    assert leadership.events == ["try"], "released while a try was still running"
    gate.set()
    if how == "stopped":
        await asyncio.wait_for(task, 5)
    else:
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
    assert leadership.events == ["try", "acquired", "release"]
    assert not leadership.is_leader


async def test_the_lifespan_exit_waits_for_the_step_and_releases(sqlite_url: str) -> None:
    async with stalled(sqlite_url) as (rt, leadership, slow):
        app = create_app(rt)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        assert await asyncio.to_thread(slow.entered.wait, 10)
        exiting = asyncio.create_task(lifespan.__aexit__(None, None, None))
        await asyncio.sleep(0.3)
        assert not exiting.done(), "the lifespan ended while a step was still running"
        slow.go.set()
        await asyncio.wait_for(exiting, 10)
        assert slow.finished
        assert leadership.events[-1] == "release"


async def test_clients_are_closed_only_after_the_step_in_flight(sqlite_url: str) -> None:
    """The ``shutdown`` hooks (the senders' ``aclose`` among them) run after the steps in
    flight have finished: a client closed under a delivery being sent would fail it, and the
    relay would count it failed and send it again."""
    async with stalled(sqlite_url) as (rt, _leadership, slow):
        closed_while_finished: list[bool] = []

        async def close() -> None:
            closed_while_finished.append(slow.finished)

        rt.extras.setdefault("shutdown", []).append(close)
        app = create_app(rt)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        assert await asyncio.to_thread(slow.entered.wait, 10)
        exiting = asyncio.create_task(lifespan.__aexit__(None, None, None))
        await asyncio.sleep(0.3)
        assert closed_while_finished == [], "a client was closed while a step was in flight"
        slow.go.set()
        await asyncio.wait_for(exiting, 10)
        assert closed_while_finished == [True]
