"""The dashboard's rollout matrix shows each client's latest rollback drill and its score (the
demo campaign drills on canary: aurora and dorado recover, borealis slowly, cirrus fails, and
eridanus plans its drill)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from bot.runtime import Runtime


def drills(html: str) -> list[str]:
    """Each drill mark of a page, tags dropped."""
    return [re.sub(r"\s+", " ", m) for m in re.findall(r'data-testid="drill"[^>]*>([^<]*)<', html)]


@pytest.mark.parametrize("path", ["/rollouts", "/proposals/1"])
async def test_the_matrix_shows_every_drill_with_its_outcome(
    client: httpx.AsyncClient, path: str
) -> None:
    html = (await client.get(path)).text
    assert drills(html) == [
        "rollback drill: pass (8m)",
        "rollback drill: pass (42m)",  # the reference charter sets no limit: a recovery passes
        "rollback drill: fail",
        "rollback drill: pass (15m)",
    ]
    assert 'title="the node did not start: its database was already migrated"' in html
    planned = re.findall(r'data-testid="drill-planned">([^<]*)<', html)
    assert [p.split(" <")[0] for p in planned] == ["rollback drill planned "]


@pytest.mark.parametrize("path", ["/rollouts", "/proposals/1"])
async def test_a_plan_past_its_time_is_shown_overdue(
    seeded: Runtime, client: httpx.AsyncClient, path: str
) -> None:
    """The demo plans eridanus's drill 3 weeks ahead; 4 weeks on, unreported, it is overdue."""
    assert "(overdue)" not in (await client.get(path)).text
    seeded.clock.advance(timedelta(weeks=4))  # type: ignore[attr-defined]
    html = (await client.get(path)).text
    planned = re.findall(r'data-testid="drill-planned">(.*?)</span>', html)
    assert len(planned) == 1 and planned[0].endswith('<strong class="overdue">(overdue)</strong>')
