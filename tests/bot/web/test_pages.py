"""The dashboard's pages over HTTP (no browser): content, filters, confidentiality, paging,
verification, live-update plumbing, and graceful degradation when an area is absent."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from bot.http import create_app
from bot.runtime import Runtime
from bot.web import queries
from bot.web.live import LiveHub
from tests.bot.web.conftest import runtime

HIDDEN = "Peer-scoring bypass"
PAGES = ["/", "/proposals", "/proposals/1", "/rollouts", "/meetings", "/incidents", "/audit"]


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_renders_public_demo_content(client: httpx.AsyncClient, path: str) -> None:
    """Each page answers 200 with landmarks and the demo banner, and never names the
    undisclosed security patch."""
    response = await client.get(path)
    assert response.status_code == 200
    html = response.text
    assert '<main id="main"' in html and 'aria-label="Dashboard"' in html
    assert "Demo data" in html
    assert HIDDEN not in html
    assert html.count("<h1") == 1
    levels = [int(n) for n in re.findall(r"<h([1-6])[\s>]", html)]
    skips = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
    assert not skips, f"heading levels skip (screen readers navigate by them): {skips}"


@pytest.mark.parametrize(
    ("query", "expected", "absent"),
    [
        ("state=voting", {6, 5}, {1, 9}),
        ("state=rejected", {3}, {1}),
        ("track=feature-flag", {8, 4, 2}, {1, 3}),
        ("client=dorado", {10, 8, 7, 6, 5, 3, 1}, {2}),
        ("state=voting&track=protocol-change", {6}, {5}),
    ],
)
async def test_proposal_filters(
    client: httpx.AsyncClient, query: str, expected: set[int], absent: set[int]
) -> None:
    """Filters by state, track and affected client narrow the list (and combine)."""
    html = (await client.get(f"/proposals?{query}")).text
    listed = {int(n) for n in re.findall(r'<a href="/proposals/(\d+)">', html)}
    assert expected <= listed and not (absent & listed)


@pytest.mark.parametrize(
    ("path", "status"), [("/proposals/9", 404), ("/proposals/999", 404), ("/proposals/x", 404)]
)
async def test_hidden_or_unknown_proposal_is_not_found(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await client.get(path)
    assert response.status_code == status
    assert "There is no public proposal" in response.text and HIDDEN not in response.text


async def test_audit_pages_withhold_and_verify(client: httpx.AsyncClient) -> None:
    """Entries about an undisclosed proposal keep seq and hash but not who or what; paging goes
    to older entries; verify-now records the verified head shown afterwards."""
    first = (await client.get("/audit")).text
    assert "Not verified yet" in first
    seqs = [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', first)]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == queries.PAGE
    assert "withheld: a confidential proposal" in first
    older = (await client.get(f"/audit?before={seqs[-1]}")).text
    assert max(int(n) for n in re.findall(r'<tr id="entry-(\d+)"', older)) == seqs[-1] - 1
    only = (await client.get("/audit?subject=proposal:3")).text
    assert set(re.findall(r">(proposal:\d+)</a>", only)) == {"proposal:3"}
    response = await client.post("/audit/verify")
    assert response.status_code == 303
    assert "Chain intact through #" in (await client.get("/audit")).text


async def test_fresh_database_has_no_banner_and_empty_states(tmp_path: Path) -> None:
    rt = runtime(tmp_path / "empty.db")
    app = create_app(rt, run_background=False)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://d"
        ) as http:
            overview = (await http.get("/")).text
            assert "Demo data" not in overview and "No vote is open." in overview
            assert "No rollouts yet" in (await http.get("/rollouts")).text
            meetings = (await http.get("/meetings")).text
            assert 'href="/calendar/core-sync.ics"' in meetings
            ics = await http.get("/calendar/core-sync.ics")  # served by the meetings area
            assert ics.status_code == 200 and "Core client sync" in ics.text
    finally:
        rt.engine.dispose()


async def test_live_hub_announces_changes_from_other_threads() -> None:
    """``notify`` from a worker thread reaches a subscriber once per burst; a reconnect with an
    old event id gets a change at once."""
    head = [1]
    hub = LiveHub(lambda: head[0], settle=0.01, poll=0.05)
    runner = asyncio.create_task(hub.run())
    try:
        await asyncio.sleep(0.02)
        stream = hub.stream()
        assert await anext(stream) == f"retry: 2000\nid: {hub.event_id}\n\n"
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.01)
        first = hub.event_id
        await asyncio.to_thread(lambda: [hub.notify() for _ in range(5)])
        event = await asyncio.wait_for(pending, timeout=2)
        assert event.startswith(f"event: change\nid: {hub.event_id}\n") and hub.version == 1
        seen = hub.event_id
        head[0] = 2  # another replica appended to the audit log
        event = await asyncio.wait_for(anext(stream), timeout=2)
        assert event.startswith(f"event: change\nid: {hub.event_id}\n") and hub.version == 2
        assert len({first, seen, hub.event_id}) == 3
        await stream.aclose()
        again = hub.stream(last_id=seen)
        await anext(again)
        assert (await asyncio.wait_for(anext(again), timeout=1)).startswith("event: change")
        await again.aclose()
        assert hub.subscribers == 0
    finally:
        hub.stopped.set()
        await asyncio.wait_for(runner, timeout=2)


async def _opening(stream: AsyncIterator[str]) -> list[str]:
    """What a stream sends before it waits: its opening line, and a change if one is due."""
    out = [await anext(stream)]
    with contextlib.suppress(TimeoutError):
        out.append(await asyncio.wait_for(anext(stream), timeout=0.2))
    return out


async def test_a_change_while_an_idle_tab_reconnects_is_announced() -> None:
    """A stream opens with the current id, so a tab that has seen no change has one to send
    back: a change made while it reconnects is announced at once, none when nothing changed."""
    hub = LiveHub(lambda: 1, settle=0.01, poll=0.05)
    runner = asyncio.create_task(hub.run())
    try:
        await asyncio.sleep(0.02)
        idle = hub.stream()
        (opening,) = await _opening(idle)
        await idle.aclose()  # the stream's lifetime ends; the browser waits ``retry``
        seen = re.fullmatch(r"retry: 2000\nid: (\S+)\n\n", opening)
        assert seen is not None
        quiet = await _opening(hub.stream(last_id=seen.group(1)))
        assert quiet == [opening]  # nothing changed: no event
        hub.notify()
        await asyncio.sleep(0.1)
        after = await _opening(hub.stream(last_id=seen.group(1)))
        assert after[1] == f"event: change\nid: {hub.event_id}\ndata: {hub.event_id}\n\n"
    finally:
        hub.stopped.set()
        await asyncio.wait_for(runner, timeout=2)


async def test_an_id_from_another_process_reads_as_a_change() -> None:
    """Event ids differ per hub (one per process): after a restart, or on another replica, the
    same count is still a different id, so the tab refreshes instead of missing changes."""
    before, after = LiveHub(lambda: 1), LiveHub(lambda: 1)
    assert before.version == after.version == 0
    assert before.event_id != after.event_id
    opening = await _opening(after.stream(last_id=before.event_id))
    assert opening[1].startswith(f"event: change\nid: {after.event_id}\n")


async def test_a_page_carries_its_live_id_for_the_first_connection(
    seeded: Runtime, client: httpx.AsyncClient
) -> None:
    """The page says which id it was rendered at, and ``GET /events?since=<it>`` announces a
    change made between the render and the connect (none when there was none)."""
    dashboard = seeded.extras["dashboard"]
    html = (await client.get("/proposals")).text
    rendered = re.search(r'<main id="main" tabindex="-1" data-live="([^"]+)">', html)
    assert rendered is not None and rendered.group(1) == dashboard.live.event_id

    async def first_connection() -> list[str]:
        scope = {"type": "http", "query_string": f"since={rendered.group(1)}".encode()}
        response = await dashboard.events(Request({**scope, "headers": []}))
        return await _opening(response.body_iterator)

    assert len(await first_connection()) == 1
    dashboard.live._broadcast()  # a change, broadcast after the page was rendered
    opening = await first_connection()
    assert opening[1].startswith(f"event: change\nid: {dashboard.live.event_id}\n")


async def test_service_changes_reach_the_dashboard_hub(seeded: Runtime) -> None:
    """The dashboard wraps the service's on_change: a command's change wakes the hub (and
    still wakes the relay, as before)."""
    dashboard = seeded.extras["dashboard"]
    called: list[int] = []
    dashboard.live.notify = lambda: called.append(1)
    seeded.wake.clear()
    from bot.messages import Actor

    actor = Actor(login="carmen-borealis", surface="console", surface_id="c", display="c")
    assert seeded.gov.run_sync("vote 5 approve", actor).ok
    assert called and seeded.wake.is_set()


async def test_rollout_legend_says_what_green_means(client: httpx.AsyncClient) -> None:
    """A green cell is a release reported ready for the stage (``charter.rollout_facts``'s
    ``on``), not proof that the client runs it there."""
    html = (await client.get("/rollouts")).text
    legend = re.search(r'<p class="legend"[^>]*>(.*?)</p>', html, re.S)
    assert legend is not None
    assert '<span class="cell-on swatch">reported ready</span>' in legend.group(1)
    assert "on the stage" not in html
