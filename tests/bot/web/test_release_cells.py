"""A matrix cell names a release once: a report made by publishing a GitHub release carries the
tag as both version and ref (the demo's aurora on staging, ``v4.3.0-rc1``), and the cell shows
the version alone; a ref that adds something (a commit) is still shown beside it."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.messages import Actor, plain_text
from bot.runtime import Runtime


def cells(html: str) -> list[tuple[str, str | None]]:
    """Each reported cell's version and the ref shown beside it (None: none shown)."""
    found = re.findall(
        r'<span class="version">([^<]*)</span>\s*(?:<code class="ref">([^<]*)</code>)?', html
    )
    return [(version, ref or None) for version, ref in found]


@pytest.mark.parametrize("path", ["/rollouts", "/proposals/1"])
async def test_a_release_reported_by_its_tag_is_named_once(
    client: httpx.AsyncClient, path: str
) -> None:
    shown = cells((await client.get(path)).text)
    assert ("v4.3.0-rc1", None) in shown  # aurora's release: not "v4.3.0-rc1 v4.3.0-rc1"
    assert ("v1.20.0-rc1", "b20e7716c0aa") in shown  # borealis by console, with its commit
    assert all(ref != version for version, ref in shown)


def test_the_chat_view_names_a_release_once(seeded: Runtime) -> None:
    """``rollout 1`` in chat: aurora's staging release once, borealis's with its commit."""
    actor = Actor("alice-aurora", "console", "alice-aurora", "alice-aurora")
    said = plain_text(seeded.gov.run_sync("rollout 1", actor, now=seeded.clock.now()))
    staging = [row for row in said.splitlines() if "staging" in row]
    assert any("v4.3.0-rc1" in row for row in staging), said
    assert not any("v4.3.0-rc1@v4.3.0-rc1" in row for row in staging), said
    assert any("v1.20.0-rc1@b20e7716c0aa" in row for row in staging), said
