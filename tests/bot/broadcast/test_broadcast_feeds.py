"""Public feeds: the Atom feed's structure and filters, confidentiality, the status JSON."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlalchemy import Engine
from starlette.applications import Starlette

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.feeds import routes
from bot.http import create_app
from bot.settings import Settings
from charter.agenda import escape
from storage.db import session_scope
from storage.models.core import ProposalRow
from tests.bot.broadcast.support import NOW, announce, charter, enqueue

A = "{http://www.w3.org/2005/Atom}"


async def _get(engine: Engine, path: str) -> httpx.Response:
    app = Starlette(routes=routes(lambda: engine, charter, repo="meridian-net/upgrades"))
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
    assert titles == [  # as the e-mail's subject says it, not the kind's slug
        "Vote: later",
        "Incident: incident title",
        "Decision: decision title",
        "New proposal: open <1>",
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
        ("severity=sev1", 4),  # the sev1 incident and the three without a severity
        ("severity=sev2&client=dorado", 2),  # sev1 is worse than sev2, but names cirrus only
        ("severity=sev3&kind=incident", 1),
    ],
)
async def test_feed_filters(feed_engine: Engine, query: str, count: int) -> None:
    """Query parameters filter like subscriptions do."""
    root = ET.fromstring((await _get(feed_engine, f"/feeds/announcements.atom?{query}")).content)
    assert len(root.findall(f"{A}entry")) == count


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("kind=decisoin", "kind must be one of"),
        ("client=auroa", "client must be one of aurora, borealis"),
        ("track=protocl-change", "did you mean 'protocol-change'?"),
        ("severity=sev9", "severity must be one of sev1, sev2, sev3 (got 'sev9'"),
        ("client=aurora&clinet=cirrus", "there is no filter 'clinet' (did you mean 'client'?)"),
    ],
)
async def test_every_filter_is_checked_against_the_charter(
    feed_engine: Engine, query: str, says: str
) -> None:
    """A value the charter does not name (a misspelt client, track or severity), or a filter
    that does not exist, is a 400 saying what is accepted with a "did you mean", never a 200
    feed of unrelated entries or none."""
    resp = await _get(feed_engine, f"/feeds/announcements.atom?{query}")
    assert resp.status_code == 400 and says in resp.text, resp.text


async def test_every_bad_parameter_is_named_in_one_answer(feed_engine: Engine) -> None:
    query = "client=auroa&track=protocl-change&kind=decision"
    resp = await _get(feed_engine, f"/feeds/announcements.atom?{query}")
    assert resp.status_code == 400
    assert resp.text.splitlines() == [
        "track must be one of protocol-change, feature-flag, security-patch, charter-amendment"
        " (got 'protocl-change'; did you mean 'protocol-change'?)",
        "client must be one of aurora, borealis, cirrus, dorado, eridanus"
        " (got 'auroa'; did you mean 'aurora'?)",
    ]


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
    assert data["generated_at"].endswith("Z") and "+00:00" not in data["generated_at"]


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


async def _feed_id(engine: Engine, path: str, host: str, public_url: str | None) -> str:
    app = Starlette(routes=routes(lambda: engine, charter, public_url=public_url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
        root = ET.fromstring((await client.get(path)).content)
    self_link = root.find(f"{A}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == root.findtext(f"{A}id")
    return root.findtext(f"{A}id") or ""


async def test_feed_id_is_the_public_url_with_the_sorted_filters(feed_engine: Engine) -> None:
    """The id names the configured public URL, not the Host header; the same filters in any
    order give one id, other filters (or none) another."""
    public = "https://charter.example/"
    path = "/feeds/announcements.atom"
    plain_id = await _feed_id(feed_engine, path, "evil.test", public)
    assert plain_id == "https://charter.example/feeds/announcements.atom"
    assert await _feed_id(feed_engine, path, "other.test", public) == plain_id
    one = await _feed_id(feed_engine, f"{path}?kind=vote&kind=decision&proposal=02", "a", public)
    two = await _feed_id(feed_engine, f"{path}?proposal=2&kind=decision&kind=vote", "b", public)
    assert one == two == f"{plain_id}?kind=decision&kind=vote&proposal=2"
    assert await _feed_id(feed_engine, f"{path}?kind=decision", "a", public) not in (plain_id, one)
    # without a configured URL, the request's (the filters still make the id)
    assert await _feed_id(feed_engine, f"{path}?kind=vote", "h.test", None) == (
        "http://h.test/feeds/announcements.atom?kind=vote"
    )


async def test_served_feed_uses_the_configured_public_url(tmp_path: Path) -> None:
    """``charterbot serve`` passes ``Settings.public_url`` to the feed (bot.broadcast)."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'feed.db'}", public_url="https://charter.example"
    )
    rt = build(settings, clock=FixedClock(NOW))
    try:
        app = create_app(rt, run_background=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.test") as client:
            body = (await client.get("/feeds/announcements.atom?client=aurora")).content
        assert ET.fromstring(body).findtext(f"{A}id") == (
            "https://charter.example/feeds/announcements.atom?client=aurora"
        )
    finally:
        rt.engine.dispose()


MARKUP = "a\\b [x] <y> *z* `q` | ~"  # every character charter.agenda.escape escapes
AGENDA_TEXT = "\n".join(
    [
        f"# {escape('Go/no-go: #1 to production')}",
        "",
        "2026-11-28 16:00 UTC (2026-11-28 16:00 UTC), 60 minutes",
        "",
        "## Proposals in review and voting",
        "",
        f"- #8 {escape('Deprecate legacy JSON-RPC eth_ endpoints')} — review",
        f"- #1 production: {escape('require_checks')} — {escape('fuzz on dorado@d0ad0c4 failed')}",
        "- " + escape(MARKUP),
    ]
)


async def test_feed_content_is_plain_text(sqlite_engine: Engine) -> None:
    """An agenda (markdown escaped for chat) reads as plain text in the feed: no backslash
    escapes, no zero-width characters, the start said once; other meetings still say when."""
    starts = {"meeting": "go", "occurrence": "go@x", "starts_at": "2026-11-28T16:00:00+00:00"}
    enqueue(
        sqlite_engine,
        announce(
            "meeting",
            title="Agenda: Go/no-go for @\u200bdorado — 2026-11-28 16:00 UTC",
            text=AGENDA_TEXT,
            data={**starts, "agenda": "go@x"},
        ),
        announce("meeting", title="Go/no-go", text="A call for #1.", data=starts),
    )
    root = ET.fromstring((await _get(sqlite_engine, "/feeds/announcements.atom")).content)
    second, first = root.findall(f"{A}entry")  # newest first
    text = first.findtext(f"{A}content") or ""
    assert "\\" not in text.replace(MARKUP, "") and "\u200b" not in text
    assert "# Go/no-go: #1 to production" in text
    assert "#8 Deprecate legacy JSON-RPC eth_ endpoints — review" in text
    assert "require_checks — fuzz on dorado@d0ad0c4 failed" in text
    assert MARKUP in text
    assert text.count("2026-11-28 16:00") == 1 and "Starts" not in text
    assert "\u200b" not in (first.findtext(f"{A}title") or "")
    assert second.findtext(f"{A}content") == "A call for #1. Starts 2026-11-28T16:00:00Z."
