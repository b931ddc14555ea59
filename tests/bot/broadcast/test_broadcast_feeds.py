"""Public feeds: the Atom feed's structure and filters, confidentiality, the status JSON."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from bot.feeds import routes
from storage.db import session_scope
from storage.models.core import ProposalRow
from tests.bot.broadcast.support import NOW, announce, enqueue

A = "{http://www.w3.org/2005/Atom}"


async def _get(engine: Engine, path: str) -> httpx.Response:
    app = Starlette(routes=routes(lambda: engine, repo="meridian-net/upgrades"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        return await client.get(path)


def _proposal(
    engine: Engine, n: int, state: str, *, confidential: bool = False, disclosed: bool = False
) -> None:
    with session_scope(engine) as session:
        session.add(
            ProposalRow(
                number=n,
                title=f"P{n}",
                author="a",
                track="feature-flag",
                state=state,
                confidential=confidential,
                disclosed=disclosed,
                created_at=NOW,
                updated_at=NOW,
                data="{}",
            )
        )


@pytest.fixture
def feed_engine(sqlite_engine: Engine) -> Engine:
    enqueue(
        sqlite_engine,
        announce("proposal-opened", proposal=1, track="feature-flag", title="open <1>"),
        announce("decision", proposal=2, track="protocol-change", clients=("aurora",)),
        announce("incident", severity="sev1", clients=("cirrus",)),
        announce("decision", proposal=12, track="security-patch", confidential=True),
        announce("vote", proposal=13, track="security-patch", confidential=True, title="later"),
    )
    _proposal(sqlite_engine, 13, "voting", confidential=True, disclosed=True)
    return sqlite_engine


async def test_atom_feed_has_the_atom_structure(feed_engine: Engine) -> None:
    """The feed parses as XML: feed with id, title, updated, author, self link; each entry has
    id, title, updated and a link; confidential undisclosed items are absent."""
    resp = await _get(feed_engine, "/feeds/announcements.atom")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(resp.content)
    assert root.tag == f"{A}feed"
    for tag in ("id", "title", "updated", "author"):
        assert root.find(f"{A}{tag}") is not None, tag
    entries = root.findall(f"{A}entry")
    for entry in entries:
        for tag in ("id", "title", "updated"):
            assert (entry.findtext(f"{A}{tag}") or "").strip(), tag
        assert entry.find(f"{A}link").get("href")  # type: ignore[union-attr]
    titles = [e.findtext(f"{A}title") for e in entries]
    assert titles == [
        "vote: later",
        "incident: incident title",
        "decision: decision title",
        "proposal-opened: open <1>",
    ]
    assert len({e.findtext(f"{A}id") for e in entries}) == len(entries)


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("kind=decision", 1),
        ("kind=decision&kind=incident", 2),
        ("track=feature-flag", 1),
        ("client=aurora", 3),  # aurora's decision + the two announcements naming no client
        ("proposal=2", 1),
        ("proposal=12", 0),  # confidential, not disclosed
    ],
)
async def test_feed_filters(feed_engine: Engine, query: str, count: int) -> None:
    """Query parameters filter like subscriptions do."""
    root = ET.fromstring((await _get(feed_engine, f"/feeds/announcements.atom?{query}")).content)
    assert len(root.findall(f"{A}entry")) == count


@pytest.mark.parametrize("query", ["kind=nonsense", "proposal=abc"])
async def test_bad_feed_query_is_a_clear_400(feed_engine: Engine, query: str) -> None:
    """A bad parameter gets 400 and says what is accepted."""
    resp = await _get(feed_engine, f"/feeds/announcements.atom?{query}")
    assert resp.status_code == 400 and ("one of" in resp.text or "number" in resp.text)


async def test_status_lists_open_voting_and_rolling_out(sqlite_engine: Engine) -> None:
    """/api/status groups proposals by state and hides undisclosed confidential ones."""
    _proposal(sqlite_engine, 1, "review")
    _proposal(sqlite_engine, 2, "voting")
    _proposal(sqlite_engine, 3, "rolling-out")
    _proposal(sqlite_engine, 4, "voting", confidential=True)
    _proposal(sqlite_engine, 5, "completed")
    data = (await _get(sqlite_engine, "/api/status")).json()
    assert [p["number"] for p in data["open_proposals"]] == [1, 2]
    assert [p["number"] for p in data["in_voting"]] == [2]
    assert [p["number"] for p in data["rolling_out"]] == [3]
    assert data["open_incidents"] == []


@pytest.mark.parametrize(
    ("starts_at", "content"),
    [
        (
            "2026-06-11T13:00:00+00:00",
            "Core client sync starts in 1d. Starts 2026-06-11T13:00:00Z.",
        ),
        (
            "2026-06-11T15:00:00+02:00",
            "Core client sync starts in 1d. Starts 2026-06-11T13:00:00Z.",
        ),
        ("soon", "Core client sync starts in 1d."),
    ],
    ids=["utc", "offset", "not-a-time"],
)
async def test_a_meeting_entry_says_when_the_call_starts(
    sqlite_engine: Engine, starts_at: str, content: str
) -> None:
    """Meeting texts name no time (chat shows the start in each reader's zone): the feed adds
    the call's start in UTC."""
    text = "Core client sync starts in 1d."
    enqueue(sqlite_engine, announce("meeting", text=text, data={"starts_at": starts_at}))
    root = ET.fromstring((await _get(sqlite_engine, "/feeds/announcements.atom")).content)
    [entry] = root.findall(f"{A}entry")
    assert entry.findtext(f"{A}content") == content
