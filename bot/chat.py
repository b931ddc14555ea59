"""Chat transports in the one ``charterbot serve`` process, against the one store.

Slack (HTTP mode at ``POST /slack/events``, or Socket Mode when ``SLACK_APP_TOKEN`` is set) and
Discord start only when their credentials are present; the log says which are running and why
the others are not. Both call the same service (``Governance`` is the ``CommandCore``).
``POST /slack/events`` is served only with a ``SLACK_SIGNING_SECRET`` (it verifies every
request); Socket Mode without one has no HTTP endpoint (404), never a stand-in secret.

Rules of the command journal (``InboxJournal``, inbox source ``chat-command:<surface>``):
- A command, a vote click or an ``@mention`` is recorded before it is acknowledged and closed
  once answered; a write slower than ``bot.acks.ACK_BUDGET`` gets the platform's interim
  acknowledgment meanwhile (not acceptance: the command runs only once recorded). Slack's
  retries of a mention (same ``event_id``) find its entry and have no second effect, across
  restarts too.
- Its live handler holds the entry by a lease (``LEASE``) it renews every ``RENEW_EVERY`` while
  it runs, at most ``HOLD_AT_MOST``; the process running it never replays it. So only a command
  whose handler is gone (a crash, a killed replica) is replayed, however slow its answer is.
- The leader replays such a command once (it takes the lease over first), judged at the time
  it was received (``AtReceipt``) and answered as the live handler would have answered it.
  Only an answer that can no longer be delivered closes it unrun: a Slack response_url is
  good for 30 minutes; a Slack mention (chat.postMessage) and a Discord command (in its
  channel once its interaction token has expired) are answered at any age.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.messages import Actor, Message
from charter import commands as c
from charter.grammar import parse_chat
from storage import inbox, state
from storage.db import session_scope

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.clock import Clock
    from bot.runtime import Runtime
    from bot.service import Governance

log = logging.getLogger("charterbot.chat")

JOURNAL_SOURCE = "chat-command:"  # + surface
LEASE = timedelta(seconds=30)  # an entry whose lease ran out has no live handler any more
RENEW_EVERY = 10.0  # seconds between a live handler's renewals: three per lease
HOLD_AT_MOST = timedelta(minutes=5)  # a handler silent this long is presumed lost
ANSWERABLE_FOR = timedelta(minutes=30)  # Slack accepts answers on response_url this long


def response_url_life(entry: dict[str, str]) -> timedelta | None:
    """How long after its receipt a stranded Slack entry can still be answered: a command's or
    a click's response_url for ``ANSWERABLE_FOR``; a mention's answer is a chat.postMessage in
    its thread, which does not expire (None)."""
    return ANSWERABLE_FOR if "response_url" in entry else None


def never_expires(entry: dict[str, str]) -> timedelta | None:
    """A Discord entry is answered at any age: in its channel once its token is past its life
    (see ``bot.discord.reply``)."""
    return None


class AtReceipt:
    """The command core judging a replayed command at the time it was received, as its live
    handler would have (a vote acknowledged before the deadline counts), not at replay time."""

    def __init__(self, gov: Governance, received_at: datetime) -> None:
        self._gov = gov
        self._at = received_at

    async def run(self, text: str, actor: Actor) -> Message:
        if isinstance(parse_chat(text), c.Link):  # a proof started now lives from now
            return await self._gov.run(text, actor)
        return await asyncio.to_thread(self._gov.run_sync, text, actor, self._at)

    async def identity(self, surface: str, surface_id: str, display: str) -> Actor:
        return await self._gov.identity(surface, surface_id, display)

    async def open_proposals(self, prefix: str) -> list[tuple[int, str]]:
        return await self._gov.open_proposals(prefix)


class InboxJournal:
    """Chat commands recorded in the inbox before the ack, held while they run, replayed by
    the leader when a crash stranded them (see the module's rules)."""

    def __init__(self, rt: Runtime, *, renew_every: float = RENEW_EVERY) -> None:
        self._rt = rt
        self._renew_every = renew_every
        self._held: dict[tuple[str, str], datetime] = {}  # (surface, key) -> held since
        self._heartbeat: asyncio.Task[None] | None = None

    async def record(self, surface: str, key: str, entry: dict[str, str]) -> bool:
        body = json.dumps(entry, sort_keys=True).encode()
        now = self._rt.clock.now()

        def write() -> bool:
            with session_scope(self._rt.engine, urgent=True) as session:
                return inbox.accept(
                    session,
                    source=JOURNAL_SOURCE + surface,
                    key=key,
                    event="command",
                    body=body,
                    now=now,
                    lease_until=now + LEASE,
                )

        loop = asyncio.get_running_loop()
        new = await loop.run_in_executor(self._rt.ingest_pool, write)
        if new:
            self._hold(surface, key, now)
        return new

    async def done(self, surface: str, key: str, error: str | None = None) -> None:
        try:
            await asyncio.to_thread(self._finish, surface, key, error)
        finally:
            self._release(surface, key)

    async def aclose(self) -> None:
        """Stop renewing leases (at shutdown): what is still open is replayed later."""
        self._held.clear()
        self._stop_beat()

    def _finish(self, surface: str, key: str, error: str | None) -> None:
        with session_scope(self._rt.engine) as session:
            inbox.finish(
                session,
                source=JOURNAL_SOURCE + surface,
                key=key,
                now=self._rt.clock.now(),
                error=error,
            )

    # -- the leases of the commands this process runs ------------------------------------------

    def _hold(self, surface: str, key: str, since: datetime) -> None:
        self._held[(surface, key)] = since
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat(), name="chat-journal-leases")

    def _release(self, surface: str, key: str) -> None:
        self._held.pop((surface, key), None)
        if not self._held:
            self._stop_beat()  # nothing left to renew

    def _stop_beat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None

    def _holds(self, surface: str, key: str, now: datetime) -> bool:
        since = self._held.get((surface, key))
        return since is not None and now - since < HOLD_AT_MOST

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._renew_every)
            now = self._rt.clock.now()
            for surface, key in [k for k in self._held if not self._holds(*k, now)]:
                log.warning(
                    "%s command %s unanswered after %s; left to the replay",
                    surface,
                    key,
                    HOLD_AT_MOST,
                )
                self._held.pop((surface, key))
            if not self._held:
                self._heartbeat = None
                return
            try:
                await asyncio.to_thread(self._extend, list(self._held), now + LEASE)
            except Exception:  # the next beat tries again, well inside the lease
                log.exception("renewing chat command leases failed")

    def _extend(self, held: list[tuple[str, str]], until: datetime) -> None:
        with session_scope(self._rt.engine) as session:
            for surface in {surface for surface, _ in held}:
                keys = [key for s, key in held if s == surface]
                inbox.extend_leases(
                    session, source=JOURNAL_SOURCE + surface, keys=keys, until=until
                )

    # -- the leader's replay ------------------------------------------------------------------

    async def replay(
        self,
        now: datetime,
        run: Any,
        *,
        surface: str = "slack",
        answerable_for: Callable[[dict[str, str]], timedelta | None] = response_url_life,
    ) -> int:
        """Run and answer the commands of ``surface`` a crash left between ack and answer; those
        older than ``answerable_for(entry)`` (None: no limit) can no longer be answered and are
        closed unrun. ``run`` gets the entry with its ``received_at`` (ISO 8601), the time to
        judge it at, and returns what to keep on the closed entry (None: answered)."""

        def stale() -> list[tuple[str, bytes, datetime]]:
            with session_scope(self._rt.engine) as session:
                rows = inbox.stranded(
                    session, source=JOURNAL_SOURCE + surface, now=now, lease=LEASE
                )
                return [(r.key, r.body, r.received_at) for r in rows]

        replayed = 0
        for key, body, received in await asyncio.to_thread(stale):
            received = received if received.tzinfo else received.replace(tzinfo=UTC)
            if self._holds(surface, key, now) or not await self._take_over(surface, key, now):
                continue  # still running (here, or renewed by another process)
            entry = json.loads(body)
            life = answerable_for(entry)
            if life is not None and now - received > life:
                await self.done(surface, key, "expired before replay")
                continue
            try:
                outcome = await run(entry | {"received_at": received.isoformat()})
            except Exception as exc:  # not again: it may have run before it failed
                log.exception("replaying %s command %s failed", surface, key)
                await self.done(surface, key, f"replay failed: {type(exc).__name__}: {exc}"[:500])
                continue
            await self.done(surface, key, outcome)
            replayed += 1
        return replayed

    async def _take_over(self, surface: str, key: str, now: datetime) -> bool:
        """Lease a stranded entry for this replay (held and renewed like a live command)."""

        def take() -> bool:
            with session_scope(self._rt.engine) as session:
                return inbox.take_over(
                    session, source=JOURNAL_SOURCE + surface, key=key, now=now, until=now + LEASE
                )

        taken = await asyncio.to_thread(take)
        if taken:
            self._hold(surface, key, now)
        return taken


def received_at(entry: dict[str, str]) -> datetime:
    """The time a replayed entry was received (see ``InboxJournal.replay``)."""
    return datetime.fromisoformat(entry["received_at"])


def install(rt: Runtime) -> None:
    settings = rt.settings
    if settings.slack_enabled:
        _install_slack(rt)
    else:
        log.info(
            "Slack not started: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN)"
        )
    if settings.discord_enabled:
        _install_discord(rt)
    else:
        log.info("Discord not started: set DISCORD_TOKEN")


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def _journal(rt: Runtime) -> InboxJournal:
    """The process's one journal (its leases are renewed together), shared by the transports."""
    journal: InboxJournal | None = rt.extras.get("chat_journal")
    if journal is None:
        journal = rt.extras["chat_journal"] = InboxJournal(rt)
        rt.extras.setdefault("shutdown", []).append(journal.aclose)
    return journal


def _install_slack(rt: Runtime) -> None:
    from bot.slack.app import Responder, build_slack_app
    from bot.slack.serve import slack_routes, start_socket_mode

    settings = rt.settings
    responder = Responder(None, pooled=True)  # answers reuse keep-alive connections
    journal = _journal(rt)
    # Without a signing secret nothing could tell Slack's HTTP requests from forged ones: the
    # app then takes Socket Mode envelopes only, and POST /slack/events is not served at all.
    signing_secret = _secret(settings.slack_signing_secret) or None
    app = build_slack_app(
        rt.gov,
        signing_secret=signing_secret,
        bot_token=_secret(settings.slack_bot_token),
        api_url=settings.slack_api_url,
        responder=responder,
        journal=journal,  # also the durable dedupe of Slack's event retries
    )
    rt.extras["slack_app"] = app

    async def replay_step(now: datetime) -> int:
        async def run(entry: dict[str, str]) -> None:
            from bot.slack.app import replay_entry

            core = AtReceipt(rt.gov, received_at(entry))
            await replay_entry(core, responder, entry, app.client)

        return await journal.replay(now, run)

    rt.relays.append(replay_step)  # leader only, like every relay
    rt.extras.setdefault("shutdown", []).append(responder.aclose)
    if signing_secret is not None:
        rt.extras.setdefault("routes", []).extend(slack_routes(app))
        log.info("Slack HTTP requests accepted at POST /slack/events")
    else:
        log.info("Slack has no HTTP endpoint: set SLACK_SIGNING_SECRET for POST /slack/events")
    if settings.slack_app_token is not None:
        handlers: list[Any] = []

        async def start() -> None:
            handlers.append(await start_socket_mode(app, _secret(settings.slack_app_token)))
            log.info("Slack running in Socket Mode")

        async def stop() -> None:
            for handler in handlers:
                await handler.close_async()

        rt.extras.setdefault("startup", []).append(start)
        rt.extras.setdefault("shutdown", []).append(stop)


def discord_replay_step(rt: Runtime, journal: InboxJournal, client: Any) -> Any:
    """The relay step answering Discord commands a crash stranded (see bot.discord.reply)."""
    from bot.discord.reply import replay_entry

    async def step(now: datetime) -> int:
        async def run(entry: dict[str, str]) -> str | None:
            at = received_at(entry)  # judged then, however late it is answered
            return await replay_entry(AtReceipt(rt.gov, at), client, entry, now - at)

        return await journal.replay(now, run, surface="discord", answerable_for=never_expires)

    return step


class StateHashes:
    """The hashes of the Discord command definitions last synced, in ``kv_state`` (durable
    across restarts, shared by replicas): see ``bot.discord.client``."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def get(self, key: str) -> str | None:
        def read() -> str | None:
            with session_scope(self._engine) as session:
                value = state.get(session, key)
                return value if isinstance(value, str) else None

        return await asyncio.to_thread(read)

    async def put(self, key: str, digest: str) -> None:
        def write() -> None:
            with session_scope(self._engine) as session:
                state.put(session, key, digest, self._clock.now())

        await asyncio.to_thread(write)


def _install_discord(rt: Runtime) -> None:
    from bot.discord.client import CharterBot, parse_guild_id

    settings = rt.settings
    journal = _journal(rt)
    client = CharterBot(
        rt.gov,
        guild_id=parse_guild_id(settings.discord_guild_id),
        api_url=settings.discord_api_url,
        journal=journal,
        synced=StateHashes(rt.engine, rt.clock),
    )
    rt.extras["discord_client"] = client
    rt.relays.append(discord_replay_step(rt, journal, client))  # leader only

    async def start() -> None:
        log.info("Discord connecting")
        await client.start(_secret(settings.discord_token))

    async def stop() -> None:
        await client.close()

    rt.extras.setdefault("startup", []).append(start)
    rt.extras.setdefault("shutdown", []).append(stop)
