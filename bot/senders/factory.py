"""Senders from settings: a platform without credentials has no sender (its deliveries fail
with a clear "not configured" error and can be retried once it is configured)."""

from __future__ import annotations

from bot.senders.base import Sender
from bot.senders.discord import DiscordSender
from bot.senders.email import EmailSender
from bot.senders.slack import SlackSender
from bot.senders.webhook import WebhookSender
from bot.settings import Settings


def build_senders(settings: Settings) -> dict[str, Sender]:
    senders: dict[str, Sender] = {
        "webhook": WebhookSender(allow_private=settings.webhook_allow_private)
    }
    if settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
        senders["slack"] = SlackSender(token, settings.slack_api_url)
    if settings.discord_token is not None:
        token = settings.discord_token.get_secret_value()
        senders["discord"] = DiscordSender(token, settings.discord_api_url)
    if settings.smtp_url is not None:
        mail_from = settings.mail_from or "charterbot@localhost"
        senders["email"] = EmailSender(settings.smtp_url.get_secret_value(), mail_from)
    return senders
