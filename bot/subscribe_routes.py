"""HTTP routes for e-mail confirmation and one-click unsubscribe.

Rules:
- ``GET /subscriptions/confirm?token=…`` shows a page with a button; only the ``POST``
  confirms, so mail scanners that prefetch links cannot confirm on someone's behalf.
- ``POST /subscriptions/unsubscribe?token=…`` unsubscribes at once (RFC 8058 one-click: mail
  clients POST ``List-Unsubscribe=One-Click``); ``GET`` shows a page with the same button.
- A bad or expired token gets 400 and a plain explanation; nothing changes.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.i18n import translator
from bot.subscribe_tokens import check, secret_key
from storage import subscriptions as repo
from storage.db import session_scope

EngineProvider = Callable[[], Engine]


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status)


def _button(action: str, token: str, label: str) -> str:
    return (
        f"<form method='post' action='{html.escape(action)}?token={html.escape(token)}'>"
        f"<button type='submit'>{html.escape(label)}</button></form>"
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def routes(engine_provider: EngineProvider, now: Callable[[], datetime] = _utcnow) -> list[Route]:
    """The confirm and unsubscribe routes; ``now`` is the clock (tests pass a fixed one)."""

    def act(purpose: str, token: str) -> str | None:
        at = now()
        with session_scope(engine_provider()) as session:
            address = check(secret_key(session, at), purpose, token, at)
            if address is None:
                return None
            if purpose == "confirm":
                repo.confirm_optin(session, address, at)
            else:
                repo.unsubscribe_address(session, address, at)
            return address

    def peek(purpose: str, token: str) -> str | None:
        at = now()
        with session_scope(engine_provider()) as session:
            return check(secret_key(session, at), purpose, token, at)

    async def confirm(request: Request) -> HTMLResponse:
        _ = translator(None)
        token = request.query_params.get("token", "")
        if request.method == "GET":
            address = await run_in_threadpool(peek, "confirm", token)
            if address is None:
                return _page(_("This link is invalid or expired."), "", 400)
            body = _button("/subscriptions/confirm", token, _("Confirm"))
            return _page(_("Confirm your subscription"), f"<p>{html.escape(address)}</p>{body}")
        address = await run_in_threadpool(act, "confirm", token)
        if address is None:
            return _page(_("This link is invalid or expired."), "", 400)
        text = _("Subscription confirmed for %(address)s.") % {"address": address}
        return _page(text, "")

    async def unsubscribe(request: Request) -> HTMLResponse:
        _ = translator(None)
        token = request.query_params.get("token", "")
        if request.method == "GET":
            address = await run_in_threadpool(peek, "unsubscribe", token)
            if address is None:
                return _page(_("This link is invalid or expired."), "", 400)
            body = _button("/subscriptions/unsubscribe", token, _("Unsubscribe"))
            return _page(_("Unsubscribe"), f"<p>{html.escape(address)}</p>{body}")
        address = await run_in_threadpool(act, "unsubscribe", token)
        if address is None:
            return _page(_("This link is invalid or expired."), "", 400)
        text = _("%(address)s will receive no more announcements.") % {"address": address}
        return _page(text, "")

    return [
        Route("/subscriptions/confirm", confirm, methods=["GET", "POST"]),
        Route("/subscriptions/unsubscribe", unsubscribe, methods=["GET", "POST"]),
    ]
