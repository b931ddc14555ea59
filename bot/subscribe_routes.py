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
- The pages speak the address's language: its newest subscription's (:func:`page_language`),
  the one its latest confirmation mail came in; English for a bad token or an address with no
  subscription left. Unsubscribing reads it before the subscriptions are removed.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.i18n import DEFAULT, language, translator
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


def _button(token: str, label: str) -> str:
    """The form that POSTs the token back to the page it is on: a relative action (the query
    alone), so it stays under a path prefix a reverse proxy strips (CHARTERBOT_PUBLIC_URL's)."""
    return (
        f"<form method='post' action='?token={html.escape(token)}'>"
        f"<button type='submit'>{html.escape(label)}</button></form>"
    )


def _pending(session: Session, address: str) -> bool:
    """Whether the address has something to confirm: a live opt-in record (asked for, or
    confirmed and not unsubscribed since) and at least one subscription left."""
    live = repo.awaiting_since(session, address) is not None or repo.is_confirmed(session, address)
    return live and bool(repo.of_target(session, "email", address))


def page_language(langs: Sequence[str | None]) -> str:
    """The language of the pages for an address whose subscriptions, oldest first, have
    ``langs``: the newest one's (None, or none left: English)."""
    return language(langs[-1] if langs else None)


@dataclass(frozen=True)
class Link:
    """What a token leads to: its address (None: bad or expired), whether there is (or was)
    something to do, and the language to answer in."""

    address: str | None
    pending: bool
    lang: str = DEFAULT


def _lang(session: Session, address: str) -> str:
    return page_language([row.lang for row in repo.of_target(session, "email", address)])


def _utcnow() -> datetime:
    return datetime.now(UTC)


def routes(engine_provider: EngineProvider, now: Callable[[], datetime] = _utcnow) -> list[Route]:
    """The confirm and unsubscribe routes; ``now`` is the clock (tests pass a fixed one)."""

    async def follow(request: Request, purpose: str) -> tuple[Link, str]:
        """The link's token and where it leads: looked at on GET, acted on by POST."""
        token = request.query_params.get("token", "")
        step = _peek if request.method == "GET" else _act
        link = await run_in_threadpool(step, engine_provider, now, purpose, token)
        return link, token

    async def confirm(request: Request) -> HTMLResponse:
        link, token = await follow(request, "confirm")
        return _confirm_page(link, token, asked=request.method == "GET")

    async def unsubscribe(request: Request) -> HTMLResponse:
        link, token = await follow(request, "unsubscribe")
        return _unsubscribe_page(link, token, asked=request.method == "GET")

    return [
        Route("/subscriptions/confirm", confirm, methods=["GET", "POST"]),
        Route("/subscriptions/unsubscribe", unsubscribe, methods=["GET", "POST"]),
    ]


def _act(
    engine_provider: EngineProvider, now: Callable[[], datetime], purpose: str, token: str
) -> Link:
    """Confirm or unsubscribe; ``pending``: whether there was something to do."""
    at = now()
    with session_scope(engine_provider()) as session:
        address = check(secret_key(session, at), purpose, token, at)
        if address is None:
            return Link(None, False)
        lang = _lang(session, address)  # before unsubscribing removes the subscriptions
        if purpose == "confirm":
            if not _pending(session, address):
                return Link(address, False, lang)  # nothing to confirm: change nothing
            return Link(address, repo.confirm_optin(session, address, at), lang)
        repo.unsubscribe_address(session, address, at)
        return Link(address, True, lang)


def _peek(
    engine_provider: EngineProvider, now: Callable[[], datetime], purpose: str, token: str
) -> Link:
    """Where the link leads, changing nothing (the page a GET shows asks to POST)."""
    at = now()
    with session_scope(engine_provider()) as session:
        address = check(secret_key(session, at), purpose, token, at)
        if address is None:
            return Link(None, False)
        lang = _lang(session, address)
        if purpose != "confirm":
            return Link(address, True, lang)
        return Link(address, _pending(session, address), lang)


def _confirm_page(link: Link, token: str, *, asked: bool) -> HTMLResponse:
    """The confirm page: the button to confirm (``asked``: a GET), or the outcome of a POST."""
    lang, address = link.lang, link.address
    _ = translator(lang)
    if address is None:
        return _page(_("This link is invalid or expired."), "", 400, lang)
    if not link.pending:
        text = _("%(address)s has no subscription waiting to be confirmed.") % {"address": address}
        return _page(_("Nothing to confirm"), f"<p>{html.escape(text)}</p>", 404, lang)
    if asked:
        body = _button(token, _("Confirm"))
        title = _("Confirm your subscription")
        return _page(title, f"<p>{html.escape(address)}</p>{body}", lang=lang)
    text = _("Subscription confirmed for %(address)s.") % {"address": address}
    return _page(text, "", lang=lang)


def _unsubscribe_page(link: Link, token: str, *, asked: bool) -> HTMLResponse:
    """The unsubscribe page: the button (``asked``: a GET), or the outcome of a POST."""
    lang, address = link.lang, link.address
    _ = translator(lang)
    if address is None:
        return _page(_("This link is invalid or expired."), "", 400, lang)
    if asked:
        body = _button(token, _("Unsubscribe"))
        return _page(_("Unsubscribe"), f"<p>{html.escape(address)}</p>{body}", lang=lang)
    text = _("%(address)s will receive no more announcements.") % {"address": address}
    return _page(text, "", lang=lang)
