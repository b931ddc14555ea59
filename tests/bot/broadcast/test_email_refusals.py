"""Which SMTP refusals are the destination's, and which are charterbot's own.

Only a 5xx at RCPT is the destination refusing (counted toward removing the subscription). A 5xx
at DATA refuses that one message. A mail server refusing charterbot's sender address at MAIL
FROM, or demanding a login (530), refuses every mail alike: a credentials failure, held by the
relay's circuit breaker, never a reason to drop subscribers. Through a real local SMTP server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlmodel import select

from bot.clock import FixedClock
from bot.relay import CREDENTIALS_PAUSE, Relay
from bot.render.model import build_notice
from bot.senders.base import Envelope, SendResult
from bot.senders.email import DATA, RCPT, SESSION, EmailSender, smtp_refusal
from storage import subscriptions as repo
from storage.db import session_scope
from storage.models.broadcast import DeliveryRow, SubscriptionRow
from storage.models.core import OutboxRow
from tests.bot.broadcast.support import NOW, announce, charter, enqueue, subscribe
from tests.standins.receivers import free_port

SUBSCRIBERS = ("ops@x.org", "dev@y.org")


class Refusing:
    """Answers ``answer`` at one step of the conversation (``mail``, ``rcpt`` or ``data``)."""

    def __init__(self, step: str, answer: str) -> None:
        self.step, self.answer = step, answer
        self.delivered: list[list[str]] = []

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.step == "mail":
            return self.answer
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.step == "rcpt":
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.step == "data":
            return self.answer
        self.delivered.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


def _server(handler: Any, **kwargs: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def sender_refused() -> Iterator[int]:
    yield from _server(Refusing("mail", "550 5.7.1 Sender address rejected: not owned by user"))


@pytest.fixture
def auth_required() -> Iterator[int]:
    """What a server demanding AUTH answers a client that sent MAIL FROM without logging in
    (aiosmtpd's own answer with ``auth_required``)."""
    yield from _server(Refusing("mail", "530 5.7.0 Authentication required"))


@pytest.fixture
def content_refused() -> Iterator[int]:
    yield from _server(Refusing("data", "554 5.6.0 Message content rejected"))


@pytest.fixture
def recipient_refused() -> Iterator[int]:
    yield from _server(Refusing("rcpt", "550 5.1.1 No such user"))


def _envelope(address: str = "ops@x.org") -> Envelope:
    data = {"kind": "voting-opened", "title": "T", "text": "x", "proposal": 1}
    data["at"] = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    notice = build_notice(data, lang="en", zone="UTC", repo="o/r", unsubscribe_url=None)
    return Envelope(delivery_id=1, key="1.1", address=address, notice=notice)


def _outcome(result: SendResult) -> str:
    if result.credentials:
        return "credentials"
    if result.message_refused:
        return "message"
    return "permanent" if result.permanent else "transient"


@pytest.mark.parametrize(
    ("stage", "code", "outcome"),
    [
        (SESSION, 550, "credentials"),  # MAIL FROM: our sender address refused
        (SESSION, 530, "credentials"),  # a login demanded
        (SESSION, 535, "credentials"),  # our login refused
        (SESSION, 554, "credentials"),  # the greeting: our host refused
        (SESSION, 552, "message"),  # MAIL FROM refusing the SIZE announced: too large
        (SESSION, 421, "transient"),
        (SESSION, 451, "transient"),
        (RCPT, 550, "permanent"),
        (RCPT, 553, "permanent"),
        (RCPT, 530, "credentials"),  # some servers ask for the login at RCPT
        (RCPT, 450, "transient"),
        (DATA, 554, "message"),
        (DATA, 552, "message"),
        (DATA, 530, "credentials"),
        (DATA, 451, "transient"),
    ],
)
def test_a_refusal_is_judged_by_where_it_came_and_its_code(
    stage: str, code: int, outcome: str
) -> None:
    result = smtp_refusal(stage, code, f"email: {code} no")
    assert (result.ok, _outcome(result), result.error) == (False, outcome, f"email: {code} no")


async def test_a_refused_sender_address_is_a_credentials_failure(sender_refused: int) -> None:
    sender = EmailSender(f"smtp://127.0.0.1:{sender_refused}", "bot@meridian.example")
    result = await sender.send(_envelope())
    assert (_outcome(result), result.permanent) == ("credentials", False)
    assert "550" in result.error


async def test_a_demanded_login_is_a_credentials_failure(auth_required: int) -> None:
    sender = EmailSender(f"smtp://127.0.0.1:{auth_required}", "bot@meridian.example")
    result = await sender.send(_envelope())
    assert (_outcome(result), result.permanent) == ("credentials", False)
    assert "530" in result.error


async def test_refused_content_fails_this_message_only(content_refused: int) -> None:
    sender = EmailSender(f"smtp://127.0.0.1:{content_refused}", "bot@meridian.example")
    result = await sender.send(_envelope())
    assert (_outcome(result), result.permanent) == ("message", True)
    assert "554" in result.error


async def test_a_refused_recipient_is_the_destination_refusing(recipient_refused: int) -> None:
    sender = EmailSender(f"smtp://127.0.0.1:{recipient_refused}", "bot@meridian.example")
    result = await sender.send(_envelope())
    assert (_outcome(result), result.permanent) == ("permanent", True)
    assert "550" in result.error


def _subscribers(engine: Engine) -> list[int]:
    ids = [subscribe(engine, "email", address) for address in SUBSCRIBERS]
    with session_scope(engine) as session:
        for address in SUBSCRIBERS:
            repo.request_optin(session, address, NOW)
            repo.confirm_optin(session, address, NOW)
    return ids


def _subscriber_rows(engine: Engine) -> tuple[list[str], list[int]]:
    """The subscribers' delivery statuses, and the subscriptions still there."""
    with session_scope(engine) as session:
        rows = session.exec(select(DeliveryRow).where(DeliveryRow.subscription_id != None)).all()  # noqa: E711
        subs = session.exec(select(SubscriptionRow.id)).all()
        return [r.status for r in rows], [s or 0 for s in subs]


def _notices(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        notes = session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
        return [json.loads(n.payload)["text"] for n in notes]


@pytest.mark.parametrize("server", ["sender_refused", "auth_required"])
async def test_the_bots_own_refusal_keeps_every_subscriber(
    sqlite_engine: Engine, request: pytest.FixtureRequest, server: str
) -> None:
    """Three announcements while the mail server refuses charterbot itself: e-mail is held by
    the circuit breaker (tried once, the coordinators told once), every delivery stays
    pending and no subscription is removed."""
    port = request.getfixturevalue(server)
    ids = _subscribers(sqlite_engine)
    sender = EmailSender(f"smtp://127.0.0.1:{port}", "bot@meridian.example")
    clock = FixedClock(NOW)
    relay = Relay(sqlite_engine, charter(), {"email": sender}, clock=clock)
    for n in range(3):
        enqueue(sqlite_engine, announce("decision", title=f"decision {n}"))
        await relay.step()
        clock.advance(CREDENTIALS_PAUSE / 4)
    statuses, subs = _subscriber_rows(sqlite_engine)
    assert statuses == ["pending"] * 6
    assert set(ids) <= set(subs)
    held = [t for t in _notices(sqlite_engine) if "refused charterbot's credentials" in t]
    assert len(held) == 1 and held[0].startswith("email refused")
    assert not any("was removed" in t for t in _notices(sqlite_engine))


async def test_refused_content_fails_the_delivery_and_keeps_the_subscriber(
    sqlite_engine: Engine, content_refused: int
) -> None:
    """554 at DATA three announcements in a row: each delivery fails for good (and is
    reported), but the refusal was of the message, so no subscription is removed."""
    ids = _subscribers(sqlite_engine)
    sender = EmailSender(f"smtp://127.0.0.1:{content_refused}", "bot@meridian.example")
    relay = Relay(sqlite_engine, charter(), {"email": sender})
    for n in range(3):
        enqueue(sqlite_engine, announce("decision", title=f"decision {n}"))
        await relay.run_until_idle(10)
    statuses, subs = _subscriber_rows(sqlite_engine)
    assert statuses == ["failed"] * 6
    assert set(ids) <= set(subs)
    texts = _notices(sqlite_engine)
    assert sum("554" in t for t in texts) >= 6
    assert not any("was removed" in t for t in texts)
