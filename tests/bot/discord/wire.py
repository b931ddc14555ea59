"""Discord interaction payloads built from the docs' published samples."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.paths import FIXTURES
from tests.standins.discord_server import APP_ID

DISCORD_FIXTURES = FIXTURES / "discord"
USER_ID = "53908232506183680"  # Mason, the sample's member
GUILD = "290926798626357999"  # the samples' guild


def fixture_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DISCORD_FIXTURES / name).read_text(encoding="utf-8"))
    return data


def current(payload: dict[str, Any]) -> dict[str, Any]:
    """Fields today's API always sends that the older docs samples predate."""
    payload.setdefault("version", 1)
    payload.setdefault("attachment_size_limit", 10 * 1024 * 1024)
    payload.setdefault("application_id", APP_ID)
    payload["member"].setdefault("flags", 0)
    return payload


def command(
    sub: str,
    options: list[dict[str, Any]] | None = None,
    *,
    kind: int = 2,
    registered_in: str | None = GUILD,
) -> dict[str, Any]:
    """The docs' slash-command interaction, reshaped as ``/charter <sub> <options>``; a
    ``sub`` of two words is a nested group's subcommand (``rollout pause``).
    ``kind`` 4 makes it an autocomplete request; ``registered_in`` is the guild the command was
    synced to (Discord sends it as ``data.guild_id``), None for a global command."""
    payload = fixture_json("interaction.application_command.chat_input.json")
    payload["type"] = kind
    *group, name = sub.split()
    chosen: dict[str, Any] = {"name": name, "type": 1, "options": options or []}
    if group:
        chosen = {"name": group[0], "type": 2, "options": [chosen]}
    payload["data"] = {
        "id": payload["data"]["id"],
        "name": "charter",
        "type": 1,
        "options": [chosen],
    }
    if registered_in:
        payload["data"]["guild_id"] = registered_in
    return current(payload)


def option(name: str, value: Any, *, focused: bool = False) -> dict[str, Any]:
    kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3  # Discord types
    found: dict[str, Any] = {"name": name, "type": kind, "value": value}
    if focused:
        found["focused"] = True
    return found


def button(custom_id: str) -> dict[str, Any]:
    """The docs' button click, on a message whose button has ``custom_id``."""
    payload = copy.deepcopy(fixture_json("interaction.message_component.button.json"))
    payload["data"]["custom_id"] = custom_id
    payload["message"]["components"][0]["components"][0]["custom_id"] = custom_id
    return current(payload)
