"""The running bot: what ``bot.bootstrap.build`` assembles, and the loops only the leader runs.

Rules:
- ``Runtime.background`` campaigns for leadership and, while this process leads, runs the
  leader's loops (inbox worker, deadlines, relays, pollers, readers); losing the lead cancels
  them, and each leader hook (``on_lead``) runs again on becoming leader.
- A loop step runs at most once per its interval when paced (``paced``), and a failed step is
  logged and retried on the next one.
- A stop lets every loop finish the step it is in, for up to ``STOP_GRACE`` seconds.
- A delivery is stored on threads of its own (``store_delivery``), so that an acknowledgement
  never queues behind the loops' jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.clock import Clock
from bot.github import handler as github_handler
from bot.github.events import CommentEvent, IssueEvent
from bot.github.poll_checks import CheckReader
from bot.github.poll_releases import ReleaseReader
from bot.github.receiver import GitHubReceiver
from bot.github.reconcile import Reconciler
from bot.intake_gate import IntakeGate
from bot.leader import Leadership, campaign
from bot.metrics import METRICS
from bot.pipeline import InboxWorker
from bot.ports import GitHubGateway
from bot.service import Governance
from bot.settings import Settings
from charter.load import LoadedCharter
from storage import inbox, state
from storage.db import session_scope

log = logging.getLogger("charterbot")

Loop = Callable[[datetime], Awaitable[int]]


def paced(step: Loop, every: timedelta) -> Loop:
    """``step`` run at most once per ``every``: the loops also wake whenever an event is stored
    or a decision is made, and a poll of GitHub on each of those would be wasted calls."""
    next_at: datetime | None = None

    async def run(now: datetime) -> int:
        nonlocal next_at
        if next_at is not None and now < next_at:
            return 0
        next_at = now + every
        return await step(now)

    return run


# How long a stop waits for the leader's loops to finish the step each is in.
STOP_GRACE = 10.0


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    loaded: LoadedCharter
    gov: Governance
    receiver: GitHubReceiver
    worker: InboxWorker
    leadership: Leadership
    clock: Clock
    gateway: GitHubGateway | None = None
    reconciler: Reconciler | None = None  # catches up on failed webhook deliveries
    checks: CheckReader | None = None  # reads the check runs rollout gates wait on
    releases: ReleaseReader | None = None  # reads the clients' releases that report readiness
    intake: IntakeGate | None = None  # holds voting closes until GitHub intake caught up
    relays: list[Loop] = field(default_factory=list)
    # Called each time this process becomes leader, before the leader's loops start.
    on_lead: list[Callable[[], None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    demo: bool = False
    ingest_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest")
    )

    @property
    def is_leader(self) -> bool:
        return self.leadership.is_leader

    async def store_delivery(
        self, source: str, key: str, event: str, body: bytes, *, same_body: bool = False
    ) -> bool:
        """Store a delivery in the inbox; ``same_body``: raise ``inbox.KeyReused`` for a stored
        key with another body (a webhook's delivery id names one event)."""

        def write() -> bool:
            with session_scope(self.engine, urgent=True) as session:
                return inbox.accept(
                    session,
                    source=source,
                    key=key,
                    event=event,
                    body=body,
                    now=self.clock.now(),
                    same_body=same_body,
                )

        # Its own threads: an acknowledgement must not queue behind the worker's and relays'
        # jobs in the default pool (GitHub gives up after 10 s; we aim for milliseconds).
        loop = asyncio.get_running_loop()
        new = await loop.run_in_executor(self.ingest_pool, write)
        METRICS.deliveries.labels(source=source, result="accepted" if new else "duplicate").inc()
        return new

    async def store_and_wake(self, source: str, key: str, event: str, body: bytes) -> bool:
        """Store a delivery found by the runtime itself, and wake the worker for it."""
        new = await self.store_delivery(source, key, event, body)
        if new:
            self.wake.set()
        return new

    # -- the leader's loops -------------------------------------------------------------------

    async def background(self) -> None:
        """Run until ``stop``: the leadership campaign and, while leader, the work loops."""
        loops: list[asyncio.Task[None]] = []

        def on_change(leader: bool) -> None:
            METRICS.leader.set(1 if leader else 0)
            if leader and not loops:
                for hook in self.on_lead:
                    hook()
                loops.extend(self._start_loops())
            elif not leader:
                for task in loops:
                    task.cancel()
                loops.clear()

        try:
            await campaign(self.leadership, on_change, stop=self.stop)
        finally:
            await self._wind_down(loops)

    async def _wind_down(self, loops: list[asyncio.Task[None]]) -> None:
        """Stop the loops after the step each is in. A step runs in a thread, which cancelling
        its task does not stop: it would go on writing after the caller disposed of the engine
        (on PostgreSQL, into a pool nobody closes). A loop still busy after ``STOP_GRACE``
        seconds is cancelled all the same."""
        self.wake.set()  # a loop waiting for its next step sees the stop at once
        if not loops:
            return
        try:
            _, late = await asyncio.wait(loops, timeout=STOP_GRACE)
            for task in late:
                log.warning("%s still busy %g s after the stop", task.get_name(), STOP_GRACE)
        finally:  # cancelled while waiting, too: no loop outlives background()
            for task in loops:
                task.cancel()
            for task in loops:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _start_loops(self) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(self._loop(name, step, every), name=f"{name} loop")
            for name, step, every in self.loop_specs()
        ]

    def loop_specs(self) -> list[tuple[str, Loop, float]]:
        """The leader's loops: (name, step, seconds between steps)."""
        loops: list[tuple[str, Loop, float]] = [
            ("inbox", self._process_inbox, 1.0),
            ("deadlines", self._tick, self.settings.tick_seconds),
        ]
        loops += [(f"relay-{i}", relay, 1.0) for i, relay in enumerate(self.relays)]
        if self.gateway is not None and self.settings.github_mode == "poll":
            every = self.settings.github_poll_seconds
            loops.append(("poll", paced(self._poll, timedelta(seconds=every)), every))
        if self.reconciler is not None and self.settings.github_mode == "webhook":
            every = self.settings.github_reconcile_seconds
            step = paced(self._reconcile, timedelta(seconds=every))
            loops.append(("reconcile", step, every))
        if self.checks is not None and self.settings.github_mode == "webhook":
            # Poll mode reads them on each poll; here on the reconcile interval, hook id or not.
            every = self.settings.github_reconcile_seconds
            loops.append(
                ("github-checks", paced(self._read_checks, timedelta(seconds=every)), every)
            )
        if self.releases is not None and self.settings.github_mode == "webhook":
            every = self.settings.github_reconcile_seconds  # as the checks, for the same reason
            step = paced(self._read_releases, timedelta(seconds=every))
            loops.append(("github-releases", step, every))
        if self.gateway is not None and self.settings.github_oauth_client_id:
            loops.append(("device-flow", self._device_flows, 5.0))
        return loops

    async def _loop(self, name: str, step: Loop, every: float) -> None:
        while not self.stop.is_set():
            try:
                await step(self.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s loop failed; retrying", name)
            if self.stop.is_set():
                break
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=every)

    async def _process_inbox(self, now: datetime) -> int:
        return await asyncio.to_thread(self.worker.process_pending, now)

    async def _tick(self, now: datetime) -> int:
        return await asyncio.to_thread(self.gov.tick, now)

    async def _device_flows(self, now: datetime) -> int:
        return await self.gov.identity_links.poll_device_flows(now)

    async def _reconcile(self, now: datetime) -> int:
        """One reconcile pass; a complete one lets the intake gate watch the inbox drain."""
        assert self.reconciler is not None
        try:
            recovered = await self.reconciler.run_once(now)
        except Exception as exc:
            self._intake_failed(f"GitHub reconcile failed: {type(exc).__name__}: {exc}")
            raise
        if self.reconciler.incomplete:  # held or stopped early: missed votes may be unread
            self._intake_failed(self.reconciler.incomplete)
        elif self.intake is not None:
            self.intake.fetched()
        return recovered

    async def _read_checks(self, now: datetime) -> int:
        """One pass of the check reader (bot.github.poll_checks). Check runs hold up no voting
        close, so a failure here is logged and leaves the intake gate alone."""
        if self.checks is None:
            return 0
        try:
            return await self.checks.run_once(now)
        except Exception:
            log.exception("reading check runs from GitHub failed; retried next pass")
            return 0

    async def _read_releases(self, now: datetime) -> int:
        """One pass of the release reader (bot.github.poll_releases). Releases hold up no
        voting close, so a failure here is logged and leaves the intake gate alone."""
        if self.releases is None:
            return 0
        try:
            return await self.releases.run_once(now)
        except Exception:
            log.exception("reading releases from GitHub failed; retried next pass")
            return 0

    def _intake_failed(self, why: str) -> None:
        if self.intake is not None:
            self.intake.failed(why)

    async def _poll(self, now: datetime) -> int:
        """One poll of GitHub; its deliveries go to the inbox. A complete one lets the intake
        gate watch the inbox drain (IntakeGate)."""
        from bot.github.poller import Poller, PollState
        from bot.github.ratelimit import RateLimitHeld

        assert self.gateway is not None
        with session_scope(self.engine) as session:
            saved = state.get(session, "github-poll")
        current = PollState.from_json(saved) if saved else PollState()
        try:
            result = await Poller(self.gateway).poll(current)
        except RateLimitHeld as waiting:  # GitHub asked the token to wait: poll again after
            log.info("github poll skipped: %s", waiting)
            self._intake_failed(f"GitHub poll held by its rate limit: {waiting}")
            return 0
        except Exception as exc:
            self._intake_failed(f"GitHub poll failed: {type(exc).__name__}: {exc}")
            raise
        stored = 0
        for delivery in result.deliveries:
            event = delivery.event
            if not isinstance(event, IssueEvent | CommentEvent):
                continue
            body = github_handler.encode_polled(event)
            stored += await self.store_delivery(
                "poll", delivery.delivery_id, delivery.event_name, body
            )
        with session_scope(self.engine) as session:
            state.put(session, "github-poll", result.state.to_json(), now)
        if self.intake is not None:
            self.intake.fetched()
        stored += await self._read_checks(now)  # after the intake: they hold up no close
        stored += await self._read_releases(now)
        if stored:
            self.wake.set()
        return stored
