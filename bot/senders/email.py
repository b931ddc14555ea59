"""E-mail over SMTP (aiosmtplib), configured by one URL.

``CHARTERBOT_SMTP_URL``: ``smtp+starttls://user:password@host:587`` (STARTTLS, required),
``smtps://user:password@host:465`` (TLS from the start) or ``smtp://host:25`` (plain; local
relays only). User and password are percent-decoded. ``CHARTERBOT_MAIL_FROM`` is the sender.

Rules:
- Every mail is multipart/alternative: a plain-text part and an HTML part.
- ``List-Id`` names the list (``<announcements.<domain>>``); a subscriber's mail carries
  ``List-Unsubscribe`` (the one-click link) and
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058).
- The ``Subject`` is one line (:func:`bot.render.platforms.email_parts`); a non-ASCII one is
  written as RFC 2047 encoded words of at most 75 characters each.
- The ``Message-ID`` is derived from the delivery, so a resend after a crash carries the same
  id and mail clients show one message.
- An SMTP refusal is judged by where it came and its code (:func:`smtp_refusal`): 4xx answers
  and connection failures are transient (a greylisting server's 450 at RCPT is retried
  instead of the subscriber being dropped). Only a 5xx at RCPT is the destination refusing:
  permanent, counted against the subscription. A 5xx at DATA (or a 552 at MAIL FROM: too
  large) refuses this message: permanent for this delivery only. A 530 (authentication
  required) anywhere, and any other 5xx (the greeting, EHLO, AUTH, MAIL FROM), refuses
  charterbot itself — its login, its sender address, its host — so every mail would fail
  alike: a credentials failure, which holds e-mail in the relay's circuit breaker instead of
  dropping subscribers.
- An address with non-ASCII characters (``jörg@example.org``) is refused permanently before
  connecting: plain SMTP cannot carry it and charterbot does not use SMTPUTF8.
"""

from __future__ import annotations

import email.policy
import hashlib
import ssl
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import BaseHeader, HeaderRegistry, UniqueUnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import formatdate, parseaddr
from typing import ClassVar, Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib

from bot.render.platforms import email_parts
from bot.senders.base import (
    Envelope,
    SendResult,
    permanent,
    refused_credentials,
    refused_message,
    transient,
)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    mode: str  # starttls | tls | plain
    username: str | None = None
    password: str | None = None


class _Subject(UniqueUnstructuredHeader, BaseHeader):
    """A non-ASCII subject folds into RFC 2047 encoded words of at most 75 characters, by
    :mod:`email.header`: under the policy's 998-character lines the header registry would make
    one encoded word of hundreds, which mail clients may show raw. An ASCII one folds as any."""

    max_count: ClassVar[Literal[1]] = 1  # one Subject, as the default registry's

    def fold(self, *, policy: Policy) -> str:
        if self.isascii():
            return super().fold(policy=policy)
        header = Header(str(self), "utf-8", header_name=self.name, maxlinelen=75)
        return f"{self.name}: {header.encode(linesep=policy.linesep)}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("subject", _Subject)
# Lines up to RFC 5322's 998-character limit: the default 78 would fold the unsubscribe URL
# into an encoded word, which mail clients cannot use as a link.
_POLICY = email.policy.SMTP.clone(max_line_length=998, header_factory=_HEADERS)
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
            return _recipients_refused(exc)
        except aiosmtplib.SMTPResponseException as exc:
            return smtp_refusal(_stage(exc), exc.code, f"email: {exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return transient(f"email: {type(exc).__name__}: {exc}")
        return SendResult(True, message_id=str(msg["Message-ID"]))

    async def aclose(self) -> None:
        return None


RCPT, DATA, SESSION = "rcpt", "data", "session"  # where in the conversation: see smtp_refusal


def smtp_refusal(stage: str, code: int, error: str) -> SendResult:
    """What an SMTP answer ``code`` at ``stage`` means for this delivery:
    - not 5xx (4xx: greylisting, a full mailbox, a busy server): transient;
    - 530 (authentication required) anywhere: a credentials failure;
    - 5xx at ``DATA``, or 552 at ``SESSION`` (MAIL FROM refusing the ``SIZE`` announced, RFC
      1870): this message was refused, permanent for this delivery only;
    - any other 5xx at ``SESSION`` (the greeting, EHLO, AUTH, MAIL FROM — anything before
      RCPT): the server refuses charterbot itself, a credentials failure for the relay's
      circuit breaker;
    - 5xx at ``RCPT``: the destination refused the address, permanent."""
    if not 500 <= code < 600:
        return transient(error)
    if code == 530:
        return refused_credentials(error)
    if stage == DATA or (stage == SESSION and code == 552):
        return refused_message(error)
    if stage == SESSION:
        return refused_credentials(error)
    return permanent(error)


def _stage(exc: aiosmtplib.SMTPResponseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return RCPT
    return DATA if isinstance(exc, aiosmtplib.SMTPDataError) else SESSION


def _recipients_refused(exc: aiosmtplib.SMTPRecipientsRefused) -> SendResult:
    """Every recipient's RCPT answer judged by :func:`smtp_refusal`: a credentials failure if
    any is one; permanent only when all are (any 4xx may pass on a later try)."""
    why = "; ".join(f"{r.code} {r.message}" for r in exc.recipients) or str(exc)
    results = [smtp_refusal(RCPT, r.code, "") for r in exc.recipients]
    if any(r.credentials for r in results):
        return refused_credentials(f"email: recipient refused: {why}")
    if results and all(r.permanent for r in results):
        return permanent(f"email: recipient refused: {why}")
    return transient(f"email: recipient deferred: {why}")
