"""E-mail over SMTP (aiosmtplib), configured by one URL.

``CHARTERBOT_SMTP_URL``: ``smtp+starttls://user:password@host:587`` (STARTTLS, required),
``smtps://user:password@host:465`` (TLS from the start) or ``smtp://host:25`` (plain; local
relays only). User and password are percent-decoded. ``CHARTERBOT_MAIL_FROM`` is the sender.

Rules:
- Every mail is multipart/alternative: a plain-text part and an HTML part.
- ``List-Id`` names the list (``<announcements.<domain>>``); a subscriber's mail carries
  ``List-Unsubscribe`` (the one-click link) and
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).
- The ``Message-ID`` is derived from the delivery, so a resend after a crash carries the same
  id and mail clients show one message.
- 5xx answers (recipient refused, …) are permanent; 4xx and connection failures are transient.
  A refused recipient is judged by its RCPT code: a greylisting server's 450 ("try again
  later") is transient, so the mail is retried instead of the subscriber being dropped.
- An address with non-ASCII characters (``jörg@example.org``) is refused permanently before
  connecting: plain SMTP cannot carry it and charterbot does not use SMTPUTF8.
"""

from __future__ import annotations

import email.policy
import hashlib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bot.render.platforms import email_parts
from bot.senders.base import Envelope, SendResult, permanent, refused_credentials, transient


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    mode: str  # starttls | tls | plain
    username: str | None = None
    password: str | None = None


# Lines up to RFC 5322's 998-character limit: the default 78 would fold the unsubscribe URL
# into an encoded word, which mail clients cannot use as a link.
_POLICY = email.policy.SMTP.clone(max_line_length=998)
NON_ASCII = (
    "email: the address has non-ASCII characters, which charterbot cannot send to (it does not"
    " use SMTPUTF8); subscribe with an ASCII address"
)
_SCHEMES = {"smtp+starttls": ("starttls", 587), "smtps": ("tls", 465), "smtp": ("plain", 25)}


def parse_smtp_url(url: str) -> SmtpConfig:
    """Read ``CHARTERBOT_SMTP_URL``; a clear error names the accepted forms."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise ValueError(
            f"CHARTERBOT_SMTP_URL {parts.scheme}://… is not usable; write "
            "smtp+starttls://user:password@host:587, smtps://user:password@host:465 "
            "or smtp://host:25"
        )
    mode, default_port = _SCHEMES[parts.scheme]
    return SmtpConfig(
        host=parts.hostname,
        port=parts.port or default_port,
        mode=mode,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def message_id(key: str, mail_from: str) -> str:
    domain = mail_from.rsplit("@", 1)[-1].strip(">") or "charterbot.invalid"
    return f"<charterbot.{hashlib.sha256(key.encode()).hexdigest()[:24]}@{domain}>"


def build_message(envelope: Envelope, mail_from: str) -> EmailMessage:
    subject, text, html = email_parts(envelope.notice)
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = mail_from
    msg["To"] = envelope.address
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(envelope.key, mail_from)
    domain = mail_from.rsplit("@", 1)[-1].strip(">")
    msg["List-Id"] = envelope.list_id or f"charterbot announcements <announcements.{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    if envelope.notice.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{envelope.notice.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class EmailSender:
    platform = "email"

    def __init__(
        self, smtp_url: str, mail_from: str, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self._config = parse_smtp_url(smtp_url)
        self._from = mail_from
        self._tls = tls_context

    async def send(self, envelope: Envelope) -> SendResult:
        if not envelope.address.isascii():
            return permanent(NON_ASCII)
        msg = build_message(envelope, self._from)
        c = self._config
        try:
            # Flattened here with our policy: aiosmtplib would re-fold headers at 78 columns.
            await aiosmtplib.send(
                msg.as_bytes(policy=_POLICY),
                sender=parseaddr(self._from)[1],
                recipients=[envelope.address],
                hostname=c.host,
                port=c.port,
                username=c.username,
                password=c.password,
                use_tls=c.mode == "tls",
                start_tls=c.mode == "starttls",
                tls_context=self._tls,
                timeout=30,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _refused(exc)
        except aiosmtplib.SMTPAuthenticationError as exc:  # our login, not this message
            return refused_credentials(f"email: {exc.code} {exc.message}")
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                return permanent(f"email: {exc.code} {exc.message}")
            return transient(f"email: {exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return transient(f"email: {type(exc).__name__}: {exc}")
        return SendResult(True, message_id=str(msg["Message-ID"]))

    async def aclose(self) -> None:
        return None


def _refused(exc: aiosmtplib.SMTPRecipientsRefused) -> SendResult:
    """Permanent only when every recipient was refused with a 5xx code; any 4xx (greylisting,
    a full mailbox, a busy server) may pass on a later try."""
    codes = [r.code for r in exc.recipients]
    why = "; ".join(f"{r.code} {r.message}" for r in exc.recipients) or str(exc)
    if codes and all(500 <= code < 600 for code in codes):
        return permanent(f"email: recipient refused: {why}")
    return transient(f"email: recipient deferred: {why}")
