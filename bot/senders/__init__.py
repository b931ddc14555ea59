"""Senders: one attempt to deliver one rendered announcement to one destination.

Slack and Discord over their HTTP APIs (httpx), e-mail over SMTP (aiosmtplib), outgoing
webhooks over HTTPS with an HMAC signature. Pacing and retries live in :mod:`bot.relay`.
"""

from bot.senders.base import Envelope, Sender, SendResult

__all__ = ["Envelope", "SendResult", "Sender"]
