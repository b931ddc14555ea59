"""Filters on the proposals and audit pages: a state, track or client that names nothing is a
400 saying what is accepted (in the read API's words, and the read API's track filter too), as is
a value holding a control character (here and in the read API), and pager links carry the
filters URL-encoded. A track or client a public proposal is on, under an earlier charter, is
accepted."""

from __future__ import annotations

import dataclasses
import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.api import bad_query_value
from bot.bootstrap import build
from bot.clock import FixedClock
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from bot.web import queries
from storage import proposals as repo
from storage.db import session_scope
from tests.bot.web.conftest import NOW

ODD = "a&b=c #d"  # characters that would break a query string pasted raw
ODD_ENCODED = "a%26b%3Dc%20%23d"


def filters(href: str) -> dict[str, list[str]]:
    """The query of a link as the browser reads it (HTML attribute, then URL)."""
    return parse_qs(urlsplit(html.unescape(href)).query, keep_blank_values=True)


async def test_unknown_state_is_a_400_in_the_apis_words(client: httpx.AsyncClient) -> None:
    api = await client.get("/api/proposals?state=bogus")
    assert api.status_code == 400
    page = await client.get("/proposals?state=bogus")
    assert page.status_code == 400
    text = html.unescape(page.text)
    assert api.json()["error"] in text
    assert "use one of: draft, review, voting" in text and "rolled-back" in text
    assert "No proposal matches." not in text and '<form class="filters"' in page.text


async def test_unknown_track_is_a_400_naming_the_tracks(client: httpx.AsyncClient) -> None:
    page = await client.get("/proposals?track=nope")
    assert page.status_code == 400
    text = html.unescape(page.text)
    assert "unknown track 'nope'; use one of: " in text
    assert "feature-flag" in text and "protocol-change" in text


TRACKS = "protocol-change, feature-flag, security-patch, charter-amendment"
CLIENTS = "aurora, borealis, cirrus, dorado, eridanus"


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/api/proposals?track=nope", f"unknown track 'nope'; use one of: {TRACKS}"),
        (
            "/api/proposals?track=feature_flag",
            f"unknown track 'feature_flag' (did you mean 'feature-flag'?); use one of: {TRACKS}",
        ),
        ("/proposals?track=nope", f"unknown track 'nope'; use one of: {TRACKS}"),
        ("/proposals?client=zzz", f"unknown client 'zzz'; use one of: {CLIENTS}"),
        (
            "/proposals?state=voting&client=auroa",
            f"unknown client 'auroa' (did you mean 'aurora'?); use one of: {CLIENTS}",
        ),
    ],
)
async def test_an_unknown_track_or_client_is_a_400_naming_those_accepted(
    client: httpx.AsyncClient, path: str, error: str
) -> None:
    """The read API and the dashboard alike: never a 200 with nothing listed."""
    response = await client.get(path)
    assert response.status_code == 400, response.text[:300]
    if path.startswith("/api/"):
        assert response.json() == {"error": error}
    else:
        text = html.unescape(response.text)
        assert error in text and "No proposal matches." not in text


@pytest.mark.parametrize(
    "query",
    ["", "state=voting", "track=feature-flag", "state=&track=", "client=aurora", "client="],
)
async def test_good_filters_answer_200(client: httpx.AsyncClient, query: str) -> None:
    assert (await client.get(f"/proposals?{query}")).status_code == 200
    assert (await client.get(f"/api/proposals?{query}")).status_code == 200


async def test_a_track_or_client_of_an_earlier_charter_is_accepted(
    seeded: Runtime, client: httpx.AsyncClient
) -> None:
    """#1 moved onto a track and a client this charter no longer names (as if opened under an
    earlier one): filtering by them lists it, and the accepted values name them after ours."""
    with session_scope(seeded.engine) as session:
        stored = repo.load(session, 1)
        assert stored is not None
        fields = {**stored.proposal.fields, "clients": ["retired-client"]}
        old = dataclasses.replace(stored.proposal, track="legacy-track", fields=fields)
        repo.save(session, dataclasses.replace(stored, proposal=old), seeded.gov.charter, NOW)
    api = await client.get("/api/proposals?track=legacy-track")
    assert api.status_code == 200 and [p["number"] for p in api.json()["proposals"]] == [1]
    for query in ("track=legacy-track", "client=retired-client"):
        page = await client.get(f"/proposals?{query}")
        assert page.status_code == 200 and 'href="/proposals/1"' in page.text
    refused = (await client.get("/api/proposals?track=nope")).json()["error"]
    assert refused.endswith(f"use one of: {TRACKS}, legacy-track")
    page = html.unescape((await client.get("/proposals?client=zzz")).text)
    assert f"use one of: {CLIENTS}, retired-client" in page


async def test_proposal_pager_links_are_url_encoded(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client filter with query characters stays one value in the pager's links."""
    real = queries.Reader.proposals

    def every(self: queries.Reader, **kw: Any) -> tuple[list[dict[str, Any]], bool]:
        items, _ = real(self)
        return items, True  # as if the filter matched on this page and more pages followed

    monkeypatch.setattr(queries.Reader, "proposals", every)
    monkeypatch.setattr("bot.web.app.unknown_filter", lambda *a, **kw: None)  # ODD is a client
    page = (await client.get("/proposals", params={"client": ODD, "page": "2"})).text
    links = re.findall(r'<a href="([^"]+)" rel="(?:prev|next)"', page)
    assert len(links) == 2
    for link, to in zip(links, ("1", "3"), strict=True):
        assert f"client={ODD_ENCODED}&" in html.unescape(link)
        assert filters(link) == {"state": [""], "track": [""], "client": [ODD], "page": [to]}


async def test_audit_pager_links_are_url_encoded(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filters with query characters stay one value each in the older/newest links."""
    real = queries.Reader.audit_page

    def unfiltered(self: queries.Reader, **kw: Any) -> tuple[list[dict[str, Any]], int | None]:
        entries, _ = real(self, before=None, subject=None, kind=None)
        return entries, 5  # as if the filter matched and older entries followed

    monkeypatch.setattr(queries.Reader, "audit_page", unfiltered)
    page = (await client.get("/audit", params={"kind": ODD, "subject": ODD})).text
    older = re.search(r'<a rel="next" href="([^"]+)">Older entries</a>', page)
    newest = re.search(r'<a href="(/audit\?subject=[^"]*)">Newest</a>', page)
    assert older is not None and newest is not None
    assert filters(older.group(1)) == {"before": ["5"], "subject": [ODD], "kind": [ODD]}
    assert filters(newest.group(1)) == {"subject": [ODD], "kind": [ODD]}


@pytest.mark.parametrize(
    ("params", "refused"),
    [
        ([("track", "\x00")], ("track", "0000")),
        ([("state", "voting"), ("kind", "vote\ncast")], ("kind", "000A")),
        ([("subject", "a\x7f")], ("subject", "007F")),
        ([("subject", "a\x85")], ("subject", "0085")),  # a C1 control
        ([("\x00", "x")], None),  # names are never read
        ([("subject", "proposal:1"), ("kind", "")], None),
        ([("track", "función ✓ 漢字 \u200d")], None),  # any printable text, even invisible
        ([], None),
    ],
)
def test_a_query_value_with_a_control_character_is_refused(
    params: list[tuple[str, str]], refused: tuple[str, str] | None
) -> None:
    """No filter value holds a control character; PostgreSQL refuses NUL in text outright."""
    expected = None
    if refused is not None:
        expected = f"query parameter {refused[0]!r} holds a control character (U+{refused[1]})"
    assert bad_query_value(params) == expected


NUL_QUERIES = [
    "/api/proposals?track=%00",
    "/api/proposals?state=voting&track=%0A",
    "/audit?subject=%00",
    "/audit?kind=%00",
    "/proposals?client=%00",
    "/proposals?track=%00",
]


async def _answers(http: httpx.AsyncClient, path: str) -> None:
    """``path`` is refused with 400: the API's JSON error, or the page saying why."""
    response = await http.get(path)
    assert response.status_code == 400, (path, response.text[:200])
    if path.startswith("/api/"):
        (error,) = response.json().values()
        assert list(response.json()) == ["error"] and "holds a control character" in error
    else:
        text = html.unescape(response.text)
        assert '<p class="error" role="alert">query parameter' in text
        assert "holds a control character" in text and "\x00" not in text
        assert '<form class="filters"' in text


@pytest.mark.parametrize("path", NUL_QUERIES)
async def test_a_control_character_in_a_query_is_a_400(
    client: httpx.AsyncClient, path: str
) -> None:
    """The read API answers its JSON error, the dashboard its page with the reason."""
    await _answers(client, path)


async def test_a_nul_in_a_query_is_a_400_on_every_database(engine_url: str) -> None:
    """On PostgreSQL a NUL that reached SQL would be a 500 (psycopg refuses it in text)."""
    rt = build(Settings(database_url=engine_url), clock=FixedClock(NOW))
    try:
        app = create_app(rt, run_background=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dash") as http:
            for path in NUL_QUERIES:
                await _answers(http, path)
    finally:
        rt.engine.dispose()
