"""Filters on the proposals and audit pages: a state or track that names nothing is a 400
saying what is accepted (the read API's wording for states), and pager links carry the
filters URL-encoded."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.web import queries

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


@pytest.mark.parametrize("query", ["", "state=voting", "track=feature-flag", "state=&track="])
async def test_good_filters_answer_200(client: httpx.AsyncClient, query: str) -> None:
    assert (await client.get(f"/proposals?{query}")).status_code == 200


async def test_proposal_pager_links_are_url_encoded(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client filter with query characters stays one value in the pager's links."""
    real = queries.Reader.proposals

    def every(self: queries.Reader, **kw: Any) -> tuple[list[dict[str, Any]], bool]:
        items, _ = real(self)
        return items, True  # as if the filter matched on this page and more pages followed

    monkeypatch.setattr(queries.Reader, "proposals", every)
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
