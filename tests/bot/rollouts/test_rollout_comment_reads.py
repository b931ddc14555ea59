"""The read commands a GitHub comment may carry are answered with a reply comment.

COMMENT_USAGE offers ``/status``, ``/rollout``, ``/inventory`` and ``/help`` in a comment; the
tracking comment holds no rollout data, so a read typed there that got no reply would be lost.
"""

from __future__ import annotations

import copy
from itertools import count
from typing import Any

import pytest

from tests.bot.rollouts.conftest import CLIENTS, COORDINATOR, MAINTAINER, World, form, webhook

SHA = {c: f"{i + 1:x}" * 40 for i, c in enumerate(CLIENTS)}
_IDS = count(7_000_001)


def comment(world: World, body: str) -> None:
    payload: dict[str, Any] = copy.deepcopy(webhook("issue_comment", "created"))
    payload["repository"]["full_name"] = world.gov.charter.github.repository
    payload["issue"]["number"] = 1
    at = world.clock.now().isoformat().replace("+00:00", "Z")
    payload["comment"].update(id=next(_IDS), body=body, created_at=at, updated_at=at)
    payload["comment"]["user"]["login"] = COORDINATOR
    payload["sender"]["login"] = COORDINATOR
    world.deliver("issue_comment", payload)


@pytest.mark.parametrize(
    ("body", "shown"),
    [("/status", "#1"), ("/rollout", "staging"), ("/inventory", "1.0.0")],
)
def test_a_read_in_a_comment_is_answered(world: World, body: str, shown: str) -> None:
    world.accept(1, form())
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 {SHA[client][:10]}")
    before = len(world.outbox("comment"))
    comment(world, body)
    replies = world.outbox("comment")[before:]
    assert len(replies) == 1, body
    assert shown in replies[0]["body"]


def test_inventory_in_a_comment_is_the_issues_own(world: World) -> None:
    """The reply is public on the issue: it lists this proposal's releases, no other's (a
    maintainer may see a confidential rollout that the issue's readers may not)."""
    world.accept(1, form())
    world.accept(2, form(), title="Another upgrade")
    for client in CLIENTS:
        world.ok(MAINTAINER[client], f"ready 1 {client} staging 1.0.0 {SHA[client][:10]}")
        world.ok(MAINTAINER[client], f"ready 2 {client} staging 2.0.0 {SHA[client][:10]}")
    before = len(world.outbox("comment"))
    comment(world, "/inventory")
    [reply] = world.outbox("comment")[before:]
    assert "1.0.0" in reply["body"] and "2.0.0" not in reply["body"]
