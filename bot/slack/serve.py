"""How Slack reaches the app: signed HTTP requests, or Socket Mode when SLACK_APP_TOKEN is set.

Rules:
- HTTP: ``POST /slack/events`` receives commands, events and interactivity. Bolt checks the
  ``X-Slack-Signature`` HMAC and rejects a timestamp more than 5 minutes off (401) before any
  listener runs. Bodies over ``MAX_BODY`` are refused with 413 before they are read whole.
  The route is mounted only when ``SLACK_SIGNING_SECRET`` is set (``bot.chat``).
- Socket Mode: no public URL; the app opens a websocket from ``apps.connections.open`` with the
  app-level ``xapp-`` token. Envelopes carry no signature (the token authenticates the socket).
  An app built without a signing secret takes socket envelopes only and refuses any other
  request with 401 (``bot.slack.app.socket_mode_only``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000  # Slack's largest payloads (block_actions with big messages) are ~100 KB


def slack_events_endpoint(app: AsyncApp) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint that hands signed Slack requests to ``app``."""
    handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            return PlainTextResponse("Content-Length is required", status_code=411)
        if int(length) > MAX_BODY:
            return PlainTextResponse(f"body over {MAX_BODY} bytes", status_code=413)
        return await handler.handle(request)

    return slack_events


def slack_routes(app: AsyncApp) -> list[Route]:
    """The route to mount in the web app: ``POST /slack/events``."""
    return [Route(EVENTS_PATH, slack_events_endpoint(app), methods=["POST"])]


async def start_socket_mode(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    """Connect ``app`` over Socket Mode; stop it with ``await handler.close_async()``."""
    if not app_token.startswith("xapp-"):
        raise ValueError("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'")
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    return handler
