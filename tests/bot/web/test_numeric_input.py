"""Numbers in URLs: only ASCII digits within 1 … 2**63-1 are numbers.

``str.isdigit`` accepts "²" (which ``int`` refuses) and Arabic-Indic digits (which ``int``
reads), and SQLite's integers stop at 2**63-1: such input must never be a 500 or an alias of
another proposal. The dashboard answers 404 for a proposal number that is not one, shows page 1
for a ``page`` that is not one and the newest entries for such a ``before``; the read API
answers 400 with JSON, as its OpenAPI document says (0 included), and the document declares the
repeatable ``state`` filter as an array.
"""

from __future__ import annotations

import re

import httpx
import pytest
from jsonschema import Draft202012Validator

from bot.api import OPENAPI
from storage.dashboard_queries import MAX_ID, positive_id
from tests.bot.web.test_api_contract import _check, _spec

SUPERSCRIPT_TWO = "%C2%B2"  # "²": isdigit() is True, int() raises
ARABIC_THREE = "%D9%A3"  # "٣": isdigit() is True, int() reads 3
HUGE = "99999999999999999999"  # > 2**63-1: SQLite raises OverflowError
OVER = str(MAX_ID + 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("42", 42),
        ("007", 7),
        (str(MAX_ID), MAX_ID),
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("", None),
        (None, None),
        ("²", None),
        ("٣", None),
        ("１", None),  # fullwidth one
        (OVER, None),
        (HUGE, None),
        ("9" * 5000, None),  # past int()'s digit limit: no ValueError either
    ],
)
def test_positive_id(raw: str | None, expected: int | None) -> None:
    assert positive_id(raw) == expected


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/proposals/{SUPERSCRIPT_TWO}", 404),
        (f"/proposals/{ARABIC_THREE}", 404),  # not an alias of #3
        (f"/proposals/{HUGE}", 404),
        (f"/proposals/{OVER}", 404),
        (f"/proposals/{MAX_ID}", 404),
        ("/proposals/0", 404),
        ("/proposals/3", 200),
    ],
)
async def test_a_proposal_number_that_is_not_one_is_not_found(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await client.get(path)
    assert response.status_code == status
    if status == 404:
        assert "There is no public proposal" in response.text


def _listed(html: str, pattern: str) -> list[str]:
    return re.findall(pattern, html)


PROPOSAL_LINKS = r'<a href="/proposals/(\d+)">'
ROLLOUT_IDS = r'id="rollout-(\d+)"'


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        (f"/proposals?page={SUPERSCRIPT_TWO}", PROPOSAL_LINKS),
        (f"/proposals?page={ARABIC_THREE}", PROPOSAL_LINKS),
        (f"/proposals?page={HUGE}", PROPOSAL_LINKS),
        (f"/proposals?page={HUGE}&client=aurora", PROPOSAL_LINKS),
        ("/proposals?page=0", PROPOSAL_LINKS),
        (f"/rollouts?page={SUPERSCRIPT_TWO}", ROLLOUT_IDS),
        (f"/rollouts?page={ARABIC_THREE}", ROLLOUT_IDS),
        (f"/rollouts?page={HUGE}", ROLLOUT_IDS),
    ],
)
async def test_a_page_that_is_not_one_shows_page_one(
    client: httpx.AsyncClient, path: str, pattern: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    first = await client.get(path.split("?")[0] + ("?client=aurora" if "client" in path else ""))
    shown = _listed(response.text, pattern)
    assert shown and shown == _listed(first.text, pattern)


@pytest.mark.parametrize("path", [f"/proposals?page={MAX_ID}", f"/rollouts?page={MAX_ID}"])
async def test_the_last_representable_page_is_empty(client: httpx.AsyncClient, path: str) -> None:
    """A page number that is one, but far past the end, is an empty page (its offset is bounded
    to what the database stores)."""
    response = await client.get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("before", [SUPERSCRIPT_TWO, ARABIC_THREE, HUGE, OVER, "0"])
async def test_a_before_that_is_not_one_shows_the_newest_entries(
    client: httpx.AsyncClient, before: str
) -> None:
    response = await client.get(f"/audit?before={before}")
    assert response.status_code == 200
    newest = (await client.get("/audit")).text
    seqs = re.findall(r'<tr id="entry-(\d+)"', response.text)
    assert seqs and seqs == re.findall(r'<tr id="entry-(\d+)"', newest)


@pytest.mark.parametrize(
    "number", [SUPERSCRIPT_TWO, ARABIC_THREE, HUGE, OVER, "0", "00", "-1", "1e3"]
)
async def test_the_api_answers_400_for_a_number_that_is_not_one(
    client: httpx.AsyncClient, number: str
) -> None:
    """400 with JSON, as documented ("not a positive integer")."""
    spec = await _spec(client)
    response = await client.get(f"/api/proposals/{number}")
    assert response.status_code == 400
    _check(spec, "/api/proposals/{number}", response)
    assert "positive integer" in response.json()["error"]


@pytest.mark.parametrize(("number", "status"), [("3", 200), ("007", 200), (str(MAX_ID), 404)])
async def test_the_api_reads_every_number_that_is_one(
    client: httpx.AsyncClient, number: str, status: int
) -> None:
    spec = await _spec(client)
    response = await client.get(f"/api/proposals/{number}")
    assert response.status_code == status
    _check(spec, "/api/proposals/{number}", response)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/feeds/announcements.atom?proposal={SUPERSCRIPT_TWO}", 400),
        (f"/feeds/announcements.atom?proposal={ARABIC_THREE}", 400),
        (f"/feeds/announcements.atom?proposal={HUGE}", 400),
        ("/feeds/announcements.atom?proposal=1", 200),
    ],
)
async def test_the_feed_refuses_a_proposal_that_is_not_a_number(
    client: httpx.AsyncClient, path: str, status: int
) -> None:
    assert (await client.get(path)).status_code == status


def _state_parameter() -> dict[str, object]:
    parameters = OPENAPI["paths"]["/api/proposals"]["get"]["parameters"]
    found: dict[str, object] = next(p for p in parameters if p["name"] == "state")
    return found


@pytest.mark.parametrize(
    "states", [["voting"], ["voting", "review"], ["accepted", "rolling-out", "completed"]]
)
async def test_the_state_filter_is_documented_as_repeatable(
    client: httpx.AsyncClient, states: list[str]
) -> None:
    """What the listing accepts (``?state=a&state=b``) validates against the parameter as
    documented: a form-style, exploded array of states."""
    parameter = _state_parameter()
    assert (parameter.get("style", "form"), parameter.get("explode", True)) == ("form", True)
    validator = Draft202012Validator(parameter["schema"])
    assert not list(validator.iter_errors(states))
    response = await client.get("/api/proposals", params=[("state", s) for s in states])
    assert response.status_code == 200
    _check(await _spec(client), "/api/proposals", response)
    assert {p["state"] for p in response.json()["proposals"]} <= set(states)
