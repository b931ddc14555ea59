"""The read API's rollouts (bot.api_rollouts): ``GET /api/rollouts`` lists every public rollout
(proposal, title, state, stage, each client's stage, paused?), ``GET /api/rollouts/{number}``
answers the view the dashboard shows. Both keep to the OpenAPI document, answer conditional
GETs, and never show an undisclosed confidential rollout: its number answers the 404 of a
number without a rollout. On the demo campaign, and on its confidential variant
(tests.bot.web.test_confidential_audit: #9 hidden and rolling out, confidential incident 4
pausing public #1 and #2 and hidden #9).
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from bot.messages import Actor, plain_text
from bot.runtime import Runtime
from bot.web.queries import Reader
from charter.gates import CONFIDENTIAL_INCIDENT
from tests.bot.web.test_api_contract import _check, _spec
from tests.bot.web.test_confidential_audit import PAUSES_IT, SECRET_TEXT


def run(rt: Runtime, login: str, text: str) -> None:
    message = rt.gov.run_sync(text, Actor(login, "console", login, login), now=rt.clock.now())
    assert message.ok, f"{login}: {text} -> {plain_text(message)}"


def _numbers(listing: httpx.Response) -> list[int]:
    assert listing.status_code == 200
    return [r["number"] for r in listing.json()["rollouts"]]


async def test_the_listing_says_each_rollout_s_stage_per_client(client: httpx.AsyncClient) -> None:
    """Unfinished first, then newest: #2 (pending, three clients on staging) and #1 (canary,
    eridanus still on it, the others on production); a client on no stage yet is null."""
    spec = await _spec(client)
    listing = await client.get("/api/rollouts")
    _check(spec, "/api/rollouts", listing)
    first, second = listing.json()["rollouts"]
    assert first["number"] == 2 and first["state"] == "accepted" and first["stage"] == "pending"
    assert first["clients"][-1] == {"client": "eridanus", "stage": None}
    on = {"production": ["aurora", "borealis", "cirrus", "dorado"], "canary": ["eridanus"]}
    assert second == {
        "number": 1,
        "title": "Raise the block gas target to 36M",
        "state": "rolling-out",
        "stage": "canary",
        "final": False,
        "paused": False,
        "clients": [{"client": c, "stage": s} for s, cs in on.items() for c in cs],
    }


async def test_each_rollout_is_the_dashboard_s_view_with_its_drills(
    client: httpx.AsyncClient, seeded: Runtime
) -> None:
    """The answer is the view the dashboard's proposal page shows (matrix, gates with reasons,
    pauses), down to a reported drill and a planned one, and keeps to the document."""
    run(seeded, "hana-eridanus", "drill 1 eridanus canary recovered 12m rehearsed")
    run(seeded, "alice-aurora", "drill schedule 2 aurora staging 2026-12-03 15:00")
    spec = await _spec(client)
    listed = {r["number"]: r for r in (await client.get("/api/rollouts")).json()["rollouts"]}
    for number in listed:
        answer = await client.get(f"/api/rollouts/{number}")
        _check(spec, "/api/rollouts/{number}", answer)
        page = Reader(seeded.gov, seeded.clock.now()).proposal(number)
        assert page is not None
        view = page["rollout"]
        detail = answer.json()
        renamed = {"proposal": "number", "proposal_state": "state"}
        same = {renamed.get(k, k): v for k, v in view.items() if k != "clients"}
        assert detail == {**same, "clients": listed[number]["clients"]}
    one = (await client.get("/api/rollouts/1")).json()
    drill = _cell(one, "eridanus", "canary")["drill"]
    assert (drill["outcome"], drill["took"], drill["notes"]) == ("pass", "12m", "rehearsed")
    assert one["next_stage"] == "production" and one["gates"]
    assert all(set(g) == {"gate", "passed", "reason"} for g in one["gates"])
    two = (await client.get("/api/rollouts/2")).json()
    planned = _cell(two, "aurora", "staging")["planned_drill"]
    assert planned == {"at": "2026-12-03T15:00:00Z", "by": "alice-aurora"}


async def test_a_rollout_reads_as_its_listing_entry_plus_detail(
    client: httpx.AsyncClient,
) -> None:
    """Both answers name the same things the same way: the rollout's answer holds its listing
    entry field for field (``number``, ``state``, ``clients`` as ``{client, stage}``), and
    no other name for them (no ``proposal``, ``proposal_state``)."""
    for listed in (await client.get("/api/rollouts")).json()["rollouts"]:
        one = (await client.get(f"/api/rollouts/{listed['number']}")).json()
        assert {k: one[k] for k in listed} == listed
        assert "proposal" not in one and "proposal_state" not in one


def _cell(view: dict[str, Any], client: str, stage: str) -> dict[str, Any]:
    return next(c for c in view["matrix"] if (c["client"], c["stage"]) == (client, stage))


async def test_a_hidden_rollout_is_answered_as_if_it_did_not_exist(
    anon: httpx.AsyncClient, secret_rt: Runtime
) -> None:
    """Undisclosed #9 rolls out: it is not listed, and its number gets the 404 (body and
    headers) of a number without a proposal and of a public proposal without a rollout. Once
    disclosed it is listed and shown."""
    assert 9 not in _numbers(await anon.get("/api/rollouts"))
    hidden, missing, unrolled = [await anon.get(f"/api/rollouts/{n}") for n in (9, 99, 6)]
    for answer, number in ((hidden, 9), (missing, 99), (unrolled, 6)):
        assert answer.status_code == 404
        assert answer.json() == {"error": f"no rollout #{number}"}
        assert "etag" not in answer.headers
    assert hidden.headers.keys() == missing.headers.keys() == unrolled.headers.keys()
    run(secret_rt, "kofi-sec", "disclose 9")
    assert 9 in _numbers(await anon.get("/api/rollouts"))
    assert (await anon.get("/api/rollouts/9")).status_code == 200


async def test_a_confidential_incident_is_redacted_from_public_rollouts(
    anon: httpx.AsyncClient,
) -> None:
    """Incident 4 (naming hidden #9) pauses #1: #1 is listed as paused and its pause reason
    says only "a confidential incident"; no answer quotes what the hidden rollout's incidents,
    call or no-go say."""
    listing = await anon.get("/api/rollouts")
    assert {r["number"]: r["paused"] for r in listing.json()["rollouts"]}[1] is True
    texts = [listing.text]
    for number in _numbers(listing):
        answer = await anon.get(f"/api/rollouts/{number}")
        assert answer.status_code == 200
        texts.append(answer.text)
    one = (await anon.get("/api/rollouts/1")).json()
    assert one["paused"] and one["pause_reason"] == CONFIDENTIAL_INCIDENT
    for secret in [*SECRET_TEXT, PAUSES_IT]:
        assert all(secret not in text for text in texts), secret


@pytest.mark.parametrize("path", ["/api/rollouts", "/api/rollouts/1"])
async def test_rollouts_answer_conditional_gets(
    client: httpx.AsyncClient, seeded: Runtime, path: str
) -> None:
    """A strong ETag of the body; If-None-Match with it is a 304 with no body, until the rollout
    changes (a drill is reported): then the whole new answer."""
    full = await client.get(path)
    assert full.status_code == 200
    assert full.headers["etag"] == f'"{hashlib.sha256(full.content).hexdigest()[:32]}"'
    again = await client.get(path, headers={"If-None-Match": full.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["etag"] == full.headers["etag"]
    run(seeded, "hana-eridanus", 'drill 1 eridanus canary failed "node did not resync"')
    run(seeded, "kofi-sec", 'incident declare sev1 "Peering stall" clients eridanus')
    changed = await client.get(path, headers={"If-None-Match": full.headers["etag"]})
    assert changed.status_code == 200 and changed.content != full.content
    assert changed.headers["etag"] != full.headers["etag"]


@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("999", 404),  # no proposal
        ("6", 404),  # a public proposal, not rolling out
        ("abc", 400),
        ("-1", 400),
        ("0", 400),
        ("²", 400),  # a digit, but not an ASCII one
        (str(2**63), 400),  # past the largest id the database stores
    ],
)
async def test_a_number_that_is_not_a_public_rollout_is_refused_as_documented(
    client: httpx.AsyncClient, number: str, status: int
) -> None:
    spec = await _spec(client)
    response = await client.get(f"/api/rollouts/{number}")
    assert response.status_code == status
    _check(spec, "/api/rollouts/{number}", response)
    error = response.json()["error"]
    if status == 404:
        assert error == f"no rollout #{number}"
    else:
        assert error.startswith("rollout number must be a positive integer")
