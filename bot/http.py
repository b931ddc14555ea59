"""The HTTP surface of ``charterbot serve``: one Starlette app, routes from each area.

``/healthz`` answers while the process runs; ``/readyz`` only when the database answers, the
schema is at the newest migration, and says whether this replica leads (runs timers).
What clients poll (the read API, the Atom and calendar feeds) answers conditional GETs
(:class:`ConditionalGet`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api import api_routes
from bot.metrics import METRICS
from bot.runtime import STOP_GRACE, Runtime
from charter.subscriptions import PLATFORMS
from storage import audit, deliveries, migrate, outbox
from storage.db import read_scope, reader

log = logging.getLogger("charterbot.http")


def create_app(rt: Runtime, *, run_background: bool = True) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        checks = await asyncio.to_thread(_readiness, rt)
        status = 200 if checks["database"] == "ok" and checks["migrations"] == "current" else 503
        return JSONResponse(checks, status_code=status)

    async def github_webhook(request: Request) -> Response:
        started = time.perf_counter()
        response = await rt.receiver(request)
        METRICS.ack_latency.labels(source="github").observe(time.perf_counter() - started)
        if response.status_code >= 400:
            METRICS.deliveries.labels(source="github", result="rejected").inc()
        return response

    async def metrics(request: Request) -> Response:
        await asyncio.to_thread(_collect, rt)
        return Response(generate_latest(METRICS.registry), media_type=CONTENT_TYPE_LATEST)

    # CHARTERBOT_GITHUB_MODE=off: no endpoint, so a delivery still configured on GitHub gets a
    # 404 there (visible in the webhook's Recent Deliveries) instead of being processed.
    github = rt.settings.github_mode != "off"
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *([Route("/github/webhook", github_webhook, methods=["POST"])] if github else []),
        Route("/metrics", metrics, methods=["GET"]),
        *api_routes(rt.engine, lambda: rt.gov.charter, rt.clock, rt.gov),
        *rt.extras.get("routes", []),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[Any]] = []
        background = asyncio.create_task(rt.background()) if run_background else None
        for start in rt.extras.get("startup", []):
            tasks.append(asyncio.create_task(start()))
        try:
            yield
        finally:
            rt.stop.set()  # no loop starts another step
            if background is not None:
                # It finishes the steps in flight and releases leadership (bounded by
                # STOP_GRACE); cancelled only if it overruns that.
                await asyncio.wait([background], timeout=STOP_GRACE + 5)
                tasks.append(background)
            # Only now: a hook closes clients (the senders' HTTP clients among them) that a step
            # in flight may still be using; closed under it, a delivery the platform is
            # answering would be counted failed and sent again.
            for stop in rt.extras.get("shutdown", []):
                with contextlib.suppress(Exception):
                    await stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(ConditionalGet)])


def _readiness(rt: Runtime) -> dict[str, Any]:
    checks: dict[str, Any] = {"leader": rt.is_leader}
    try:
        with reader(rt.engine).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {exc.__class__.__name__}"
        checks["migrations"] = "unknown"
        return checks
    current = migrate.current_revision(reader(rt.engine))
    head = migrate.head_revision()
    checks["migrations"] = "current" if current == head else f"at {current}, newest is {head}"
    if not migrate.known(current):  # a newer charterbot migrated it: say so, and what to do
        checks["migrations"] = str(migrate.UnknownRevision(str(current)))
    if not rt.is_leader:
        checks["leader_note"] = getattr(rt.leadership, "why_not", "")
    return checks


def _collect(rt: Runtime) -> None:
    now = rt.clock.now()
    with read_scope(rt.engine) as session:
        count, age = outbox.backlog(session, now)
        METRICS.outbox_backlog.set(count)
        METRICS.outbox_oldest.set(age)
        METRICS.audit_length.set(audit.size(session))
        by_surface = deliveries.counts(session)
    # Every surface, zero included: a series that went away would read as "no data", not 0.
    for surface in sorted({surface for surface, _status in by_surface} | set(PLATFORMS)):
        METRICS.deliveries_pending.labels(surface=surface).set(
            by_surface.get((surface, "pending"), 0)
        )
        METRICS.deliveries_failed.labels(surface=surface).set(
            by_surface.get((surface, "failed"), 0)
        )


# -- conditional GET --------------------------------------------------------------------------

# What clients poll: the read API's JSON, the Atom feed, the calendar feeds.
CONDITIONAL_PATHS = re.compile(r"^/api/|\.(?:atom|ics)$")
# What a 304 carries (RFC 9110 §15.4.5): what a cache refreshes its stored answer with.
KEPT_ON_304 = (
    b"etag",
    b"cache-control",
    b"vary",
    b"expires",
    b"content-location",
    b"last-modified",
)
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')  # an opaque-tag may hold a comma: match, not split


def entity_tag(body: bytes) -> str:
    """The strong ETag of ``body``: 128 bits of its SHA-256, quoted. Different bodies get
    different tags whatever made them differ (language, visibility, the Host header)."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def none_match(header: str, etag: str) -> bool:
    """Whether ``If-None-Match: header`` matches ``etag``: ``*``, or a listed tag equal to it
    by weak comparison (``W/`` ignored on both sides, RFC 9110 §8.8.3.2)."""
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == opaque for tag in _ENTITY_TAG.findall(header))


def http_date(value: str | None) -> datetime | None:
    """An HTTP-date (IMF-fixdate, RFC 850 or asctime: always GMT), or None if it is not one."""
    try:
        at = parsedate_to_datetime(value or "")
    except (TypeError, ValueError):
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def not_modified(request: Headers, etag: str, last_modified: str | None) -> bool:
    """Whether a GET or HEAD of a 200 answer is a 304 (RFC 9110 §13.2.2): by If-None-Match
    when sent (every field line), which then overrides If-Modified-Since; else by
    If-Modified-Since, when the answer has a Last-Modified no later than it."""
    tags = request.getlist("if-none-match")
    if tags:
        return none_match(", ".join(tags), etag)
    since, modified = http_date(request.get("if-modified-since")), http_date(last_modified)
    return since is not None and modified is not None and modified <= since


class ConditionalGet:
    """ASGI middleware: conditional GET on :data:`CONDITIONAL_PATHS`.

    Rules:
    - A 200 to GET or HEAD gets ``ETag: entity_tag(body)`` (HEAD: Starlette renders the body,
      the server drops it). An answer without ``Cache-Control`` gets ``no-cache``: stored but
      revalidated on every use, where a Last-Modified alone would let caches guess a freshness
      (RFC 9111 §4.2.2). A ``Vary`` or ``Cache-Control`` the route sets is kept.
    - When :func:`not_modified`, the answer is a 304 with no body and only :data:`KEPT_ON_304`.
    - Other methods, paths and statuses (a 404 is never a 304) and event streams pass through.
    - No Vary is added: these answers read no request header but Host (part of the URL a cache
      keys on). Compression, if ever added, goes inside this middleware (an ETag per coding).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not CONDITIONAL_PATHS.search(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        body: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and _conditional(message):
                start = message
            elif start and message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await _answer(Headers(scope=scope), start, b"".join(body), send)
            else:
                await send(message)

        await self.app(scope, receive, hold)


def _conditional(start: Message) -> bool:
    """Whether the answer gets a validator: a 200 that is not an event stream."""
    media = Headers(raw=start["headers"]).get("content-type", "")
    return bool(start["status"] == 200 and not media.startswith("text/event-stream"))


async def _answer(request: Headers, start: Message, body: bytes, send: Send) -> None:
    headers = MutableHeaders(raw=list(start["headers"]))
    headers["etag"] = entity_tag(body)
    headers.setdefault("cache-control", "no-cache")
    if not_modified(request, headers["etag"], headers.get("last-modified")):
        kept = [(name, value) for name, value in headers.raw if name in KEPT_ON_304]
        await send({"type": "http.response.start", "status": 304, "headers": kept})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({**start, "headers": headers.raw})
    await send({"type": "http.response.body", "body": body})
