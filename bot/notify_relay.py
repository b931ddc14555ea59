"""The notify relay: deliver ``notify`` and ``direct-message`` outbox items to people.

Rules (who and where: :mod:`bot.notify_plan`):
- Each item fans out to targets — a private message per linked chat identity, then one
  fallback message per fallback channel naming whoever could not be reached privately.
  Fallback channels are private charter channels only (``notify_plan.fallback_channels``);
  with none, nothing is posted and the unreached are named in the failed item's error.
- Per target, idempotent across crashes: its record is committed as ``sending`` before the
  send, the platform's message id is committed before it is marked ``sent``. A restart
  resends only records still ``sending`` without an id (at least once; Discord drops such a
  resend by its nonce), and never a target already delivered. Nothing is settled once per
  process: every step takes the due items and the records they left ``sending`` afresh, so a
  step cancelled mid-send (leadership lost) or ended by an error is finished by a later one.
  A message id the database would not take is kept in memory and recorded by the next step,
  so that target is not sent twice.
- A fallback names only people no earlier fallback in that channel named, so a retry after
  a crash or a late failure never mentions anyone twice there.
- Pacing is the broadcast relay's :class:`~bot.senders.pacing.Pacer` (shared when installed
  from :mod:`bot.broadcast`): per channel, per platform, and 429 pauses.
- A platform that refuses charterbot's own credentials (a revoked Discord token, Slack
  ``invalid_auth``) trips the credentials breaker shared with the broadcast relay
  (:mod:`bot.senders.breaker`): nothing more is sent to it for the pause, the coordinators are
  told once per pause, and its targets stay ``sending`` with the item pending until the pause
  ends, no attempt counted (an item held only by the breaker is never failed for it).
- A permanent failure (403/404, channel gone, cannot DM) is recorded on the target and not
  retried; a person whose every private message failed for good falls back to a mention.
  Transient failures retry the item with backoff (``storage.outbox``); an exception a sender
  raises instead of answering is logged and counts as one (:func:`bot.senders.base.attempt`).
- The item is ``sent`` when every recipient got a private message or a fallback mention
  (permanent errors of other targets stay in ``last_error``), ``failed`` when someone could
  not be reached at all. ``charterbot outbox requeue`` retries its failed targets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import Engine

from bot import notify_plan as plan, relay_fanout
from bot.clock import Clock, SystemClock
from bot.notify_plan import BadItem, Target
from bot.senders.base import Envelope, Sender, SendResult, attempt
from bot.senders.breaker import CredentialsBreaker
from bot.senders.pacing import Pacer
from charter.model import Charter
from storage import notify_deliveries as store, outbox
from storage.db import session_scope
from storage.models.core import OutboxRow
from storage.notify_deliveries import Item, Record

_T = TypeVar("_T")
NO_PRIVATE_CHANNEL = (
    "no private fallback channel (a charter channel marked private: true) can be posted to,"
    " and a message for a person is never posted on a public channel"
)


class Retry(NamedTuple):
    """A target left to a later attempt of its item: after ``after`` seconds (None: backoff);
    ``held`` when only the credentials breaker kept it back (no attempt is counted for it)."""

    after: float | None
    held: bool = False


class NotifyRelay:
    def __init__(
        self,
        engine: Engine,
        charter: Charter | Callable[[], Charter],
        senders: Mapping[str, Sender],
        *,
        pacer: Pacer | None = None,
        breaker: CredentialsBreaker | None = None,
        clock: Clock | None = None,
        rate_wait_limit: float = 5.0,
        batch: int = 50,
    ) -> None:
        self.engine = engine
        self._charter = charter
        self.senders = senders  # shared with the broadcast relay when installed with it
        self.pacer = pacer or Pacer()
        self.breaker = breaker or CredentialsBreaker()  # the broadcast relay's when installed
        self.clock = clock or SystemClock()
        self.rate_wait_limit = rate_wait_limit
        self.batch = batch
        self._unrecorded: dict[int, str] = {}  # record id -> message id sent, not committed

    @property
    def charter(self) -> Charter:
        return self._charter() if callable(self._charter) else self._charter

    async def _db(self, fn: Callable[..., _T], *args: object) -> _T:
        return await asyncio.to_thread(fn, *args)

    async def step(self, now: datetime | None = None) -> int:
        """Deliver the due items; returns how many were finished (sent or failed)."""
        now = now or self.clock.now()
        await self._db(self._record_unrecorded)
        items = await self._db(self._due, now)
        done = 0
        for item in items:
            done += await self.deliver(item)
        return done

    def _record_unrecorded(self) -> None:
        """Record the message ids sends returned when the database would not take them."""
        for row_id, message_id in list(self._unrecorded.items()):
            self._delivered(row_id, message_id)
            del self._unrecorded[row_id]

    def _due(self, now: datetime) -> list[Item]:
        with session_scope(self.engine) as session:
            return store.due_items(session, plan.KINDS, now, self.batch)

    # -- one item --------------------------------------------------------------------------

    async def deliver(self, item: Item) -> int:
        charter = self.charter
        try:
            who = plan.recipients(item.kind, item.payload, charter)
        except BadItem as exc:
            await self._db(self._finish, item.id, f"permanent: {exc}", None, True)
            return 1
        links, old = await self._db(self._state, item.id, who.logins)
        retry_failed = item.attempts == 0  # fresh, or requeued by an operator
        retries: list[Retry] = []  # the targets left to a later attempt
        for target in self._private(who, links, old, retry_failed):
            retries += await self._send(item, who.text, target)
        records = await self._db(self._records, item.id)
        needs = self._unreached_privately(who, links, records)
        channels = plan.fallback_channels(charter, self.senders)
        for platform, address in channels:
            for target in self._fallbacks(platform, address, needs, records, retry_failed):
                retries += await self._send(item, who.text, target)
        records = await self._db(self._records, item.id)
        return await self._db(self._settle, item, needs, records, bool(channels), retries)

    def _state(
        self, outbox_id: int, logins: tuple[str, ...]
    ) -> tuple[dict[str, list[tuple[str, str]]], list[Record]]:
        with session_scope(self.engine) as session:
            return store.links_for(session, logins), store.records(session, outbox_id)

    def _records(self, outbox_id: int) -> list[Record]:
        with session_scope(self.engine) as session:
            return store.records(session, outbox_id)

    def _private(
        self,
        who: plan.Recipients,
        links: dict[str, list[tuple[str, str]]],
        old: list[Record],
        retry_failed: bool,
    ) -> list[Target]:
        """Private targets still to send: new ones, unfinished ones, requeued failures."""
        by_key = {r.target: r for r in old}
        out: list[Target] = []
        for login in who.logins:
            for target in plan.private_targets(login, links[login.lower()], self.senders):
                rec = by_key.pop(target.key, None)
                if rec is None or _resend(rec, retry_failed):
                    out.append(target)
        for rec in by_key.values():  # begun before a link was removed: finish it as begun
            private = rec.target.startswith("dm:") and rec.platform in self.senders
            if private and _resend(rec, retry_failed):
                out.append(Target(rec.target, rec.platform, rec.address, rec.logins))
        return out

    def _unreached_privately(
        self, who: plan.Recipients, links: dict[str, list[tuple[str, str]]], records: list[Record]
    ) -> list[str]:
        """Logins with no private target left to try, and roles with nobody in them."""
        by_key = {r.target: r for r in records}
        out = []
        for login in who.logins:
            targets = plan.private_targets(login, links[login.lower()], self.senders)
            states = [by_key.get(t.key) for t in targets]
            if all(s is not None and s.status == "failed" for s in states):
                out.append(login)  # also when there is no target at all
        return out + [f"role:{r}" for r in who.empty_roles]

    def _fallbacks(
        self,
        platform: str,
        address: str,
        needs: list[str],
        records: list[Record],
        retry_failed: bool,
    ) -> list[Target]:
        mine = [r for r in records if r.target.startswith(f"fallback:{platform}:{address}:")]
        out = [
            Target(r.target, r.platform, r.address, r.logins, fallback=True)
            for r in mine
            if _resend(r, retry_failed)
        ]
        named = {n for r in mine for n in r.logins}  # failed ones go again only on requeue
        new = [n for n in needs if n not in named]
        if new:
            out.append(plan.fallback_target(platform, address, new))
        return out

    # -- one target ------------------------------------------------------------------------

    async def _send(self, item: Item, text: str, target: Target) -> list[Retry]:
        """Send to one target; returns its retry when it is left to a later attempt."""
        now = self.clock.now()
        row_id = await self._db(self._start, item.id, target, now)
        platform, destination = target.platform, target.destination
        held = self.breaker.held_for(platform, now)
        if held > 0:  # its credentials were refused: not sent, not counted
            await self._db(self._note, row_id, f"{platform} refused our credentials; held")
            return [Retry(held, held=True)]
        pacer = self.pacer
        pause = max(pacer.paused_until(destination), pacer.paused_until(platform)) - pacer.now()
        if pause > self.rate_wait_limit:  # long pauses are not waited out: the item retries
            await self._db(self._note, row_id, f"paused by a rate limit for {pause:.1f} s")
            return [Retry(pause)]
        sender = self.senders[target.platform]
        zone = self.charter.charter.timezone
        envelope = Envelope(
            delivery_id=row_id,
            key=f"notify.{item.id}.{row_id}",
            address=target.address,
            notice=plan.notice(item.kind, text, item.created_at, zone, target),
            payload={"kind": item.kind, "text": text, "logins": list(target.logins)},
        )
        result = SendResult(False, error="not sent")
        for _attempt in range(4):
            await self.pacer.wait_destination(platform, destination)
            await self.pacer.wait_platform(platform)
            self.pacer.sending(platform, destination)
            result = await attempt(sender, envelope)
            if result.ok and result.message_id:
                try:
                    await self._db(self._delivered, row_id, result.message_id)
                except BaseException:  # delivered all the same: never to be sent again
                    self._unrecorded[row_id] = result.message_id
                    raise
            self.pacer.observe(platform, destination, result)
            if result.ok and result.message_id:
                self.breaker.accepted(platform)
                return []
            if result.credentials:
                return [await self._refused(platform, row_id, result.error)]
            wait = result.retry_after
            if result.permanent or wait is None or wait > self.rate_wait_limit:
                break  # short rate limits are waited out by the pacer; the rest retry later
        if result.permanent:
            await self._db(self._fail_target, row_id, result.error)
            return []
        await self._db(self._note, row_id, result.error or "no message id returned")
        return [Retry(result.retry_after)]

    async def _refused(self, platform: str, row_id: int, error: str) -> Retry:
        """Trip the breaker (see the module rules): hold ``platform`` and tell the coordinators
        once per pause, as the broadcast relay does; the target waits, not counted."""
        now = self.clock.now()
        until = self.breaker.trip(platform, now)
        await self._db(self._note, row_id, error)
        roles = plan.failure_audience(self.charter)
        refused = relay_fanout.credentials_refused
        await self._db(refused, self.engine, platform, error, roles, now, until)
        return Retry((until - now).total_seconds(), held=True)

    def _start(self, outbox_id: int, target: Target, now: datetime) -> int:
        with session_scope(self.engine) as session:
            return store.start(
                session,
                outbox_id=outbox_id,
                target=target.key,
                platform=target.platform,
                address=target.address,
                logins=target.logins,
                now=now,
            )

    def _delivered(self, row_id: int, message_id: str) -> None:
        """Commit the message id, then (a second commit) mark the target sent."""
        with session_scope(self.engine) as session:
            store.record_id(session, row_id, message_id)
        with session_scope(self.engine) as session:
            store.mark_sent(session, row_id, self.clock.now())

    def _fail_target(self, row_id: int, error: str) -> None:
        with session_scope(self.engine) as session:
            store.mark_failed(session, row_id, error)

    def _note(self, row_id: int, error: str) -> None:
        with session_scope(self.engine) as session:
            store.note_error(session, row_id, error)

    # -- the item's outcome ----------------------------------------------------------------

    def _settle(
        self,
        item: Item,
        needs: list[str],
        records: list[Record],
        has_channels: bool,
        retries: list[Retry],
    ) -> int:
        pending = [r for r in records if not r.delivered and r.status != "failed"]
        if pending:
            error = "; ".join(f"{r.target}: {r.error or 'unsent'}" for r in pending)
            after = max((r.after for r in retries if r.after is not None), default=None)
            held = bool(retries) and all(r.held for r in retries)
            self._finish(item.id, error, None, False, after, held=held)
            return 0
        reached = {n for r in records if r.delivered for n in r.logins}
        unreached = [n for n in needs if n not in reached]
        errors = [f"{r.target}: {r.error}" for r in records if r.status == "failed"]
        if unreached:
            why = "" if has_channels else f"; {NO_PRIVATE_CHANNEL}"
            names = ", ".join(plan.mention(n) for n in unreached)
            errors.insert(0, f"permanent: could not reach {names}{why}")
            self._finish(item.id, "; ".join(errors), None, True)
        else:
            self._finish(item.id, "; ".join(errors), self.clock.now(), False)
        return 1

    def _finish(
        self,
        outbox_id: int,
        error: str,
        sent_at: datetime | None,
        failed: bool,
        retry_after: float | None = None,
        *,
        held: bool = False,
    ) -> None:
        """Close the item (``sent_at``, or ``failed``), else leave it to a later attempt: one
        more counted, unless ``held`` (only the credentials breaker kept it back)."""
        with session_scope(self.engine) as session:
            row = session.get(OutboxRow, outbox_id)
            if row is None:
                return
            if failed:
                outbox.mark_failed(session, row, error)
            elif sent_at is not None:
                row.last_error = error[:2000] or None
                outbox.mark_sent(session, row, sent_at, None)
            else:
                # ``counted=True``: nothing to add to the attempts (none was made)
                outbox.mark_retry(session, row, self.clock.now(), error, retry_after, counted=held)


def _resend(record: Record, retry_failed: bool) -> bool:
    """Whether a recorded target goes out (again) in this attempt."""
    if record.delivered:
        return False
    return record.status == "sending" or retry_failed
