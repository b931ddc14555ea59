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


def routes(engine_provider: EngineProvider) -> list[Route]:
    def act(purpose: str, token: str) -> str | None:
        now = datetime.now(UTC)
        with session_scope(engine_provider()) as session:
            address = check(secret_key(session, now), purpose, token, now)
            if address is None:
                return None
            if purpose == "confirm":
                repo.confirm_optin(session, address, now)
            else:
                repo.unsubscribe_address(session, address, now)
            return address

    def peek(purpose: str, token: str) -> str | None:
        now = datetime.now(UTC)
        with session_scope(engine_provider()) as session:
            return check(secret_key(session, now), purpose, token, now)

    async def confirm(request: Request) -> HTMLResponse:
        _ = translator(None)
        token = request.query_params.get("token", "")
        if request.method == "GET":
            address = peek("confirm", token)
            if address is None:
                return _page(_("This link is invalid or expired."), "", 400)
            body = _button("/subscriptions/confirm", token, _("Confirm"))
            return _page(_("Confirm your subscription"), f"<p>{html.escape(address)}</p>{body}")
        address = act("confirm", token)
        if address is None:
            return _page(_("This link is invalid or expired."), "", 400)
        text = _("Subscription confirmed for %(address)s.") % {"address": address}
        return _page(text, "")

    async def unsubscribe(request: Request) -> HTMLResponse:
        _ = translator(None)
        token = request.query_params.get("token", "")
        if request.method == "GET":
            address = peek("unsubscribe", token)
            if address is None:
                return _page(_("This link is invalid or expired."), "", 400)
            body = _button("/subscriptions/unsubscribe", token, _("Unsubscribe"))
            return _page(_("Unsubscribe"), f"<p>{html.escape(address)}</p>{body}")
        address = act("unsubscribe", token)
        if address is None:
            return _page(_("This link is invalid or expired."), "", 400)
        text = _("%(address)s will receive no more announcements.") % {"address": address}
        return _page(text, "")

    return [
        Route("/subscriptions/confirm", confirm, methods=["GET", "POST"]),
        Route("/subscriptions/unsubscribe", unsubscribe, methods=["GET", "POST"]),
    ]
