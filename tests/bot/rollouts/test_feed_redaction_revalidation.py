"""The Atom feed redacts an incident it quoted once the incident becomes confidential (it pauses
an undisclosed patch's rollout, as an earlier version recorded a public incident's pause of an
embargoed rollout: such records remain), with no newer public entry: a reader revalidating by
date must not be told 304 and keep the quoted summary, nor one revalidating by its ETag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.utils import format_datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware

from bot import feeds
from bot.http import ConditionalGet
from bot.rollout_incident_holds import pause_for
from storage.db import session_scope
from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, H, World, form, person
from tests.bot.rollouts.test_rollout_commands import decide

SUMMARY = "exploit seen on testnet"
FEED = "/feeds/announcements.atom"


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    routes = feeds.routes(lambda: world.engine, lambda: world.gov.charter, now=world.clock.now)
    app = Starlette(routes=routes, middleware=[Middleware(ConditionalGet)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        yield client


def _validators(world: World, first: httpx.Response) -> dict[str, str]:
    """What a reader revalidates with: the time it read the feed, or the ETag it got."""
    return {
        "If-Modified-Since": format_datetime(world.clock.now(), usegmt=True),
        "If-None-Match": first.headers["etag"],
    }


@pytest.mark.parametrize(
    ("validator", "unchanged"), [("If-Modified-Since", 200), ("If-None-Match", 304)]
)
async def test_a_redaction_is_never_answered_304(
    world: World, http: httpx.AsyncClient, validator: str, unchanged: int
) -> None:
    """Only the ETag says the feed is unchanged; once the quoted incident is confidential,
    neither validator keeps the reader on the quoted summary."""
    world.accept(1, form(clients=("borealis",)))
    world.ok(COORDINATOR, "rollout 1")
    world.ok(COUNCIL, f'incident declare sev3 "{SUMMARY}"')  # quoted publicly, pauses nothing
    world.later(H)
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)  # its rollout starts: a sev3 holds nothing
    first = await http.get(FEED)
    assert SUMMARY in first.text and "last-modified" not in first.headers
    held = {validator: _validators(world, first)[validator]}
    assert (await http.get(FEED, headers=held)).status_code == unchanged
    world.later(H)
    with session_scope(world.engine) as session:  # pauses hidden #2: confidential now
        reason = "a confidential incident (sev3)"
        assert pause_for(world.gov, session, 2, "1", reason, person(COUNCIL), world.clock.now())
    world.ok(COUNCIL, "incident severity #1 sev1")  # pauses #1, quoting it as confidential
    again = await http.get(FEED, headers=held)
    assert again.status_code == 200
    assert SUMMARY not in again.text and "a confidential incident" in again.text
