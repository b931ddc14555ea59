"""A confirmation mail links to the server that sends it: the link is made where `subscribe
email` ran, maybe a console that only guessed the address from its own HTTP settings while the
server listens elsewhere (``serve --port``); the relay puts it at its own public URL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from bot.messages import Actor
from bot.relay import Relay
from bot.senders.email import EmailSender
from bot.subscribe import Context, handle
from bot.subscribe_tokens import confirm_url_at
from charter.commands import Subscribe
from charter.grammar import parse_chat
from storage.db import session_scope
from tests.bot.broadcast.support import NOW, charter
from tests.standins.receivers import SmtpServer

CHARTER = charter()
TOKEN = "/subscriptions/confirm?token=abc%3D"


@pytest.mark.parametrize(
    ("link", "public_url", "at"),
    [
        (f"http://127.0.0.1:8080{TOKEN}", "http://127.0.0.1:18945", f"http://127.0.0.1:18945{TOKEN}"),
        (f"http://127.0.0.1:8080{TOKEN}", "https://x.org/gov/", f"https://x.org/gov{TOKEN}"),
        (f"https://x.org/gov{TOKEN}", "http://127.0.0.1:18945", f"http://127.0.0.1:18945{TOKEN}"),
        (f"http://127.0.0.1:8080{TOKEN}", "", f"http://127.0.0.1:8080{TOKEN}"),
        ("https://elsewhere.example/page", "https://x.org", "https://elsewhere.example/page"),
    ],
)  # fmt: skip
def test_a_confirm_link_is_put_at_the_servers_address(link: str, public_url: str, at: str) -> None:
    assert confirm_url_at(link, public_url) == at


async def test_a_console_made_confirmation_mails_the_servers_link(
    sqlite_engine: Engine, smtp: SmtpServer
) -> None:
    command = parse_chat("subscribe email ops@x.org decision")
    assert isinstance(command, Subscribe)
    actor = Actor("ines-coord", "console", "ines-coord", "Ines")
    with session_scope(sqlite_engine) as session:
        # The console's guess: its own (default) HTTP settings.
        console = Context(session, CHARTER, actor, NOW, public_url="http://127.0.0.1:8080")
        assert handle(command, console).ok
    sender = EmailSender(f"smtp://127.0.0.1:{smtp.port}", "bot@meridian.example")
    relay = Relay(sqlite_engine, CHARTER, {"email": sender}, public_url="http://127.0.0.1:18945")
    await relay.run_until_idle(10)
    [mail] = [r.message for r in smtp.received if r.rcpt_tos == ["ops@x.org"]]
    body = "".join(
        p.get_payload(decode=True).decode()
        for p in mail.walk()
        if p.get_content_type() == "text/plain"
    )
    assert re.search(r"http://127\.0\.0\.1:18945/subscriptions/confirm\?token=\S+", body), body
    assert "127.0.0.1:8080" not in body
