"""HTTP routes for e-mail confirmation and one-click unsubscribe.

Rules:
- ``GET /subscriptions/confirm?token=…`` shows a page with a button; only the ``POST``
  confirms, so mail scanners that prefetch links cannot confirm on someone's behalf.
- ``POST /subscriptions/unsubscribe?token=…`` unsubscribes at once (RFC 8058 one-click: mail
  clients POST ``List-Unsubscribe=One-Click``); ``GET`` shows a page with the same button.
- A bad or expired token gets 400 and a plain explanation; nothing changes.
- A good confirm token for an address with nothing to confirm (no opt-in record, or no
  subscription left, e.g. after unsubscribing) gets 404 "Nothing to confirm"; nothing changes.
- The pages show the address: ``Cache-Control: no-store``, with ``lang`` and a viewport.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.i18n import DEFAULT, translator
from bot.subscribe_tokens import check, secret_key
from storage import subscriptions as repo
from storage.db import session_scope

EngineProvider = Callable[[], Engine]


def _page(title: str, body: str, status: int = 200, lang: str = DEFAULT) -> HTMLResponse:
    doc = (
        f"<!doctype html><html lang='{html.escape(lang)}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers={"Cache-Control": "no-store"})


def _button(action: str, token: str, label: str) -> str:
    return (
        f"<form method='post' action='{html.escape(action)}?token={html.escape(token)}'>"
        f"<button type='submit'>{html.escape(label)}</button></form>"
    )


def _pending(session: Session, address: str) -> bool:
    """Whether the address has something to confirm: a live opt-in record (asked for, or
    confirmed and not unsubscribed since) and at least one subscription left."""
    live = repo.awaiting_since(session, address) is not None or repo.is_confirmed(session, address)
    return live and bool(repo.of_target(session, "email", address))


def _utcnow() -> datetime:
    return datetime.now(UTC)


def routes(engine_provider: EngineProvider, now: Callable[[], datetime] = _utcnow) -> list[Route]:
    """The confirm and unsubscribe routes; ``now`` is the clock (tests pass a fixed one)."""

    def act(purpose: str, token: str) -> tuple[str | None, bool]:
        """The token's address (None: bad or expired) and whether there was something to do."""
        at = now()
        with session_scope(engine_provider()) as session:
            address = check(secret_key(session, at), purpose, token, at)
            if address is None:
                return None, False
            if purpose == "confirm":
                if not _pending(session, address):
                    return address, False  # nothing to confirm: change nothing
                return address, repo.confirm_optin(session, address, at)
            repo.unsubscribe_address(session, address, at)
            return address, True

    def peek(purpose: str, token: str) -> tuple[str | None, bool]:
        at = now()
        with session_scope(engine_provider()) as session:
            address = check(secret_key(session, at), purpose, token, at)
            if address is None or purpose != "confirm":
                return address, address is not None
            return address, _pending(session, address)

    async def confirm(request: Request) -> HTMLResponse:
        _ = translator(None)
        token = request.query_params.get("token", "")
        address, pending = await run_in_threadpool(
            peek if request.method == "GET" else act, "confirm", token
        )
        if address is None:
            return _page(_("This link is invalid or expired."), "", 400)
        if not pending:
            text = _("%(address)s has no subscription waiting to be confirmed.") % {
                "address": address
            }
            return _page(_("Nothing to confirm"), f"<p>{html.escape(text)}</p>", 404)
        if request.method == "GET":
            body = _button("/subscriptions/confirm", token, _("Confirm"))
            return _page(_("Confirm your subscription"), f"<p>{html.escape(address)}</p>{body}")
        text = _("Subscription confirmed for %(address)s.") % {"address": address}
        return _page(text, "")

    async def unsubscribe(request: Request) -> HTMLResponse:
        _ = translator(None)
        token = request.query_params.get("token", "")
        if request.method == "GET":
            address, _known = await run_in_threadpool(peek, "unsubscribe", token)
            if address is None:
                return _page(_("This link is invalid or expired."), "", 400)
            body = _button("/subscriptions/unsubscribe", token, _("Unsubscribe"))
            return _page(_("Unsubscribe"), f"<p>{html.escape(address)}</p>{body}")
        address, _done = await run_in_threadpool(act, "unsubscribe", token)
        if address is None:
            return _page(_("This link is invalid or expired."), "", 400)
        text = _("%(address)s will receive no more announcements.") % {"address": address}
        return _page(text, "")

    return [
        Route("/subscriptions/confirm", confirm, methods=["GET", "POST"]),
        Route("/subscriptions/unsubscribe", unsubscribe, methods=["GET", "POST"]),
    ]
