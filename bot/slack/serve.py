"""How Slack reaches the app: signed HTTP requests, or Socket Mode when SLACK_APP_TOKEN is set.

Rules:
- HTTP: ``POST /slack/events`` receives commands, events and interactivity, in this order:
  1. No ``Content-Length``: 411; one over ``MAX_BODY``: 413, before the body is read.
  2. The ``X-Slack-Signature`` HMAC is checked over the raw bytes, with the app's own secret
     and clock (:class:`RawBodyVerifier`); a missing or wrong signature, or a timestamp more
     than 5 minutes off, gets 401 before anything decodes or parses the body.
  3. A signed body that is not UTF-8, or that Bolt cannot read as a Slack request (bad JSON,
     JSON nested past the parser's limit, a payload that is not an object), gets 400.
  4. Only then does Bolt dispatch it (and verify the signature again: defence in depth).
  Bolt's own Starlette adapter decodes and parses before verifying, so a bad body, signed or
  not, escaped as a 500; this endpoint never hands it one.
  The route is mounted only when ``SLACK_SIGNING_SECRET`` is set (``bot.chat``).
- Socket Mode: no public URL; the app opens a websocket from ``apps.connections.open`` with the
  app-level ``xapp-`` token. Envelopes carry no signature (the token authenticates the socket).
  An app built without a signing secret takes socket envelopes only and refuses any other
  request with 401 (``bot.slack.app.socket_mode_only``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.bodies import read_capped

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000  # Slack's largest payloads (block_actions with big messages) are ~100 KB


class RawBodyVerifier(SignatureVerifier):
    """slack_sdk's verifier (±5 minute window, constant-time compare) over the raw bytes.

    The parent decodes the body as UTF-8 before hashing, which raises on a body that is not; a
    timestamp that is not an integer raises in its window check, and a non-ASCII signature in
    its constant-time compare. Here all of these are simply not a valid signature."""

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        raw = body.encode() if isinstance(body, str) else body
        base = b"v0:" + timestamp.encode() + b":" + raw
        return "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()

    def is_valid(self, body: str | bytes, timestamp: str | None, signature: str | None) -> bool:
        try:
            return super().is_valid(body, timestamp, signature)
        except (ValueError, TypeError):  # int(timestamp); compare_digest of non-ASCII text
            return False


def app_verifier(app: AsyncApp) -> Callable[[], RawBodyVerifier | None]:
    """The app's own secret and clock as a :class:`RawBodyVerifier`, looked up per request so a
    clock the app is given later is the one used; None when the app verifies no HTTP request
    (a Socket Mode app), so every request is refused."""
    # Bolt has no public accessor for its verification middleware.
    found = [m for m in app._async_middleware_list if isinstance(m, AsyncRequestVerification)]

    def verifier() -> RawBodyVerifier | None:
        if not found:
            return None
        own = found[0].verifier
        return RawBodyVerifier(own.signing_secret, clock=own.clock)

    return verifier


def slack_events_endpoint(app: AsyncApp) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint that hands signed, readable Slack requests to ``app``."""
    verifier = app_verifier(app)

    async def slack_events(request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            return PlainTextResponse("Content-Length is required", status_code=411)
        if int(length) > MAX_BODY:
            return PlainTextResponse(f"body over {MAX_BODY} bytes", status_code=413)
        body = await read_capped(request, MAX_BODY)
        if body is None:
            return PlainTextResponse(f"body over {MAX_BODY} bytes", status_code=413)
        check = verifier()
        headers = request.headers
        ts, signature = headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        if check is None or not check.is_valid(body, ts, signature):
            log.warning("slack request refused: bad or missing signature, or a stale timestamp")
            return PlainTextResponse("invalid request signature", status_code=401)
        try:
            bolt_request = to_async_bolt_request(request, body)
        except UnicodeDecodeError as exc:
            return PlainTextResponse(f"body is not UTF-8 (byte {exc.start})", status_code=400)
        except RecursionError:
            return PlainTextResponse("body is nested too deeply to read", status_code=400)
        except (ValueError, AttributeError, TypeError) as exc:
            # Bolt reads the parsed body as an object while building the request: an array or
            # a scalar (or such a field where it expects an object) fails there.
            return PlainTextResponse(f"body is not a Slack request: {exc}", status_code=400)
        # What AsyncSlackRequestHandler.handle does for a POST, with the request already built.
        return to_starlette_response(await app.async_dispatch(bolt_request))

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
