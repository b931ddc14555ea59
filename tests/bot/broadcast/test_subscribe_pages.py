"""The confirm and unsubscribe pages: language (the subscription's), viewport and no caching
(they show the address), and a signed confirm link with nothing to confirm says so (404) and
changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from bot.messages import Actor
from bot.subscribe import Context, Origin, handle
from bot.subscribe_routes import page_language, routes
from bot.subscribe_tokens import confirm_url, secret_key, unsubscribe_url
from charter.commands import Subscribe
from charter.grammar import parse_chat
from storage import subscriptions as repo
from storage.db import session_scope
from tests.bot.broadcast.support import NOW, charter

ADDRESS = "ops@x.org"
ALICE = Actor("alice-aurora", "slack", "U1ALICE", "Alice")


def links(engine: Engine, address: str = ADDRESS) -> tuple[str, str]:
    with session_scope(engine) as session:
        key = secret_key(session, NOW)
    return confirm_url("", key, address, NOW), unsubscribe_url("", key, address)


def subscribe(engine: Engine, address: str = ADDRESS, lang: str | None = None) -> None:
    command = parse_chat(f"subscribe email {address}{f' lang {lang}' if lang else ''} decision")
    assert isinstance(command, Subscribe)
    with session_scope(engine) as session:
        origin = Origin("slack", "C0CHAN")
        handle(command, Context(session, charter(), ALICE, NOW, origin, "https://bot.example"))


def confirmed(engine: Engine, address: str = ADDRESS) -> bool:
    with session_scope(engine) as session:
        return repo.is_confirmed(session, address)


@pytest.fixture
async def web(sqlite_engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=routes(lambda: sqlite_engine, now=lambda: NOW))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_pages_have_lang_viewport_and_are_not_stored(
    sqlite_engine: Engine, web: httpx.AsyncClient
) -> None:
    subscribe(sqlite_engine)
    confirm, unsubscribe = links(sqlite_engine)
    bad = confirm.replace("token=", "token=x")
    for method, url in [("GET", confirm), ("GET", unsubscribe), ("GET", bad), ("POST", confirm)]:
        response = await web.request(method, url)
        assert response.status_code in (200, 400), (method, url)
        assert response.headers["cache-control"] == "no-store", (method, url)
        assert "<html lang='en'>" in response.text
        assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in (
            response.text
        )
    assert confirmed(sqlite_engine)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_confirm_without_opt_in_is_nothing_to_confirm(
    sqlite_engine: Engine, web: httpx.AsyncClient, method: str
) -> None:
    """A signed link for an address that never asked: 404, no "confirmed", no opt-in made."""
    confirm, _ = links(sqlite_engine, "never@x.org")
    response = await web.request(method, confirm)
    assert response.status_code == 404
    assert "Nothing to confirm" in response.text and "confirmed for" not in response.text
    assert "<form" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert not confirmed(sqlite_engine, "never@x.org")


async def test_confirm_after_unsubscribing_is_nothing_to_confirm(
    sqlite_engine: Engine, web: httpx.AsyncClient
) -> None:
    """Unsubscribing removes every subscription; the old confirm link then confirms nothing."""
    subscribe(sqlite_engine)
    confirm, unsubscribe = links(sqlite_engine)
    assert (await web.post(confirm)).status_code == 200 and confirmed(sqlite_engine)
    assert (await web.post(unsubscribe)).status_code == 200 and not confirmed(sqlite_engine)
    for method in ("GET", "POST"):
        response = await web.request(method, confirm)
        assert response.status_code == 404 and "Nothing to confirm" in response.text
    assert not confirmed(sqlite_engine)


@pytest.mark.parametrize(
    ("langs", "expected"),
    [
        ([], "en"),
        ([None], "en"),
        (["es"], "es"),
        (["es-MX"], "es"),
        (["fr"], "en"),  # a language we lack: English
        (["en", "es"], "es"),  # the newest subscription's
        (["es", None], "en"),  # the newest asked for no language: its mails are English
    ],
)
def test_the_pages_speak_the_newest_subscriptions_language(
    langs: list[str | None], expected: str
) -> None:
    assert page_language(langs) == expected


async def test_a_spanish_subscriber_gets_spanish_pages(
    sqlite_engine: Engine, web: httpx.AsyncClient
) -> None:
    """Confirm and unsubscribe, shown and done, in the language the subscription asked for
    (the confirmation mail's); a bad link, which names no one, stays English."""
    subscribe(sqlite_engine, lang="es")
    confirm, unsubscribe = links(sqlite_engine)
    expected = [
        ("GET", confirm, "Confirme su suscripción"),
        ("POST", confirm, f"Suscripción confirmada para {ADDRESS}."),
        ("GET", unsubscribe, "Cancelar la suscripción"),
        ("POST", unsubscribe, f"{ADDRESS} no recibirá más anuncios."),
    ]
    for method, url, title in expected:
        response = await web.request(method, url)
        assert response.status_code == 200, (method, url)
        assert "<html lang='es'>" in response.text, (method, url)
        assert f"<h1>{title}</h1>" in response.text, (method, url)
    bad = await web.get(confirm.replace("token=", "token=x"))
    assert bad.status_code == 400 and "<html lang='en'>" in bad.text
