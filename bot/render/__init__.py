"""One neutral announcement model (:mod:`bot.render.model`), rendered per platform.

Renderers (:mod:`bot.render.platforms`) escape everything that came from people, so an
announcement can never ping, link or format by accident, and cut text to the platform's limit.
"""

from bot.render.model import Notice, build_digest, build_notice
from bot.render.platforms import discord_content, email_parts, slack_text, webhook_body

__all__ = [
    "Notice",
    "build_digest",
    "build_notice",
    "discord_content",
    "email_parts",
    "slack_text",
    "webhook_body",
]
