"""A greylisting mail server's "try again later" (450 on RCPT) is a transient failure.

Only a refusal whose every recipient code is 5xx is permanent; a 4xx one is retried, and the
retry is delivered, as a greylisting server lets it through. Through a real local SMTP server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from bot.render.model import build_notice
from bot.senders.base import Envelope
from bot.senders.email import EmailSender
from tests.standins.receivers import free_port


class Greylisting:
    """Refuses each recipient's first RCPT with 450 4.7.1; accepts it from then on."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.delivered: list[list[str]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address not in self.seen:
            self.seen.add(address)
            return "450 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.delivered.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


@pytest.fixture
def greylisting() -> Iterator[tuple[Greylisting, int]]:
    handler, port = Greylisting(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _envelope(address: str) -> Envelope:
    data = {"kind": "voting-opened", "title": "T", "text": "x", "proposal": 1}
    data["at"] = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    notice = build_notice(data, lang="en", zone="UTC", repo="o/r", unsubscribe_url=None)
    return Envelope(delivery_id=1, key="1.1", address=address, notice=notice)


async def test_greylisted_recipient_is_retried_not_dropped(
    greylisting: tuple[Greylisting, int],
) -> None:
    handler, port = greylisting
    sender = EmailSender(f"smtp://127.0.0.1:{port}", "bot@meridian.example")
    first = await sender.send(_envelope("ops@x.org"))
    assert (first.ok, first.permanent) == (False, False)
    assert "450" in (first.error or "")
    again = await sender.send(_envelope("ops@x.org"))
    assert again.ok
    assert handler.delivered == [["ops@x.org"]]


@pytest.mark.parametrize(
    ("codes", "permanent"),
    [((550,), True), ((550, 553), True), ((450,), False), ((550, 451), False)],
    ids=["550", "all-5xx", "450", "mixed"],
)
async def test_refusals_are_permanent_only_when_every_code_is_5xx(
    monkeypatch: pytest.MonkeyPatch, codes: tuple[int, ...], permanent: bool
) -> None:
    """Several recipients refused at once (what aiosmtplib raises): one 4xx keeps it transient."""

    async def refuse(*_: Any, **__: Any) -> None:
        refused = [aiosmtplib.SMTPRecipientRefused(c, "no", f"r{c}@x.org") for c in codes]
        raise aiosmtplib.SMTPRecipientsRefused(refused)

    monkeypatch.setattr(aiosmtplib, "send", refuse)
    result = await EmailSender("smtp://127.0.0.1:25", "bot@x.org").send(_envelope("a@x.org"))
    assert (result.ok, result.permanent) == (False, permanent)


async def test_a_refused_login_is_a_credentials_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """535 on AUTH refuses charterbot's own login: the relay's circuit breaker holds e-mail
    (bot.relay) instead of failing each delivery for good."""

    async def refuse(*_: Any, **__: Any) -> None:
        raise aiosmtplib.SMTPAuthenticationError(535, "5.7.8 Authentication credentials invalid")

    monkeypatch.setattr(aiosmtplib, "send", refuse)
    sender = EmailSender("smtp://bot:wrong@127.0.0.1:25", "bot@x.org")
    result = await sender.send(_envelope("a@x.org"))
    assert (result.ok, result.permanent, result.credentials) == (False, False, True)
    assert "535" in result.error
