"""The Discord setup guide matches the code: invite permissions and settings."""

from __future__ import annotations

import discord
import pytest

from tests.paths import REPO

README = REPO / "deploy" / "discord" / "README.md"


def test_invite_permissions_integer() -> None:
    """The permission integer in the guide is exactly the four permissions it lists."""
    wanted = discord.Permissions(
        send_messages=True,
        embed_links=True,
        use_application_commands=True,
        read_message_history=True,
    )
    text = README.read_text(encoding="utf-8")
    assert f"permissions={wanted.value}" in text
    assert "scope=bot+applications.commands" in text


@pytest.mark.parametrize("variable", ["DISCORD_TOKEN", "DISCORD_GUILD_ID", "DISCORD_API_URL"])
def test_settings_are_documented(variable: str) -> None:
    """Every Discord setting the bot reads is explained in the guide."""
    assert f"`{variable}`" in README.read_text(encoding="utf-8")
