"""subscribe / unsubscribe / subscriptions, and the e-mail double opt-in end to end."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from bot.feeds import routes
from bot.messages import Actor, Message, plain_text
from bot.relay import Relay
from bot.senders.email import EmailSender
from bot.subscribe import Context, Origin, handle
from charter.commands import Subscribe, Subscriptions, Unsubscribe
from charter.grammar import parse_chat
from storage import subscriptions as repo
from storage.db import session_scope
from tests.bot.broadcast.support import NOW, announce, charter, enqueue
from tests.standins.receivers import SmtpServer

CHARTER = charter()
ALICE = Actor("alice-aurora", "slack", "U1ALICE", "Alice")
CHANNEL = Origin("slack", "C0CHAN")


def _run(
    engine: Engine, text: str, actor: Actor = ALICE, origin: Origin | None = CHANNEL
) -> Message:
    command = parse_chat(text)
    assert isinstance(command, Subscribe | Unsubscribe | Subscriptions), command
    with session_scope(engine) as session:
        return handle(command, Context(session, CHARTER, actor, NOW, origin, "https://bot.example"))


def _text(m: Message) -> str:
    return plain_text(m) if callable(plain_text) else str(m)


@pytest.mark.parametrize(
    ("text", "origin", "ok", "says"),
    [
        ("subscribe here decision track protocol-change", CHANNEL, True, "slack:C0CHAN"),
        ("subscribe me incident severity >= sev2", None, True, "slack:@U1ALICE"),
        ("subscribe here", None, False, "Slack or Discord channel"),
        ("subscribe here track nope", CHANNEL, False, "choose from protocol-change"),
        ("subscribe here client zeta", CHANNEL, False, "aurora"),
        ("subscribe here severity >= sev9", CHANNEL, False, "sev1"),
        ("subscribe webhook https://127.0.0.1/hook", CHANNEL, False, "public addresses"),
        ("subscribe webhook http://hooks.example.com/x", CHANNEL, False, "https"),
        ("subscribe here lang es decision", CHANNEL, True, "Suscrito"),
    ],
)
def test_subscribe_targets_and_refusals(
    sqlite_engine: Engine, text: str, origin: Origin | None, ok: bool, says: str
) -> None:
    """Targets resolve from where the command came; bad names and unsafe URLs are refused
    with what to do instead; replies follow the subscription's language."""
    reply = _run(sqlite_engine, text, origin=origin)
    assert reply.ok is ok
    assert says in _text(reply)


def test_subscribe_twice_is_one_subscription_and_unsubscribe_removes_it(
    sqlite_engine: Engine,
) -> None:
    """The same subscription is stored once; `subscriptions` lists the person's and the
    channel's; `unsubscribe <id>` removes only what belongs to them."""
    assert "Subscribed" in _text(_run(sqlite_engine, "subscribe here decision"))
    assert "Already subscribed" in _text(_run(sqlite_engine, "subscribe here decision"))
    _run(sqlite_engine, "subscribe me vote")
    listing = _text(_run(sqlite_engine, "subscriptions"))
    assert "slack:C0CHAN" in listing and "slack:@U1ALICE" in listing
    other = Actor("bob", "slack", "U2BOB", "Bob")
    assert not _run(sqlite_engine, "unsubscribe 2", actor=other, origin=None).ok
    assert "1" in _text(_run(sqlite_engine, "unsubscribe 2"))
    assert "slack:@U1ALICE" not in _text(_run(sqlite_engine, "subscriptions"))


async def test_email_double_opt_in_and_one_click_unsubscribe(
    sqlite_engine: Engine, smtp: SmtpServer
) -> None:
    """An e-mail subscription sends a confirmation mail and nothing else; after POSTing the
    signed link, announcements arrive with a one-click unsubscribe link that works."""
    reply = _run(sqlite_engine, "subscribe email ops@x.org decision")
    assert "confirmation" in _text(reply)
    sender = EmailSender(f"smtp://127.0.0.1:{smtp.port}", "bot@meridian.example")
    relay = Relay(sqlite_engine, CHARTER, {"email": sender}, public_url="https://bot.example")
    enqueue(sqlite_engine, announce("decision", title="before confirming"))
    await relay.run_until_idle(10)
    to_ops = [r.message for r in smtp.received if r.rcpt_tos == ["ops@x.org"]]
    assert [m["Subject"] for m in to_ops] == ["Confirm your subscription"]
    link = re.search(r"https://bot\.example(/subscriptions/confirm\?token=\S+)", _body(to_ops[0]))
    assert link is not None

    app = Starlette(routes=routes(lambda: sqlite_engine, lambda: CHARTER, now=lambda: NOW))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as web:
        assert (await web.get(link.group(1))).status_code == 200  # a page, not a confirmation
        with session_scope(sqlite_engine) as session:
            assert not repo.is_confirmed(session, "ops@x.org")
        assert (await web.post(link.group(1))).status_code == 200
        assert (await web.post(link.group(1).replace("token=", "token=x"))).status_code == 400

        enqueue(sqlite_engine, announce("decision", title="after confirming"))
        await relay.run_until_idle(10)
        to_ops = [r.message for r in smtp.received if r.rcpt_tos == ["ops@x.org"]]
        assert to_ops[-1]["Subject"] == "Decision: after confirming"
        unsub = to_ops[-1]["List-Unsubscribe"].strip("<>").replace("https://bot.example", "")
        resp = await web.post(unsub, content=b"List-Unsubscribe=One-Click")
        assert resp.status_code == 200
    with session_scope(sqlite_engine) as session:
        assert repo.of_target(session, "email", "ops@x.org") == []
    assert len(to_ops) == 2


def _body(msg) -> str:  # type: ignore[no-untyped-def]
    return "".join(
        p.get_payload(decode=True).decode()
        for p in msg.walk()
        if p.get_content_type() == "text/plain"
    )
