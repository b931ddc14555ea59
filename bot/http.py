"""The HTTP surface of ``charterbot serve``: one Starlette app, routes from each area.

``/healthz`` answers while the process runs; ``/readyz`` only when the database answers, the
schema is at the newest migration, and says whether this replica leads (runs timers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.api import api_routes
from bot.bootstrap import STOP_GRACE, Runtime
from bot.metrics import METRICS
from storage import audit, migrate, outbox
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
        *api_routes(rt.engine, lambda: rt.gov.charter, rt.clock),
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
            rt.stop.set()
            for stop in rt.extras.get("shutdown", []):
                with contextlib.suppress(Exception):
                    await stop()
            if background is not None:
                # It finishes the steps in flight and releases leadership (bounded by
                # STOP_GRACE); cancelled only if it overruns that.
                await asyncio.wait([background], timeout=STOP_GRACE + 5)
                tasks.append(background)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    return Starlette(routes=routes, lifespan=lifespan)


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
