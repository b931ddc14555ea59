"""The dashboard's routes: server-rendered pages (Starlette + Jinja2), an SSE stream, static files.

Rules:
- Every link, form, script and the live stream starts with the path of CHARTERBOT_PUBLIC_URL
  (``root``: ``/charter`` for https://example.org/charter, "" without one), since a reverse
  proxy may serve the dashboard there and strip the prefix before passing requests on.
- Every page works without JavaScript; ``static/live.js`` only converts times to the reader's
  zone and, on a ``change`` event from ``GET /events``, re-fetches the page and swaps ``<main>``.
- Pages are read-only. The one POST (``/audit/verify``) runs the chain verification now and
  redirects back (POST/redirect/GET), so a reload does not repeat it.
- Database reads and rendering happen in a worker thread; the event loop only moves bytes.
- Pages are rendered fresh on every request: the overview and rollouts pages read only what
  they show in one snapshot (``bot.web.fast_views``). The page cache is off unless asked for
  (``page_cache=True``): its key (audit head, local changes, last verification, minute) cannot
  see changes that leave no audit entry in another replica (check results), and relative times
  and soak clocks in a reused page lag by up to a minute.
- Numbers in URLs are read by ``storage.dashboard_queries.positive_id`` (ASCII digits,
  1 … 2**63-1): a proposal number that is not one answers 404 like an unknown proposal; a
  ``page`` that is not one shows page 1; a ``before`` that is not one shows the newest entries.
- A proposals filter naming no state, track or client answers 400 with the accepted values (the
  read API's wording, ``bot.api.unknown_filter``: a track or client the charter names, or one a
  public proposal is on); links that carry filters URL-encode them.
- A query value holding a control character (``%00``, …) answers the page's 400 with the read
  API's reason (``bot.api.bad_query_value``) on the pages that read their query (proposals,
  audit), never reaching the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.api import bad_query_value, unknown_filter
from bot.relative_time import Unit, nearest
from bot.rollout_views import overdue
from bot.web import export as audit_export, fast_views
from bot.web.auditcheck import AuditCheck
from bot.web.calls import upcoming
from bot.web.live import LiveHub
from bot.web.queries import PAGE, Reader, open_states
from charter.lifecycle import State
from charter.rollout_facts import ref_beside
from storage.dashboard_queries import positive_id
from storage.db import read_scope

if TYPE_CHECKING:
    from bot.web.queries import RuntimeLike as Runtime  # not bot.runtime: transports stay apart

HERE = Path(__file__).resolve().parent
NAV = (
    ("/", "Overview"),
    ("/proposals", "Proposals"),
    ("/rollouts", "Rollouts"),
    ("/meetings", "Meetings"),
    ("/incidents", "Incidents"),
    ("/audit", "Audit"),
)


def _dt(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value.replace("Z", "+00:00"))


def when(value: str | datetime | None, style: str = "datetime") -> Markup:
    """A UTC instant as ``<time>``; live.js rewrites the text in the reader's zone."""
    at = value if isinstance(value, datetime) else _dt(value)
    if at is None:
        return Markup("—")
    iso = at.isoformat().replace("+00:00", "Z")
    text = at.strftime("%Y-%m-%d %H:%M UTC")
    return Markup(f'<time datetime="{iso}" data-style="{escape(style)}">{text}</time>')


def relative(value: str | None, now: datetime) -> str:
    """How far ``value`` is from ``now``, rounded as ``bot.relative_time`` says ("in 2 days",
    "5 min ago", "now")."""
    at = _dt(value)
    if at is None:
        return ""
    seconds = (at - now).total_seconds()
    amount, unit = nearest(seconds)
    if unit is Unit.NOW:
        return "now"
    said = f"{amount} {_WORDS[unit]}"  # days start at 2: under 48 h is said in hours
    return f"in {said}" if seconds > 0 else f"{said} ago"


_WORDS = {Unit.MINUTE: "min", Unit.HOUR: "h", Unit.DAY: "days"}


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["short"] = lambda h: (h or "")[:12]
    # a sha abbreviated, a tag or branch whole; nothing when it only names the version's tag
    env.filters["ref_beside"] = lambda ref, version: ref_beside(version, ref)
    env.filters["overdue"] = overdue  # a planned drill past its time: plan|overdue(now)
    return env


def bad_filter(r: Reader, state: str, track: str, client: str) -> str | None:
    """Why a proposals filter names no state, track or client (the read API's wording,
    ``bot.api``), or None when it is good; empty means "any"."""
    if state and state not in {s.value for s in State}:
        known = ", ".join(s.value for s in State)
        return f"unknown state {state!r}; use one of: {known}"
    with read_scope(r.engine) as session:
        return unknown_filter(session, r.charter, track=track, client=client)


class Dashboard:
    def __init__(
        self, rt: Runtime, *, verify_every: float = 300.0, page_cache: bool = False
    ) -> None:
        self.rt = rt
        self.env = environment()
        self.env.globals["root"] = self.root()  # macros too (imported without context)
        self.audit = AuditCheck(rt.engine, rt.clock.now, every=verify_every)
        self.live = LiveHub(lambda: Reader(rt.gov, rt.clock.now()).head())
        self.page_cache = page_cache
        self._pages: dict[tuple[object, ...], str] = {}

    def reader(self) -> Reader:
        return Reader(self.rt.gov, self.rt.clock.now())

    def root(self) -> str:
        """The path prefix of every link (CHARTERBOT_PUBLIC_URL's path, ``/charter``; "" at the
        root): a reverse proxy may serve the dashboard there and strip it before passing on."""
        return urlsplit(self.rt.gov.public_url).path.rstrip("/")

    def render(self, template: str, path: str, reader: Reader, **context: Any) -> str:
        """Render with the shared context; ``demo`` is read unless the page already read it."""
        if "demo" not in context:
            context["demo"] = reader.demo()
        return self.env.get_template(template).render(
            nav=NAV,
            path=path,
            now=reader.now,
            rel=lambda v: relative(v, reader.now),
            charter=reader.charter,
            github=reader.gov.github_page(),
            checked=self.audit.last,
            live_id=self.live.event_id,
            **context,
        )

    async def page(self, request: Request, build: Callable[[Reader], str]) -> Response:
        html = await asyncio.to_thread(
            self._cached, str(request.url.path), str(request.url.query), build
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    def _cached(self, path: str, query: str, build: Callable[[Reader], str]) -> str:
        """Render; with ``page_cache``, reuse the page rendered for the same key.

        A page is reused while the audit head (every decision appends to it, in any replica),
        the live version (local changes without an audit entry), the last verification and the
        minute are unchanged (see the module rules for what this key misses).
        """
        reader = self.reader()
        if not self.page_cache:
            return build(reader)
        checked = self.audit.last.at if self.audit.last else None
        key = (
            path,
            query,
            reader.head(),
            self.live.version,
            checked,
            int(reader.now.timestamp() // 60),
        )
        hit = self._pages.get(key)
        if hit is not None:
            return hit
        html = build(reader)
        if len(self._pages) >= 64:
            self._pages.pop(next(iter(self._pages)))
        self._pages[key] = html
        return html

    # -- pages ----------------------------------------------------------------------------------

    async def overview(self, request: Request) -> Response:
        def build(r: Reader) -> str:
            context = fast_views.overview(r.gov, r.now)
            calls = upcoming(r.engine, r.charter, r.now, count=1, github=r.gov.github_page())
            states = [s.value for s in State]  # every state, in the lifecycle's order
            return self.render("overview.html", "/", r, calls=calls, states=states, **context)

        return await self.page(request, build)

    async def proposals(self, request: Request) -> Response:
        q = request.query_params
        state, track, client = q.get("state", ""), q.get("track", ""), q.get("client", "")
        unsafe = bad_query_value(q.multi_items())
        page = positive_id(q.get("page")) or 1
        context = {
            "states": [s.value for s in State],
            "open_states": open_states(),
            "selected": {"state": state, "track": track, "client": client},
        }

        def refuse(r: Reader) -> str | None:
            error = unsafe or bad_filter(r, state, track, client)
            if error is None:
                return None
            return self.render(
                "proposals.html",
                "/proposals",
                r,
                items=[],
                more=False,
                page=1,
                error=error,
                **context,
            )

        refused = await asyncio.to_thread(lambda: refuse(self.reader()))
        if refused is not None:
            return HTMLResponse(refused, status_code=400, headers={"Cache-Control": "no-store"})

        def build(r: Reader) -> str:
            items, more = r.proposals(state=state, track=track, client=client, page=page)
            return self.render(
                "proposals.html", "/proposals", r, items=items, more=more, page=page, **context
            )

        return await self.page(request, build)

    async def proposal(self, request: Request) -> Response:
        raw = request.path_params["number"]
        number = positive_id(raw) or 0

        def build(r: Reader) -> str | None:
            view = r.proposal(number) if number else None
            if view is None:
                return None
            return self.render("proposal.html", "/proposals", r, p=view)

        html = await asyncio.to_thread(lambda: build(self.reader()))
        if html is None:
            return await self.not_found(request, f"There is no public proposal #{raw}.")
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def rollouts(self, request: Request) -> Response:
        q = request.query_params
        page = positive_id(q.get("page")) or 1

        def build(r: Reader) -> str:
            rollouts, total, demo = fast_views.rollouts_page(r.gov, r.now, page)
            return self.render(
                "rollouts.html",
                "/rollouts",
                r,
                rollouts=rollouts,
                total=total,
                page=page,
                more=page * fast_views.ROLLOUT_PAGE < total,
                demo=demo,
            )

        return await self.page(request, build)

    async def meetings(self, request: Request) -> Response:
        def build(r: Reader) -> str:
            calls = upcoming(r.engine, r.charter, r.now, count=10, github=r.gov.github_page())
            return self.render("meetings.html", "/meetings", r, calls=calls)

        return await self.page(request, build)

    async def incidents(self, request: Request) -> Response:
        def build(r: Reader) -> str:
            return self.render("incidents.html", "/incidents", r, incidents=r.incidents())

        return await self.page(request, build)

    async def audit_log(self, request: Request) -> Response:
        q = request.query_params
        before = positive_id(q.get("before"))
        subject, kind = q.get("subject") or None, q.get("kind") or None
        error = bad_query_value(q.multi_items())
        if error is not None:
            subject = kind = None  # not read, nor echoed into the form

        def build(r: Reader) -> str:
            entries: list[dict[str, Any]] = []
            older = None
            if error is None:
                entries, older = r.audit_page(before=before, subject=subject, kind=kind)
            return self.render(
                "audit.html",
                "/audit",
                r,
                entries=entries,
                older=older,
                head=r.head(),
                subject=subject or "",
                kind=kind or "",
                page_size=PAGE,
                error=error,
            )

        if error is not None:
            html = await asyncio.to_thread(lambda: build(self.reader()))
            return HTMLResponse(html, status_code=400, headers={"Cache-Control": "no-store"})
        return await self.page(request, build)

    async def verify(self, request: Request) -> Response:
        await self.audit.check()
        return RedirectResponse(f"{self.root()}/audit#verified", status_code=303)

    async def events(self, request: Request) -> Response:
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        # The browser's Last-Event-ID on a reconnect; on the first connection, the id the page
        # was rendered at, so a change between the render and the connect is not lost.
        last = request.headers.get("last-event-id") or request.query_params.get("since")
        return StreamingResponse(
            self.live.stream(last), media_type="text/event-stream", headers=headers
        )

    async def not_found(self, request: Request, message: str) -> Response:
        def build(r: Reader) -> str:
            return self.render("not_found.html", "", r, message=message)

        html = await asyncio.to_thread(lambda: build(self.reader()))
        return HTMLResponse(html, status_code=404)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.overview, methods=["GET"]),
            Route("/proposals", self.proposals, methods=["GET"]),
            Route("/proposals/{number}", self.proposal, methods=["GET"]),
            Route("/rollouts", self.rollouts, methods=["GET"]),
            Route("/meetings", self.meetings, methods=["GET"]),
            Route("/incidents", self.incidents, methods=["GET"]),
            Route("/audit", self.audit_log, methods=["GET"]),
            Route("/audit/verify", self.verify, methods=["POST"]),
            *audit_export.routes(self.rt),
            Route("/events", self.events, methods=["GET"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
