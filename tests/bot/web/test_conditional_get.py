"""Conditional GET on what clients poll (bot.http.ConditionalGet): the read API's JSON, the Atom
feed and the calendar feeds carry a strong ETag of their exact body; If-None-Match (a list, weak
comparison, ``*``) answers 304. None has a Last-Modified, so If-Modified-Since alone is answered
in full. The app is the real one over the demo campaign (tests.bot.web.conftest).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from bot.feeds import atom
from bot.http import ConditionalGet, http_date, none_match
from bot.messages import Actor, plain_text
from bot.runtime import Runtime

POLLED = [
    "/api/proposals",
    "/api/proposals/1",
    "/api/proposals?state=voting",
    "/api/status",
    "/api/openapi.json",
    "/feeds/announcements.atom",
    "/feeds/announcements.atom?kind=vote",
    "/calendar.ics",
    "/calendar/core-sync.ics",
]
FEED = "/feeds/announcements.atom"
FEED_UPDATED = "Mon, 30 Nov 2026 21:00:00 GMT"  # the demo's newest announcement
TAG = '"0123456789abcdef0123456789abcdef"'


def run(rt: Runtime, login: str, text: str) -> None:
    actor = Actor(login=login, surface="console", surface_id=login, display=login)
    message = rt.gov.run_sync(text, actor, now=rt.clock.now())
    assert message.ok, f"{login}: {text} -> {plain_text(message)}"


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (TAG, True),
        (f"W/{TAG}", True),  # weak comparison: W/ ignored
        (f'"other", {TAG}', True),
        (f'"a,b",W/{TAG} , "c"', True),  # a comma inside a tag does not split it
        ("*", True),
        (" * ", True),
        ('"other"', False),
        ('W/"other", "0123456789abcdef"', False),
        (TAG.strip('"'), False),  # unquoted: not an entity tag
        ("", False),
    ],
)
def test_if_none_match_compares_weakly_over_a_list(header: str, matches: bool) -> None:
    assert none_match(header, TAG) is matches


@pytest.mark.parametrize(
    ("value", "at"),
    [
        ("Mon, 30 Nov 2026 21:00:00 GMT", datetime(2026, 11, 30, 21, 0, tzinfo=UTC)),
        ("Monday, 30-Nov-26 21:00:00 GMT", datetime(2026, 11, 30, 21, 0, tzinfo=UTC)),
        ("Mon Nov 30 21:00:00 2026", datetime(2026, 11, 30, 21, 0, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_http_dates_are_read_in_every_form_http_allows(
    value: str | None, at: datetime | None
) -> None:
    assert http_date(value) == at


@pytest.mark.parametrize("path", POLLED)
async def test_a_polled_answer_carries_a_strong_etag_of_its_body(
    client: httpx.AsyncClient, path: str
) -> None:
    """The ETag is the body's SHA-256 (128 bits, quoted, strong) and the same on a second GET
    with nothing changed; the answer gets Cache-Control no-cache (revalidate every use)."""
    first, again = await client.get(path), await client.get(path)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert first.headers["etag"] == f'"{hashlib.sha256(first.content).hexdigest()[:32]}"'
    assert again.headers["etag"] == first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    ("path", "login", "command"),
    [
        ("/api/proposals", "kofi-sec", "disclose 9"),
        ("/api/proposals/6", "fatima-dorado", "vote 6 approve"),
        ("/api/status", "kofi-sec", 'incident declare sev2 "Peering stall" clients aurora'),
        (FEED, "jonas-coord", "meeting cancel core-sync"),
        ("/calendar.ics", "jonas-coord", "meeting cancel core-sync"),
        ("/calendar/core-sync.ics", "jonas-coord", "meeting cancel core-sync"),
    ],
)
async def test_a_change_changes_the_etag_and_the_old_one_gets_the_new_body(
    client: httpx.AsyncClient, seeded: Runtime, path: str, login: str, command: str
) -> None:
    before = await client.get(path)
    assert (
        await client.get(path, headers={"If-None-Match": before.headers["etag"]})
    ).status_code == 304
    run(seeded, login, command)
    after = await client.get(path, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.content != before.content
    assert after.headers["etag"] not in (before.headers["etag"], None)


@pytest.mark.parametrize("path", POLLED)
@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("{etag}", 304),
        ('"stale", {etag}, "older"', 304),
        ("W/{etag}", 304),
        ('"stale", W/{etag}', 304),
        ("*", 304),
        ('"stale"', 200),
        ('W/"stale", "older"', 200),
    ],
)
async def test_if_none_match_answers_304_with_no_body_and_the_validators(
    client: httpx.AsyncClient, path: str, header: str, status: int
) -> None:
    """A 304 carries the ETag and Cache-Control, nothing about the body (no Last-Modified
    either); a mismatch gets the whole answer."""
    full = await client.get(path)
    answer = await client.get(
        path, headers={"If-None-Match": header.format(etag=full.headers["etag"])}
    )
    assert answer.status_code == status
    assert answer.headers["etag"] == full.headers["etag"]
    assert answer.headers["cache-control"] == full.headers["cache-control"]
    assert "last-modified" not in answer.headers and "last-modified" not in full.headers
    if status == 304:
        assert answer.content == b""
        assert "content-type" not in answer.headers and "content-length" not in answer.headers
    else:
        assert answer.content == full.content


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"If-Modified-Since": FEED_UPDATED}, 200),  # its newest entry's time: no date decides
        ({"If-Modified-Since": "Tue, 01 Dec 2026 09:00:00 GMT"}, 200),
        # If-None-Match decides (RFC 9110 §13.2.2)
        ({"If-Modified-Since": FEED_UPDATED, "If-None-Match": '"stale"'}, 200),
        ({"If-Modified-Since": "Mon, 30 Nov 2026 20:00:00 GMT", "If-None-Match": "*"}, 304),
    ],
)
async def test_the_feed_is_revalidated_by_its_etag_only(
    client: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    """The feed's body changes with no newer entry (a disclosure, a redaction), so no date
    says it did not change: no Last-Modified, and a date alone gets the whole feed."""
    full = await client.get(FEED)
    assert "last-modified" not in full.headers
    assert "<updated>2026-11-30T21:00:00Z</updated>" in full.text
    assert (await client.get(FEED, headers=headers)).status_code == status


@pytest.mark.parametrize(
    "path",
    [
        "/api/proposals",
        "/api/status",
        "/calendar.ics",
        "/feeds/announcements.atom",
        "/feeds/announcements.atom?proposal=99",
    ],
)
async def test_no_last_modified_is_invented_so_if_modified_since_alone_changes_nothing(
    client: httpx.AsyncClient, path: str
) -> None:
    """The JSON, the calendar (its DTSTAMP is the time it was made) and the feed (its body
    changes with no newer entry) say no modification time: no Last-Modified, and
    If-Modified-Since is ignored."""
    answer = await client.get(path, headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    assert answer.status_code == 200
    assert "last-modified" not in answer.headers
    assert answer.headers["etag"]


async def test_a_hidden_proposal_is_a_404_whatever_the_validator_and_its_disclosure_a_200(
    client: httpx.AsyncClient, seeded: Runtime
) -> None:
    """Undisclosed confidential #9: a 404 with no ETag even to ``If-None-Match: *`` (only a 200
    is ever a 304); the public listing's ETag, taken before the disclosure, then gets the
    listing with #9 in it, and #9 its own ETag."""
    hidden = await client.get("/api/proposals/9", headers={"If-None-Match": "*"})
    assert (hidden.status_code, hidden.headers.get("etag")) == (404, None)
    public = await client.get("/api/proposals")
    assert 9 not in [p["number"] for p in public.json()["proposals"]]
    run(seeded, "kofi-sec", "disclose 9")
    listing = await client.get("/api/proposals", headers={"If-None-Match": public.headers["etag"]})
    assert listing.status_code == 200
    assert 9 in [p["number"] for p in listing.json()["proposals"]]
    shown = await client.get("/api/proposals/9", headers={"If-None-Match": listing.headers["etag"]})
    assert shown.status_code == 200
    assert shown.headers["etag"] not in (listing.headers["etag"], public.headers["etag"])


@pytest.mark.parametrize("path", POLLED)
async def test_head_carries_the_get_validators_and_answers_304(
    client: httpx.AsyncClient, path: str
) -> None:
    full = await client.get(path)
    head = await client.head(path)
    assert head.status_code == 200
    assert head.headers["etag"] == full.headers["etag"]
    assert "last-modified" not in head.headers
    again = await client.head(path, headers={"If-None-Match": full.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("path", "status", "cache_control"),
    [
        ("/api/proposals?state=bogus", 400, None),
        ("/api/proposals/nope", 400, None),
        ("/calendar/nope.ics", 404, None),
        ("/", 200, "no-store"),  # the dashboard's pages are not polled: left as they are
        ("/proposals", 200, "no-store"),
        ("/healthz", 200, None),
    ],
)
async def test_only_the_polled_200s_get_a_validator(
    client: httpx.AsyncClient, path: str, status: int, cache_control: str | None
) -> None:
    answer = await client.get(path, headers={"If-None-Match": "*"})
    assert answer.status_code == status
    assert "etag" not in answer.headers
    assert answer.headers.get("cache-control") == cache_control
    polled = await client.get("/api/proposals", headers={"If-None-Match": "*"})
    assert polled.status_code == 304


async def _chunks() -> AsyncIterator[bytes]:
    for chunk in (b"one ", b"two"):
        yield chunk


@pytest.mark.parametrize(
    ("media_type", "validated"), [("application/json", True), ("text/event-stream", False)]
)
async def test_a_streamed_answer_is_tagged_whole_and_an_event_stream_passes_through(
    media_type: str, validated: bool
) -> None:
    async def endpoint(request: Request) -> StreamingResponse:
        return StreamingResponse(_chunks(), media_type=media_type, headers={"Vary": "Cookie"})

    app = Starlette(routes=[Route("/api/stream", endpoint)])
    app.add_middleware(ConditionalGet)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await http.get("/api/stream")
        matched = await http.get("/api/stream", headers={"If-None-Match": "*"})
    assert answer.content == b"one two"
    tag = f'"{hashlib.sha256(b"one two").hexdigest()[:32]}"'
    assert answer.headers.get("etag") == (tag if validated else None)
    assert matched.status_code == (304 if validated else 200)
    assert matched.headers["vary"] == "Cookie"  # a route's Vary is kept, on a 304 too


@pytest.mark.parametrize(
    "path",
    [
        "/api/proposals",
        "/feeds/announcements.atom",
        "/feeds/announcements.atom?proposal=99",  # no entry
        "/calendar.ics",
        "/calendar/core-sync.ics",
    ],
)
async def test_a_validator_survives_time_passing_with_nothing_changed(
    client: httpx.AsyncClient, seeded: Runtime, path: str
) -> None:
    """What a poller revalidates must not embed the time it was served: an hour later, with
    nothing changed, the same ETag answers 304 (a calendar's DTSTAMP is each series' revision
    time; an empty feed's <updated> is the epoch)."""
    first = await client.get(path)
    seeded.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    later = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert later.status_code == 304


def test_an_empty_feed_is_updated_at_the_epoch_not_when_it_is_served() -> None:
    """A feed with no entry has changed never: its <updated> is fixed, so its bytes are too."""
    body = atom([], "https://bot.example/feeds/announcements.atom?proposal=99", None)
    assert b"<updated>1970-01-01T00:00:00Z</updated>" in body
