"""Why a drill failed stays in view: the dashboard shows it under the cell, not only in a
tooltip (invisible to touch and keyboard users), and says why an outdated drill no longer counts."""

from __future__ import annotations

import re

import httpx
import pytest


def shown(html: str, testid: str) -> list[str]:
    """The visible text of each element with ``testid``, tags dropped and spaces folded."""
    found = re.findall(rf'data-testid="{testid}"[^>]*>(.*?)</(?:span|details)>', html, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", f)).strip() for f in found]


@pytest.mark.parametrize("path", ["/rollouts", "/proposals/1"])
async def test_a_failed_drill_shows_what_went_wrong_under_its_cell(
    client: httpx.AsyncClient, path: str
) -> None:
    html = (await client.get(path)).text
    assert shown(html, "drill-why") == [
        "what went wrong: the node did not start: its database was already migrated"
    ]
    assert shown(html, "drill-stale") == []  # every drill of the demo still counts
