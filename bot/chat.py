"""Chat transports in the one ``charterbot serve`` process, against the one store.

Slack (HTTP mode at ``POST /slack/events``, or Socket Mode when ``SLACK_APP_TOKEN`` is set) and
Discord start only when their credentials are present; the log says which are running and why
the others are not. Both call the same service (``Governance`` is the ``CommandCore``).

Slack's retries (same ``event_id``) are deduplicated durably: the key is stored in the inbox
table, so a retry arriving after a restart still has no second effect.
"""

from __future__ import annotations

import asyncio
import logging
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
            with session_scope(self._rt.engine) as session:
                return not inbox.accept(
                    session,
                    source="slack",
                    key=key,
                    event="slack-event",
                    body=b"",
                    now=self._rt.clock.now(),
                )

        return await asyncio.to_thread(record)


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
    app = build_slack_app(
        rt.gov,
        signing_secret=_secret(settings.slack_signing_secret) or "unused-in-socket-mode",
        bot_token=_secret(settings.slack_bot_token),
        api_url=settings.slack_api_url,
        dedupe=DurableDedupe(rt),
        responder=responder,
    )
    rt.extras["slack_app"] = app
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


def _install_discord(rt: Runtime) -> None:
    from bot.discord.client import CharterBot, parse_guild_id

    settings = rt.settings
    client = CharterBot(
        rt.gov, guild_id=parse_guild_id(settings.discord_guild_id), api_url=settings.discord_api_url
    )
    rt.extras["discord_client"] = client

    async def start() -> None:
        log.info("Discord connecting")
        await client.start(_secret(settings.discord_token))

    async def stop() -> None:
        await client.close()

    rt.extras.setdefault("startup", []).append(start)
    rt.extras.setdefault("shutdown", []).append(stop)
