"""A refused drill in a GitHub comment names the command to run first in the comment form,
as plain text GitHub shows as typed (no escaped backticks)."""

from __future__ import annotations

from tests.bot.rollouts.conftest import World
from tests.bot.rollouts.test_drills import comment, world

__all__ = ["world"]  # the fixture: every client on staging, canary requiring a drill there


def test_a_comment_refusal_names_the_comment_form_of_ready(world: World) -> None:
    [reply] = comment(world, "/drill borealis canary recovered 5m", "carmen-borealis")
    body = reply["body"]
    assert "report it first: /ready borealis canary &lt;version&gt;" in body
    assert "\\`" not in body and "`ready" not in body and "ready 1 borealis" not in body


def test_a_chat_refusal_names_the_chat_form(world: World) -> None:
    said = world.refused("carmen-borealis", "drill 1 borealis canary recovered 5m")
    assert "report it first: /charter ready 1 borealis canary <version>" in said
