"""Chat transports in the one ``charterbot serve`` process, against the one store.

Slack (HTTP mode at ``POST /slack/events``, or Socket Mode when ``SLACK_APP_TOKEN`` is set) and
Discord start only when their credentials are present; the log says which are running and why
the others are not. Both call the same service (``Governance`` is the ``CommandCore``).

Slack's retries (same ``event_id``) are deduplicated durably: the key is stored in the inbox
table, so a retry arriving after a restart still has no second effect.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from storage import inbox
from storage.db import session_scope

if TYPE_CHECKING:
    from bot.bootstrap import Runtime

log = logging.getLogger("charterbot.chat")


class DurableDedupe:
    """First-seen keys recorded in the inbox table (source ``slack``), across restarts."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    async def seen(self, key: str) -> bool:
        def record() -> bool:
            with session_scope(self._rt.engine, urgent=True) as session:
                return not inbox.accept(
                    session,
                    source="slack",
                    key=key,
                    event="slack-event",
                    body=b"",
                    now=self._rt.clock.now(),
                    processed=True,  # a marker: nothing left to process
                )

        return await asyncio.to_thread(record)


JOURNAL_SOURCE = "chat-command:"  # + surface
REPLAY_AFTER = timedelta(seconds=30)  # younger entries may still be running right now
ANSWERABLE_FOR = timedelta(minutes=30)  # Slack accepts answers on response_url this long
DISCORD_ANSWERABLE_FOR = timedelta(minutes=14)  # an interaction token lives 15 minutes


class InboxJournal:
    """Chat commands recorded in the inbox (source ``chat-command:<surface>``) before the ack."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    async def record(self, surface: str, key: str, entry: dict[str, str]) -> bool:
        body = json.dumps(entry, sort_keys=True).encode()

        def write() -> bool:
            with session_scope(self._rt.engine, urgent=True) as session:
                return inbox.accept(
                    session,
                    source=JOURNAL_SOURCE + surface,
                    key=key,
                    event="command",
                    body=body,
                    now=self._rt.clock.now(),
                )

        return await asyncio.get_running_loop().run_in_executor(self._rt.ingest_pool, write)

    async def done(self, surface: str, key: str, error: str | None = None) -> None:
        await asyncio.to_thread(self._finish, surface, key, error)

    def _finish(self, surface: str, key: str, error: str | None) -> None:
        with session_scope(self._rt.engine) as session:
            inbox.finish(
                session,
                source=JOURNAL_SOURCE + surface,
                key=key,
                now=self._rt.clock.now(),
                error=error,
            )

    async def replay(
        self,
        now: datetime,
        run: Any,
        *,
        surface: str = "slack",
        answerable_for: timedelta = ANSWERABLE_FOR,
    ) -> int:
        """Run and answer the commands of ``surface`` a crash left between ack and answer;
        those older than ``answerable_for`` can no longer be answered and are closed."""

        def stale() -> list[tuple[str, bytes, datetime]]:
            with session_scope(self._rt.engine) as session:
                rows = inbox.unprocessed(
                    session, source=JOURNAL_SOURCE + surface, received_before=now - REPLAY_AFTER
                )
                return [(r.key, r.body, r.received_at) for r in rows]

        replayed = 0
        for key, body, received in await asyncio.to_thread(stale):
            received = received if received.tzinfo else received.replace(tzinfo=UTC)
            if now - received > answerable_for:
                await asyncio.to_thread(self._finish, surface, key, "expired before replay")
                continue
            try:
                await run(json.loads(body))
            except Exception as exc:  # not again: it may have run before it failed
                log.exception("replaying %s command %s failed", surface, key)
                await self.done(surface, key, f"replay failed: {type(exc).__name__}: {exc}"[:500])
                continue
            await self.done(surface, key)
            replayed += 1
        return replayed


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


def _install_slack(rt: Runtime) -> None:
    from bot.slack.app import Responder, build_slack_app
    from bot.slack.serve import slack_routes, start_socket_mode

    settings = rt.settings
    responder = Responder(None, pooled=True)  # answers reuse keep-alive connections
    journal = InboxJournal(rt)
    app = build_slack_app(
        rt.gov,
        signing_secret=_secret(settings.slack_signing_secret) or "unused-in-socket-mode",
        bot_token=_secret(settings.slack_bot_token),
        api_url=settings.slack_api_url,
        dedupe=DurableDedupe(rt),
        responder=responder,
        journal=journal,
    )
    rt.extras["slack_app"] = app
    rt.extras["chat_journal"] = journal

    async def replay_step(now: datetime) -> int:
        async def run(entry: dict[str, str]) -> None:
            from bot.slack.app import replay_entry

            await replay_entry(rt.gov, responder, entry)

        return await journal.replay(now, run)

    rt.relays.append(replay_step)  # leader only, like every relay
    rt.extras.setdefault("shutdown", []).append(responder.aclose)
    rt.extras.setdefault("routes", []).extend(slack_routes(app))
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
    else:
        log.info("Slack running in HTTP mode at POST /slack/events")


def discord_replay_step(rt: Runtime, journal: InboxJournal, client: Any) -> Any:
    """The relay step answering Discord commands a crash stranded (see bot.discord.reply)."""
    from bot.discord.reply import replay_entry

    async def step(now: datetime) -> int:
        async def run(entry: dict[str, str]) -> None:
            await replay_entry(rt.gov, client, entry)

        return await journal.replay(
            now, run, surface="discord", answerable_for=DISCORD_ANSWERABLE_FOR
        )

    return step


def _install_discord(rt: Runtime) -> None:
    from bot.discord.client import CharterBot, parse_guild_id

    settings = rt.settings
    journal = rt.extras.get("chat_journal") or InboxJournal(rt)
    client = CharterBot(
        rt.gov,
        guild_id=parse_guild_id(settings.discord_guild_id),
        api_url=settings.discord_api_url,
        journal=journal,
    )
    rt.extras["discord_client"] = client
    rt.extras["chat_journal"] = journal
    rt.relays.append(discord_replay_step(rt, journal, client))  # leader only

    async def start() -> None:
        log.info("Discord connecting")
        await client.start(_secret(settings.discord_token))

    async def stop() -> None:
        await client.close()

    rt.extras.setdefault("startup", []).append(start)
    rt.extras.setdefault("shutdown", []).append(stop)
