"""What the relay must never do: quote a subscriber's address or a webhook's token in a failure
notice, send to someone who unsubscribed while the delivery waited, or leave a delivery
``sending`` because a sender raised.

Chat and webhook senders are local recording stand-ins; e-mail goes through the real sender
to a local SMTP server.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.clock import FixedClock
from bot.relay import Relay
from bot.relay_fanout import UNSUBSCRIBED
from bot.senders.base import Envelope, Sender, SendResult, permanent
from bot.senders.email import NON_ASCII, EmailSender
from bot.senders.pacing import Limits, Pacer
from storage import deliveries as store, outbox, subscriptions as repo
from storage.db import session_scope
from storage.models.broadcast import DeliveryRow, SubscriptionRow
from storage.models.core import OutboxRow
from tests.bot.broadcast.support import NOW, announce, charter, enqueue, subscribe
from tests.standins.receivers import SmtpServer

CHARTER = charter()
HOOK = "https://hooks.example.com/services/T0/B0/s3cr3tT0ken"
PERSON = "private.person@example.org"


class Stand:
    """A sender stand-in: records every envelope and answers ``result`` (accepted if None)."""

    def __init__(self, platform: str, result: SendResult | None = None) -> None:
        self.platform = platform
        self.result = result
        self.sent: list[Envelope] = []

    async def send(self, envelope: Envelope) -> SendResult:
        self.sent.append(envelope)
        return self.answer(envelope) or SendResult(True, message_id=f"m{len(self.sent)}")

    def answer(self, envelope: Envelope) -> SendResult | None:
        return self.result


class RefusesRecipient(Stand):
    """An SMTP server's refusal, which quotes the refused address."""

    def answer(self, envelope: Envelope) -> SendResult | None:
        return permanent(f"email: recipient refused: 550 <{envelope.address.upper()}> unknown")

    async def aclose(self) -> None:
        return None


def relay(engine: Engine, senders: dict[str, Sender]) -> Relay:
    return Relay(engine, CHARTER, senders, pacer=Pacer(Limits({}, {})), clock=FixedClock(NOW))


def confirmed(engine: Engine, address: str, **filters: object) -> int:
    sub = subscribe(engine, "email", address, **filters)
    with session_scope(engine) as session:
        repo.request_optin(session, address, NOW)
        repo.confirm_optin(session, address, NOW)
    return sub


def notices(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
        return [json.loads(r.payload)["text"] for r in rows]


def deliveries(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(DeliveryRow)).all()
        return {r.destination: (r.status, r.last_error) for r in rows}


# -- failure notices -----------------------------------------------------------------------


async def test_a_failure_notice_names_subscribers_without_their_address_or_token(
    sqlite_engine: Engine,
) -> None:
    """A failed delivery to a subscriber is named by subscription id and platform (a webhook
    by its host), never by the e-mail address or the webhook URL, also where the server's
    answer quotes the address; a charter channel keeps its id."""
    hook = subscribe(sqlite_engine, "webhook", HOOK, secret="x", kinds=["decision"])
    mail = confirmed(sqlite_engine, PERSON, kinds=["decision"])
    enqueue(sqlite_engine, announce("decision", proposal=1))
    senders: dict[str, Sender] = {
        "webhook": Stand("webhook", permanent("webhook: HTTP 404")),
        "email": RefusesRecipient("email"),
        "slack": Stand("slack", permanent("slack: channel_not_found")),
        "discord": Stand("discord"),
    }
    await relay(sqlite_engine, senders).step()
    texts = sorted(notices(sqlite_engine))
    assert texts == [
        "Delivery to email:operators@lists.meridian.example failed and will not be retried:"
        " email: recipient refused: 550 <email:operators@lists.meridian.example> unknown",
        "Delivery to slack:C0MERIDIAN1 failed and will not be retried: slack: channel_not_found",
        f"Delivery to subscription #{hook} (webhook at hooks.example.com) failed and will not"
        " be retried: webhook: HTTP 404",
        f"Delivery to subscription #{mail} (email) failed and will not be retried:"
        f" email: recipient refused: 550 <subscription #{mail} (email)> unknown",
    ]
    assert not [t for t in texts if PERSON in t.lower() or "s3cr3tT0ken" in t]
    assert deliveries(sqlite_engine)[f"email:{PERSON}"] == (
        "failed",
        f"email: recipient refused: 550 <{PERSON.upper()}> unknown",  # the record keeps it
    )


async def test_a_failed_confirmation_mail_is_named_without_its_address(
    sqlite_engine: Engine,
) -> None:
    """A confirmation mail has no subscription yet; its failure notice names it as one, not by
    the (unconfirmed, personal) address."""
    payload = {
        "kind": "confirm",
        "at": NOW.isoformat(),
        "title": "Confirm your subscription",
        "text": "Open the link to confirm.",
        "link": "https://bot.example/confirm?token=abc",
        "destination": {"platform": "email", "address": PERSON, "lang": "en"},
    }
    with session_scope(sqlite_engine) as session:
        outbox.enqueue(session, kind="confirm-email", payload=payload, now=NOW)
    senders: dict[str, Sender] = {"email": Stand("email", permanent("email: 550 no such user"))}
    await relay(sqlite_engine, senders).step()
    (text,) = notices(sqlite_engine)
    assert text.startswith("Delivery to a confirmation e-mail (to an address not yet confirmed)")
    assert PERSON not in text


# -- unsubscribed while waiting --------------------------------------------------------------


async def test_a_delivery_whose_subscription_was_removed_is_not_sent(
    sqlite_engine: Engine,
) -> None:
    """A delivery whose subscription is gone when it is claimed is not sent: it is failed as
    unsubscribed before delivery, without a notice to the coordinators; a subscription still
    there is delivered as usual. Here the relay had claimed the deliveries (``sending``, which
    unsubscribing leaves to the relay) and died; the restart returns them to pending."""
    confirmed(sqlite_engine, PERSON)
    gone = subscribe(sqlite_engine, "slack", "CGONE")
    subscribe(sqlite_engine, "slack", "CSTAYS")
    enqueue(sqlite_engine, announce("vote", proposal=1))  # not in the announce table
    mail, slack = Stand("email"), Stand("slack")
    r = relay(sqlite_engine, {"email": mail, "slack": slack})
    r.prepare()
    with session_scope(sqlite_engine) as session:
        assert len(store.claim(session, NOW)) == 3  # the relay that died
    with session_scope(sqlite_engine) as session:
        repo.unsubscribe_address(session, PERSON, NOW)  # the one-click link
        session.delete(session.get(SubscriptionRow, gone))  # however it went
    assert r.reconcile() == (0, 3)
    await r.deliver_once()
    assert mail.sent == [] and [e.address for e in slack.sent] == ["CSTAYS"]
    assert deliveries(sqlite_engine) == {
        f"email:{PERSON}": ("failed", UNSUBSCRIBED),
        "slack:CGONE": ("failed", UNSUBSCRIBED),
        "slack:CSTAYS": ("sent", None),
    }
    assert notices(sqlite_engine) == []


# -- senders that raise ----------------------------------------------------------------------


class Raises:
    """A sender with a bug: every send raises."""

    platform = "slack"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, envelope: Envelope) -> SendResult:
        self.calls += 1
        raise RuntimeError("sender bug")

    async def aclose(self) -> None:
        return None


async def test_an_exception_from_a_sender_is_recorded_and_retried_never_stuck(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A sender that raises does not stop the relay or leave the delivery ``sending``: it is
    logged with its traceback, recorded as a transient failure and retried with backoff, and
    failed once attempts run out; other destinations are delivered meanwhile."""
    subscribe(sqlite_engine, "slack", "CBUG")
    subscribe(sqlite_engine, "discord", "D1")
    enqueue(sqlite_engine, announce("vote", proposal=1))
    clock = FixedClock(NOW)
    senders: dict[str, Sender] = {"slack": Raises(), "discord": Stand("discord")}
    r = Relay(sqlite_engine, CHARTER, senders, pacer=Pacer(Limits({}, {})), clock=clock)
    with caplog.at_level(logging.ERROR, logger="charterbot.senders"):
        await r.step()
    status, error = deliveries(sqlite_engine)["slack:CBUG"]
    assert status == "pending" and error == "slack: unexpected RuntimeError: sender bug"
    assert deliveries(sqlite_engine)["discord:D1"] == ("sent", None)
    (logged,) = [rec for rec in caplog.records if rec.exc_info]
    assert logged.exc_info is not None and logged.exc_info[0] is RuntimeError
    for _ in range(outbox.MAX_ATTEMPTS):
        clock.advance(timedelta(hours=1))  # past the longest wait
        await r.step()
    assert deliveries(sqlite_engine)["slack:CBUG"][0] == "failed"


async def test_a_non_ascii_address_fails_for_good_with_a_clear_error(
    sqlite_engine: Engine, smtp: SmtpServer
) -> None:
    """``jörg@example.org`` cannot be sent over plain SMTP: the sender refuses it before
    connecting, the delivery is failed (not left ``sending``) with an error saying why, and the
    coordinators' notice does not quote the address."""
    sub = confirmed(sqlite_engine, "jörg@example.org")
    enqueue(sqlite_engine, announce("vote", proposal=1))
    sender = EmailSender(f"smtp://127.0.0.1:{smtp.port}", "bot@meridian.example")
    await relay(sqlite_engine, {"email": sender}).step()
    assert deliveries(sqlite_engine) == {"email:jörg@example.org": ("failed", NON_ASCII)}
    assert smtp.received == []
    (text,) = notices(sqlite_engine)
    assert text.startswith(f"Delivery to subscription #{sub} (email) failed")
    assert "jörg" not in text


async def test_the_email_sender_refuses_a_non_ascii_address_without_raising(
    smtp: SmtpServer,
) -> None:
    """The sender answers a permanent failure instead of raising UnicodeEncodeError; an ASCII
    address on the same sender still goes out."""
    from bot.render.model import build_notice
    from tests.bot.broadcast.support import payload

    notice = build_notice(payload(announce("vote")), lang="en", zone="UTC", repo="o/r")
    sender = EmailSender(f"smtp://127.0.0.1:{smtp.port}", "bot@meridian.example")
    refused = await sender.send(Envelope(1, "1.1", "jörg@example.org", notice))
    assert (refused.ok, refused.permanent, refused.error) == (False, True, NON_ASCII)
    assert (await sender.send(Envelope(2, "1.2", "jorg@example.org", notice))).ok
    assert [m.rcpt_tos for m in smtp.received] == [["jorg@example.org"]]
