"""E-mail through a real local SMTP server, and signed webhooks with the forgery guard."""

from __future__ import annotations

import email
import email.policy
import json
import re

import aiosmtplib
import pytest

from bot.render.model import build_notice
from bot.render.platforms import email_parts
from bot.senders.base import Envelope
from bot.senders.email import EmailSender, parse_smtp_url
from bot.senders.webhook import WebhookRefused, WebhookSender, check_url, verify
from tests.bot.broadcast.support import announce, payload
from tests.standins.receivers import SmtpServer, WebhookReceiver, self_signed

UNSUB = "https://bot.example/subscriptions/unsubscribe?token=abc"


def _envelope(address: str, *, secret: str | None = None, unsub: str | None = UNSUB) -> Envelope:
    data = payload(
        announce("decision", proposal=7, title="Adopt <b>X</b> & Y", track="feature-flag")
    )
    notice = build_notice(data, lang="es", zone="Europe/Madrid", repo="o/r", unsubscribe_url=unsub)
    return Envelope(7, "41.7", address, notice, data, secret=secret)


async def test_mail_has_list_headers_multipart_and_a_stable_message_id(smtp: SmtpServer) -> None:
    """A subscriber's mail is multipart text + HTML (HTML escaped), carries List-Id,
    List-Unsubscribe with the one-click link and List-Unsubscribe-Post; the Message-ID is
    derived from the delivery, so a resend has the same one."""
    sender = EmailSender(f"smtp://127.0.0.1:{smtp.port}", "bot@meridian.example")
    first = await sender.send(_envelope("ops@x.org"))
    again = await sender.send(_envelope("ops@x.org"))
    assert first.ok and first.message_id == again.message_id
    msg = smtp.received[0].message
    assert smtp.received[0].rcpt_tos == ["ops@x.org"]
    assert msg["List-Id"] == "charterbot announcements <announcements.meridian.example>"
    assert msg["List-Unsubscribe"] == f"<{UNSUB}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Message-ID"] == first.message_id
    assert msg.get_content_type() == "multipart/alternative"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in msg.walk()
        if not p.is_multipart()
    }
    assert set(parts) == {"text/plain", "text/html"}
    assert "Adopt <b>X</b> & Y" in parts["text/plain"] and "Decisión" in parts["text/plain"]
    assert "Adopt &lt;b&gt;X&lt;/b&gt; &amp; Y" in parts["text/html"]
    assert "<b>X</b>" not in parts["text/html"]


async def test_refused_recipient_is_permanent(smtp: SmtpServer) -> None:
    """A 550 for the recipient is a permanent failure (no retry)."""
    smtp.refuse("gone@x.org")
    sender = EmailSender(f"smtp://127.0.0.1:{smtp.port}", "bot@meridian.example")
    result = await sender.send(_envelope("gone@x.org"))
    assert (result.ok, result.permanent) == (False, True)


async def test_starttls_and_auth_from_the_url() -> None:
    """smtp+starttls://user:pass@host:port upgrades to TLS and logs in."""
    server_tls, client_tls = self_signed()
    smtp = SmtpServer(tls=server_tls, credentials=("bot", "p@ss"))
    smtp.start()
    try:
        url = f"smtp+starttls://bot:p%40ss@localhost:{smtp.port}"
        sender = EmailSender(url, "bot@meridian.example", tls_context=client_tls)
        assert (await sender.send(_envelope("ops@x.org"))).ok
        bad = EmailSender(url.replace("p%40ss", "nope"), "bot@m.example", tls_context=client_tls)
        assert not (await bad.send(_envelope("ops@x.org"))).ok
    finally:
        smtp.stop()
    assert len(smtp.received) == 1


@pytest.mark.parametrize(
    ("url", "mode", "port", "user"),
    [
        ("smtp+starttls://u:p@mail.example:587", "starttls", 587, "u"),
        ("smtps://u:p@mail.example", "tls", 465, "u"),
        ("smtp://relay.local", "plain", 25, None),
    ],
)
def test_smtp_url_forms(url: str, mode: str, port: int, user: str | None) -> None:
    """The three URL forms give the mode, default port and credentials."""
    c = parse_smtp_url(url)
    assert (c.mode, c.port, c.username) == (mode, port, user)


def test_bad_smtp_url_names_the_accepted_forms() -> None:
    """An unknown scheme is refused with the forms that work."""
    with pytest.raises(ValueError, match=r"smtp\+starttls://"):
        parse_smtp_url("imap://x")


async def test_webhook_is_signed_and_the_receiver_verifies_it() -> None:
    """The receiver recomputes HMAC-SHA256(secret, f"{ts}.{body}") and it matches; the body is
    the announcement as JSON; the delivery id header is stable."""
    server_tls, client_tls = self_signed()
    receiver = WebhookReceiver("s3cret", server_tls)
    await receiver.start()
    sender = WebhookSender(allow_private=True, verify_tls=client_tls)
    try:
        result = await sender.send(_envelope(receiver.url(), secret="s3cret"))
        forged = await sender.send(_envelope(receiver.url(), secret="wrong"))
    finally:
        await sender.aclose()
        await receiver.stop()
    assert result.ok and forged.ok  # the receiver answers 200 either way; it records the verdict
    good, bad = receiver.hooks
    assert (good.valid, bad.valid) == (True, False)
    body = json.loads(good.body)
    assert (body["kind"], body["proposal"], body["title"]) == ("decision", 7, "Adopt <b>X</b> & Y")
    assert good.headers["X-Charterbot-Delivery"] == "41.7"
    ts, sig = good.headers["X-Charterbot-Timestamp"], good.headers["X-Charterbot-Signature"]
    assert verify("s3cret", ts, good.body, sig)
    assert not verify("s3cret", ts, good.body + b" ", sig)
    assert not verify("s3cret", str(int(ts) - 301), good.body, sig)


def _resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


DNS = {
    "hooks.example.com": ["93.184.216.34"],
    "sneaky.example.com": ["127.0.0.1"],
    "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
    "v6loop.example.com": ["::1"],
    "mapped.example.com": ["::ffff:127.0.0.1"],
    "127.0.0.1": ["127.0.0.1"],
    "10.0.0.8": ["10.0.0.8"],
    "169.254.169.254": ["169.254.169.254"],
    "::1": ["::1"],
    "192.168.1.1": ["192.168.1.1"],
    "100.64.0.1": ["100.64.0.1"],
    "0.0.0.0": ["0.0.0.0"],
}


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://hooks.example.com/x", None),
        ("http://hooks.example.com/x", "https"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://10.0.0.8/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/x", "loopback"),
        ("https://192.168.1.1/x", "private"),
        ("https://100.64.0.1/x", "private"),
        ("https://0.0.0.0/x", "loopback"),
        ("https://sneaky.example.com/x", "127.0.0.1"),
        ("https://mixed.example.com/x", "10.1.2.3"),
        ("https://v6loop.example.com/x", "::1"),
        ("https://mapped.example.com/x", "::ffff:127.0.0.1"),
        ("https://nowhere.example.com/x", "does not resolve"),
        ("ftp://hooks.example.com/x", "https"),
    ],
)
async def test_forgery_guard_refuses_non_public_targets(url: str, refused: str | None) -> None:
    """Only https URLs whose host resolves only to public addresses are allowed."""
    resolve = _resolver(DNS)
    if refused is None:
        _parsed, addresses = await check_url(url, resolve=resolve)
        assert addresses == ["93.184.216.34"]
    else:
        with pytest.raises(WebhookRefused, match=refused.replace("[", r"\[")):
            await check_url(url, resolve=resolve)


async def test_operator_may_allow_private_targets() -> None:
    """CHARTERBOT_WEBHOOK_ALLOW_PRIVATE lets loopback through (https is still required)."""
    resolve = _resolver(DNS)
    _parsed, addresses = await check_url(
        "https://sneaky.example.com/", allow_private=True, resolve=resolve
    )
    assert addresses == ["127.0.0.1"]
    with pytest.raises(WebhookRefused, match="https"):
        await check_url("http://sneaky.example.com/", allow_private=True, resolve=resolve)


async def test_sender_refuses_a_private_target_at_send_time() -> None:
    """A webhook whose host now resolves to loopback is refused permanently, never contacted."""
    sender = WebhookSender(allow_private=False, resolve=_resolver(DNS))
    try:
        result = await sender.send(_envelope("https://sneaky.example.com/hook", secret="s"))
    finally:
        await sender.aclose()
    assert (result.ok, result.permanent) == (False, True)
    assert "127.0.0.1" in result.error


def _titled(title: str) -> Envelope:
    data = payload(announce("decision", proposal=7, title=title))
    notice = build_notice(data, lang="en", zone="UTC", repo="o/r", unsubscribe_url=UNSUB)
    return Envelope(7, "41.7", "ops@x.org", notice, data)


async def _sent_bytes(monkeypatch: pytest.MonkeyPatch, envelope: Envelope) -> bytes:
    """The bytes the sender hands to SMTP for ``envelope``."""
    sent: list[bytes] = []

    async def capture(message: bytes, **_: object) -> None:
        sent.append(message)

    monkeypatch.setattr(aiosmtplib, "send", capture)
    result = await EmailSender("smtp://127.0.0.1:25", "bot@meridian.example").send(envelope)
    assert result.ok
    (raw,) = sent
    return raw


@pytest.mark.parametrize(
    "brk", ["\n", "\r", "\r\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
async def test_a_line_break_in_a_title_becomes_a_space_in_the_subject(
    smtp: SmtpServer, brk: str
) -> None:
    """Every break ``str.splitlines`` knows (an issue title keeps U+2028) is a space in the
    one-line subject, so the mail is built and delivered instead of raising on every try."""
    subject, _, _ = email_parts(_titled(f"Fix{brk}gossip").notice)
    assert subject == "Decision: Fix gossip"
    sender = EmailSender(f"smtp://127.0.0.1:{smtp.port}", "bot@meridian.example")
    assert (await sender.send(_titled(f"Fix{brk}gossip"))).ok
    assert smtp.received[0].message["Subject"] == "Decision: Fix gossip"


@pytest.mark.parametrize(
    "title",
    [
        "Добавить Fornax в качестве шестого клиента сети Meridian",
        "在 Meridian 网络中将 Fornax 添加为第六个客户端并启用完整支持",
        "Añadir Fornax — über ✓ " * 6,
        "🚀" * 60,
        "Adopt Fornax as the sixth client of the Meridian network and enable full support " * 2,
    ],
    ids=["cyrillic", "chinese", "accents", "emoji", "ascii"],
)
async def test_the_subject_is_encoded_words_of_at_most_75_characters(
    monkeypatch: pytest.MonkeyPatch, title: str
) -> None:
    """RFC 2047: an encoded word is at most 75 characters, however long a non-ASCII subject;
    the mail parses back to the same subject, and List-Unsubscribe stays one link."""
    envelope = _titled(title)
    subject, _, _ = email_parts(envelope.notice)
    raw = await _sent_bytes(monkeypatch, envelope)
    head = raw.split(b"\r\n\r\n")[0].decode("ascii")
    words = re.findall(r"=\?[^?]+\?[bq]\?[^?]*\?=", head, flags=re.IGNORECASE)
    assert all(len(w) <= 75 for w in words), [len(w) for w in words]
    assert bool(words) == (not subject.isascii())
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == subject
    assert parsed["List-Unsubscribe"] == f"<{UNSUB}>"
