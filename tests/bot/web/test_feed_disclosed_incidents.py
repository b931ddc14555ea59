"""A confidential incident's announcements reach the Atom feed once the proposal it names is
disclosed, as the incident pages show it, and not before (the confidential campaign of
test_confidential_audit: incidents 3, 4 and 5 name the undisclosed security patch #9)."""

from __future__ import annotations

import httpx

from bot.runtime import Runtime
from tests.bot.web.test_confidential_audit import NAMES_IT, PAUSED_IT, PAUSES_IT, run

FEED = "/feeds/announcements.atom?kind=incident"


async def test_an_undisclosed_ones_announcements_stay_off_the_feed(
    anon: httpx.AsyncClient,
) -> None:
    feed = (await anon.get(FEED)).text
    assert not [s for s in (NAMES_IT, PAUSES_IT, PAUSED_IT) if s in feed]


async def test_a_disclosed_ones_announcements_appear(
    anon: httpx.AsyncClient, secret_rt: Runtime
) -> None:
    run(secret_rt, "kofi-sec", "disclose 9")
    assert NAMES_IT in (await anon.get("/incidents")).text
    feed = (await anon.get(FEED)).text
    assert NAMES_IT in feed and PAUSES_IT in feed and PAUSED_IT in feed
    assert "patch ETA tomorrow" in feed  # the update too, not only the declaration
