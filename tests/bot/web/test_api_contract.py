"""The read API keeps to its OpenAPI document, checked on the demo campaign's data (every state
a proposal can be in): each answer validates against the documented schema, with no field the
document does not name, and each status code a path returns is documented for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from bot.api import OPENAPI
from bot.http import create_app
from bot.messages import Actor
from bot.runtime import Runtime
from tests.bot.web.conftest import NOW

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 as the API writes it: a date, a time and an explicit offset (or Z)."""
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value and parsed.tzinfo is not None


def _closed(schema: Any) -> Any:
    """``schema`` with every object that lists its properties closed to any other property."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items()}
        types = out.get("type")
        if "properties" in out and "object" in (types if isinstance(types, list) else [types]):
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


async def _spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    assert spec["openapi"].startswith("3.1")
    return spec


def _check(spec: dict[str, Any], path: str, response: httpx.Response) -> None:
    """The status is documented for ``path``; a documented JSON body validates, closed."""
    documented = spec["paths"][path]["get"]["responses"]
    status = str(response.status_code)
    assert status in documented, f"{path} answered {status}, documented: {sorted(documented)}"
    content = documented[status].get("content", {}).get("application/json")
    if content is None:
        return
    validator = Draft202012Validator(_closed(content["schema"]), format_checker=FORMATS)
    errors = sorted(validator.iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


async def test_the_listing_and_every_proposal_keep_to_the_document(
    client: httpx.AsyncClient,
) -> None:
    spec = await _spec(client)
    listing = await client.get("/api/proposals")
    _check(spec, "/api/proposals", listing)
    numbers = [p["number"] for p in listing.json()["proposals"]]
    states = {p["state"] for p in listing.json()["proposals"]}
    assert len(numbers) >= 8 and len(states) >= 5  # the demo's spread of states
    for number in numbers:
        _check(spec, "/api/proposals/{number}", await client.get(f"/api/proposals/{number}"))
    for state in sorted(states):
        filtered = await client.get("/api/proposals", params={"state": state})
        _check(spec, "/api/proposals", filtered)
        assert {p["state"] for p in filtered.json()["proposals"]} == {state}


@pytest.mark.parametrize("number", ["999", "abc", "-1"])
async def test_errors_are_documented_and_say_what_is_wrong(
    client: httpx.AsyncClient, number: str
) -> None:
    spec = await _spec(client)
    response = await client.get(f"/api/proposals/{number}")
    assert response.status_code in (400, 404)
    _check(spec, "/api/proposals/{number}", response)
    assert number.lstrip("-") in response.json()["error"] or "integer" in response.json()["error"]


async def test_the_status_keeps_to_the_document(client: httpx.AsyncClient) -> None:
    spec = await _spec(client)
    response = await client.get("/api/status")
    _check(spec, "/api/status", response)
    data = response.json()
    assert data["open_proposals"] and data["rolling_out"] and data["open_incidents"]


async def test_every_api_route_is_documented(seeded: Runtime) -> None:
    """Each /api/ route the app serves (but the document itself) has a path in the document."""
    app = create_app(seeded, run_background=False)
    served = {
        route.path
        for route in app.routes
        if getattr(route, "path", "").startswith("/api/") and route.path != "/api/openapi.json"
    }
    assert served == set(OPENAPI["paths"])


async def test_an_unknown_state_filter_is_refused_with_the_states_to_use(
    client: httpx.AsyncClient,
) -> None:
    """A typo in a filter gets a 400 naming it and the valid states, not an empty list."""
    spec = await _spec(client)
    response = await client.get("/api/proposals", params=[("state", "voting"), ("state", "votng")])
    assert response.status_code == 400
    _check(spec, "/api/proposals", response)
    error = response.json()["error"]
    assert "'votng'" in error and "rolling-out" in error and "'voting'" not in error


async def test_feedback_requests_keep_to_the_document_with_their_note(
    seeded: Runtime, client: httpx.AsyncClient
) -> None:
    """The demo asks nobody for feedback: here two are asked, one with a note, and each object
    is documented field by field (who, by whom, when, the note in full)."""
    asker = Actor("alice-aurora", "console", "alice-aurora")
    for text in ("feedback 6 @emeka-cirrus please check the <b>blob</b> math", "f? 6 @zoe-contrib"):
        assert seeded.gov.run_sync(text, asker, now=seeded.clock.now()).ok
    spec = await _spec(client)
    response = await client.get("/api/proposals/6")
    _check(spec, "/api/proposals/{number}", response)
    at = NOW.isoformat().replace("+00:00", "Z")
    assert response.json()["feedback"] == [
        {
            "login": "emeka-cirrus",
            "asked_by": "alice-aurora",
            "asked_at": at,
            "note": "please check the <b>blob</b> math",
        },
        {"login": "zoe-contrib", "asked_by": "alice-aurora", "asked_at": at, "note": ""},
    ]
