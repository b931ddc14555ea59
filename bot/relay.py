"""The relay: deliver every announcement to every destination at least once, paced.

Rules:
- Outbox items of kind ``announce``/``digest`` are fanned out into per-destination deliveries
  in one transaction (:mod:`bot.relay_fanout`); other kinds are left to their own relays.
- Each delivery goes: claimed (``sending``, committed) → sent to the platform → the platform's
  message id committed → marked ``sent`` (committed). Before its first claim, and again after
  a step that did not finish (cancelled when leadership was lost, or an outcome that could not
  be recorded) and whenever this process becomes leader again (:meth:`Relay.unsettle`),
  :meth:`Relay.settle` marks ``sending`` rows that have a message id as sent (they were
  delivered) and returns those without one to pending (they are retried). Only ``pending``
  rows are claimed, so a row left ``sending`` would otherwise never be sent.
- A message id the platform returned but the database would not take is kept in memory and
  recorded when settling: that delivery is not sent again.
- Hence delivery is at least once, and a duplicate appears only when the process dies after
  the platform accepted a message and before its id was committed — a window of one local
  database commit. Discord drops such a resend by its ``nonce``; e-mail keeps the same
  Message-ID; webhooks repeat ``X-Charterbot-Delivery``; Slack shows the duplicate.
- Pacing (:mod:`bot.senders.pacing`): per destination and per platform; a 429 pauses only the
  destination it came from (unless the platform says the limit is global) and the rest go on.
  A pause longer than ``rate_wait_limit`` hands that destination's jobs back to the database
  with ``next_attempt_at`` at the end of the pause.
- A delivery to a platform with no sender here (not configured in this deployment) is marked
  ``skipped`` with the reason, not failed, and nobody is notified (:func:`bot.relay_fanout.skip`).
- Transient errors back off exponentially with jitter (storage.outbox's policy: tries span a
  day or two); permanent ones fail at once, are recorded and reported to the coordinators
  through a ``notify`` outbox item. A delivery whose tries ran out is given up the same way
  (failed, the coordinators told), and also logged as a warning and counted
  (``charterbot_deliveries_given_up_total``). That notice goes
  to people and private channels on configured platforms only (``bot.notify_plan``), and its
  own failure writes no further notice, so notices never loop. A permanent
  failure counts toward removing the destination's subscription unless only that message was
  refused (``SendResult.message_refused``). An exception a sender raises instead of answering
  is logged and counts as a transient error (:func:`bot.senders.base.attempt`), so no
  delivery is left ``sending`` by it.
- A platform that refuses our credentials or our own settings (a revoked token, a mail server
  refusing charterbot's sender address or demanding a login) is a circuit breaker: nothing more
  is sent to it for ``CREDENTIALS_PAUSE`` (each delivery that would have been goes back to
  pending, its attempts kept), the coordinators are told once per pause, and then one delivery
  tries again. Deliveries are not failed for it: they go out once the setting is fixed. The
  breaker (:mod:`bot.senders.breaker`) is shared with the notify relay.
- Fault injection for tests: ``CHARTERBOT_RELAY_FAULT=<point>`` SIGKILLs the process at
  ``after-fanout``, ``after-claim``, ``after-send`` (answer received, id not recorded) or
  ``after-record`` (id recorded, not marked sent).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine

from bot import relay_fanout as db
from bot.clock import Clock, SystemClock
from bot.github_web import GITHUB_WEB, default_web_url
from bot.metrics import METRICS
from bot.notify_plan import failure_audience
from bot.relay_fanout import ClaimContext, Prepared
from bot.senders.base import Sender, attempt
from bot.senders.breaker import CREDENTIALS_PAUSE as CREDENTIALS_PAUSE, CredentialsBreaker
from bot.senders.pacing import Pacer
from charter.model import Charter
from storage import deliveries, outbox
from storage.db import session_scope
from storage.deliveries import Job

FAULT_ENV = "CHARTERBOT_RELAY_FAULT"
log = logging.getLogger("charterbot.relay")
_T = TypeVar("_T")


def fault(point: str) -> None:
    """Die here, hard, when the test harness asks for it (see the module docstring)."""
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Stats:
    sent: int = 0
    rate_limited: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


class Relay:
    def __init__(
        self,
        engine: Engine,
        charter: Charter | Callable[[], Charter],
        senders: Mapping[str, Sender],
        *,
        pacer: Pacer | None = None,
        public_url: str = "http://127.0.0.1:8080",
        github_web: str = GITHUB_WEB,
        clock: Clock | None = None,
        concurrency: int = 8,
        batch: int = 2000,
        per_destination: int = 5,
        rate_wait_limit: float = 5.0,
    ) -> None:
        self.engine = engine
        self._charter = charter
        self.senders = dict(senders)
        self.pacer = pacer or Pacer()
        self.public_url = public_url
        self.github_web = github_web  # GitHub's web host, for the notices' links
        self.clock = clock or SystemClock()
        self.batch = batch
        self.per_destination = per_destination
        self.rate_wait_limit = rate_wait_limit
        platforms = ("slack", "discord", "email", "webhook", "github")
        self._slots = {p: asyncio.Semaphore(concurrency) for p in platforms}
        self.breaker = CredentialsBreaker()  # shared with the notify relay (bot.broadcast)
        self._settled = False  # False: rows may be left ``sending``; settle before claiming
        self._unrecorded: dict[int, str] = {}  # delivery id -> message id sent, not committed
        self.stats = Stats()

    @property
    def charter(self) -> Charter:
        return self._charter() if callable(self._charter) else self._charter

    def _now(self) -> datetime:
        return self.clock.now()

    def notify_roles(self) -> tuple[str, ...]:
        return failure_audience(self.charter)

    # -- database steps (run in a worker thread: SQLite may wait on its write lock) ----------

    async def _db(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.to_thread(fn, *args)

    def reconcile(self) -> tuple[int, int]:
        """After a restart: (deliveries confirmed by their message id, deliveries to retry)."""
        with session_scope(self.engine) as session:
            return deliveries.reconcile(session, self._now())

    def settle(self) -> tuple[int, int]:
        """Record the message ids sends returned that could not be committed, then reconcile
        every ``sending`` row; call it only while no delivery of this relay is in flight."""
        for delivery_id, message_id in list(self._unrecorded.items()):
            self._finish(delivery_id, message_id)
            del self._unrecorded[delivery_id]
        return self.reconcile()

    def unsettle(self) -> None:
        """Settle before the next claim: this process has just become leader, and a leader
        before it (another replica, or this one before it lost the lock) may have left
        deliveries ``sending``."""
        self._settled = False

    def prepare(self) -> int:
        """Fan out pending announcements and due digests; returns outbox items handled."""
        now = self._now()
        made = db.queue_digests(self.engine, self.charter, now)
        done = db.fan_out(self.engine, self.charter, now)
        if done:
            fault("after-fanout")
        return made + done

    # -- delivering -------------------------------------------------------------------------

    async def deliver_once(self) -> int:
        """Claim what is due and deliver it; returns how many were sent."""
        ctx = ClaimContext(self.charter, self.public_url, github_web=self.github_web)
        claimed = await self._db(
            db.claim, self.engine, ctx, self._now(), self.batch, self.per_destination
        )
        if not claimed:
            return 0
        fault("after-claim")
        groups: dict[str, list[Prepared]] = {}
        for item in claimed:
            groups.setdefault(item.job.destination, []).append(item)
        before = self.stats.sent
        # Every destination runs to its end before a failure is raised: a step that failed
        # leaves nothing in flight, so the next one may settle every ``sending`` row.
        outcomes = await asyncio.gather(
            *(self._destination(items) for items in groups.values()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return self.stats.sent - before

    async def _destination(self, items: list[Prepared]) -> None:
        for index, item in enumerate(items):
            refused = self._refused_for(item.job.platform)
            if refused > 0:  # its credentials were refused: hand the rest back, unattempted
                for rest in items[index:]:
                    await self._db(self._retry, rest.job.id, "credentials refused", refused, True)
                return
            pause = self.pacer.paused_until(item.job.destination) - self.pacer.now()
            if pause > self.rate_wait_limit:
                for rest in items[index:]:
                    await self._db(self._retry, rest.job.id, "paused by a rate limit", pause, True)
                return
            await self._deliver(item)

    async def _deliver(self, item: Prepared) -> None:
        job, platform = item.job, item.job.platform
        sender = self.senders.get(platform)
        if sender is None:  # not set up in this deployment: skipped, not a failure
            reason = f"{platform} is not configured here (no credentials); not sent"
            await self._db(db.skip, self.engine, job.id, reason)
            self.stats.skipped += 1
            return
        for _wait in range(6):
            await self.pacer.wait_destination(platform, job.destination)
            # The slot covers the send and recording its id: "concurrency" counts deliveries
            # whose outcome is not yet durable (with 1, a crash can leave at most one unknown).
            async with self._slots[platform]:
                await self.pacer.wait_platform(platform)
                self.pacer.sending(platform, job.destination)
                result = await attempt(sender, item.envelope)
                if result.ok and result.message_id:
                    fault("after-send")
                    await self._record(job.id, result.message_id)
            self.pacer.observe(platform, job.destination, result)
            if result.ok and result.message_id:
                self.breaker.accepted(platform)
                self.stats.sent += 1
                return
            if result.credentials:
                await self._refuse(platform, job.id, result.error)
                return
            limited = result.retry_after is not None and not result.permanent
            if limited:
                self.stats.rate_limited += 1
                if (result.retry_after or 0.0) <= self.rate_wait_limit:
                    continue  # the pacer holds this destination until Retry-After has passed
            break
        if result.permanent:
            roles = self.notify_roles()
            # the destination's own answer counts against its subscription; a refusal of this
            # message alone (its content) says nothing about the destination
            refused = functools.partial(db.fail, refused=not result.message_refused)
            await self._db(refused, self.engine, job.id, result.error, roles, self._now())
            self.stats.failed += 1
        elif await self._db(self._retry, job.id, result.error, result.retry_after, limited):
            self.stats.retried += 1
        else:
            self._given_up(job, result.error)

    def _refused_for(self, platform: str) -> float:
        """Seconds left before ``platform`` is tried again after refusing our credentials."""
        return self.breaker.held_for(platform, self._now())

    async def _refuse(self, platform: str, delivery_id: int, error: str) -> None:
        """Trip the breaker: hold ``platform`` for ``CREDENTIALS_PAUSE`` and say so, once."""
        now = self._now()
        until = self.breaker.trip(platform, now)
        wait = (until - now).total_seconds()
        await self._db(self._retry, delivery_id, error, wait, True)
        roles = self.notify_roles()
        await self._db(db.credentials_refused, self.engine, platform, error, roles, now, until)
        self.stats.retried += 1

    async def _record(self, delivery_id: int, message_id: str) -> None:
        """Record a sent delivery; if that fails, keep its id for :meth:`settle` (delivered:
        never to be sent again) and let the failure end the step."""
        try:
            await self._db(self._finish, delivery_id, message_id)
        except BaseException:
            self._unrecorded[delivery_id] = message_id
            raise

    def _finish(self, delivery_id: int, message_id: str) -> None:
        """Commit the message id, then (a second commit) mark the delivery sent."""
        with session_scope(self.engine) as session:
            deliveries.record_id(session, delivery_id, message_id)
        fault("after-record")
        with session_scope(self.engine) as session:
            deliveries.mark_sent(session, delivery_id, self._now())

    def _retry(
        self, delivery_id: int, error: str, retry_after: float | None, rate_limited: bool
    ) -> bool:
        """Retry later; False when the delivery's tries ran out (given up: failed, and the
        coordinators told, by :func:`bot.relay_fanout.retry`)."""
        roles = self.notify_roles()
        now = self._now()
        return db.retry(self.engine, delivery_id, error, retry_after, rate_limited, roles, now)

    def _given_up(self, job: Job, error: str) -> None:
        """Say so where operators look: the log and ``/metrics``."""
        log.warning(
            "delivery %d to %s given up after %d tries: %s",
            job.id,
            job.platform,
            outbox.MAX_ATTEMPTS,
            error,
        )
        METRICS.deliveries_given_up.labels(surface=job.platform).inc()
        self.stats.failed += 1

    # -- loops ------------------------------------------------------------------------------

    def _pending(self) -> tuple[int, datetime | None]:
        with session_scope(self.engine) as session:
            return deliveries.unfinished(session), deliveries.next_due(session)

    async def step(self) -> int:
        """Settle if needed, fan out, deliver. A step that does not finish (an error, or
        cancelled with the leader's loops) may leave rows ``sending``: the next one settles."""
        if not self._settled:
            await self._db(self.settle)
            self._settled = True
        try:
            await self._db(self.prepare)
            return await self.deliver_once()
        except BaseException:
            self._settled = False
            raise

    async def run_until_idle(self, limit: float = 60.0) -> Stats:
        """Deliver until nothing is pending (tests, benchmarks, ``--until-idle``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        self.unsettle()  # on start: settle what a crash left in flight
        while loop.time() < deadline:
            await self.step()
            left, next_due = await self._db(self._pending)
            if not left:
                return self.stats
            await asyncio.sleep(_delay(next_due, self._now(), 0.5))
        raise TimeoutError(f"relay still had deliveries pending after {limit} s")

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set; ``wake`` (set on every change) cuts waits short."""
        wake = wake or asyncio.Event()
        self.unsettle()  # on start: settle what a crash left in flight
        while not stop.is_set():
            await self.step()
            _left, next_due = await self._db(self._pending)
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), _delay(next_due, self._now(), 5.0))


def _delay(next_due: datetime | None, now: datetime, cap: float) -> float:
    if next_due is None:
        return cap
    wait = (next_due.replace(tzinfo=next_due.tzinfo or UTC) - now) / timedelta(seconds=1)
    return min(cap, max(0.01, wait))


async def _main_async(args: argparse.Namespace) -> None:
    from bot.charter_file import example_charter_path, read_charter
    from bot.senders.factory import build_senders
    from bot.senders.pacing import Limits
    from bot.settings import Settings
    from storage.db import make_engine

    settings = Settings()
    loaded = read_charter(args.charter or settings.charter or example_charter_path())
    engine = make_engine(args.database_url or settings.database_url)
    senders = build_senders(settings)
    relay = Relay(
        engine,
        loaded.charter,
        senders,
        pacer=Pacer(Limits().scaled(args.scale)),
        public_url=settings.public_url,
        github_web=default_web_url(settings.github_api_url),
        concurrency=args.concurrency,
    )
    try:
        if args.until_idle:
            await relay.run_until_idle(args.timeout)
        else:
            await relay.run(asyncio.Event())
    finally:
        for sender in senders.values():
            await sender.aclose()
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """``python -m bot.relay [--until-idle]``: run the relay on its own (tests, operators)."""
    parser = argparse.ArgumentParser(prog="python -m bot.relay", description=main.__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--charter")
    parser.add_argument("--until-idle", action="store_true", help="exit when nothing is pending")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply pacing intervals")
    parser.add_argument("--concurrency", type=int, default=8, help="in-flight sends per platform")
    asyncio.run(_main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
