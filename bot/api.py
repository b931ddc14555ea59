"""The read API: proposals as JSON, described by an OpenAPI document.

Confidential proposals are left out until disclosed: the API is public. A proposal number is
ASCII digits, 1 … 2**63-1 (``storage.dashboard_queries.positive_id``); anything else is a 400.
A query value holding a control character is a 400 too (:func:`bad_query_value`, which the
dashboard shares).
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.views import proposal_view, summary_view
from charter.lifecycle import State
from charter.proposal import rules_for
from charter.votes import Choice, Outcome
from storage import feedback as feedback_store, proposals as repo
from storage.dashboard_queries import MAX_ID, positive_id
from storage.db import read_scope

# The document describes every field the views write (bot.views), so a client can rely on it;
# tests/bot/web/test_api_contract.py validates real answers against it with no other field
# allowed.
_STR: dict[str, Any] = {"type": "string"}
_INT: dict[str, Any] = {"type": "integer"}
_BOOL: dict[str, Any] = {"type": "boolean"}
_NUM: dict[str, Any] = {"type": "number"}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_CHOICE: dict[str, Any] = {"type": "string", "enum": [c.value for c in Choice]}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" in schema and "enum" not in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"oneOf": [schema, {"type": "null"}]}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    """An object that always carries every one of ``properties``."""
    return {"type": "object", "required": sorted(properties), "properties": properties}


_STATES = frozenset(s.value for s in State)
_STATE = {"type": "string", "enum": sorted(_STATES)}
_OUTCOME = {"type": "string", "enum": [o.value for o in Outcome]}
# The counts, quorum_met and approved are the votes as they stood at voting close (while it is
# open, so far): what quorum and approval were judged on. Votes cast during lazy consensus are
# counted apart in ``lazy``, null unless voting closed without quorum on a lazy-consensus track.
_TALLY = _object(
    seats=_INT,
    voted=_INT,
    approve=_INT,
    reject=_INT,
    abstain=_INT,
    needed=_nullable(_INT),  # null until voting opens
    quorum=_NUM,
    approval=_NUM,
    quorum_met=_BOOL,
    approved=_BOOL,
    vetoed_by=_array(_STR),
    outcome=_OUTCOME,
    reason=_STR,
    lazy=_nullable(_object(approve=_INT, reject=_INT, abstain=_INT)),
)
# The listing's digest of the tally: every value null for a proposal on an unknown track.
_TALLY_DIGEST = _object(
    seats=_nullable(_INT),
    voted=_nullable(_INT),
    approve=_nullable(_INT),
    reject=_nullable(_INT),
    abstain=_nullable(_INT),
    quorum_met=_nullable(_BOOL),
    outcome=_nullable(_OUTCOME),
)
_SUMMARY = _object(
    number=_INT,
    title=_STR,
    track=_STR,
    state=_STATE,
    author=_STR,
    tally=_TALLY_DIGEST,
    next_deadline=_nullable(_TIME),  # review end, confirm period or voting close
)
_PROPOSAL = _object(
    number=_INT,
    title=_STR,
    track=_STR,
    state=_STATE,
    author=_STR,
    confidential=_BOOL,
    disclosed=_BOOL,
    created_at=_nullable(_TIME),
    charter_version=_INT,
    fields={"type": "object", "description": "the issue form's fields, as parsed"},
    intake_problems=_array(_STR),
    votes=_array(
        _object(
            voter=_STR,
            seat=_nullable(_STR),
            choice=_CHOICE,
            reason=_STR,
            at=_TIME,
            via=_STR,
        ),
    ),
    seat_matrix=_array(
        _object(
            seat=_STR,
            label=_STR,
            voter=_nullable(_STR),
            choice=_nullable(_CHOICE),
            reason=_nullable(_STR),
            at=_nullable(_TIME),
            via=_nullable(_STR),
        ),
    ),
    concerns=_array(
        _object(
            name=_STR,
            text=_STR,
            raised_by=_STR,
            raised_at=_nullable(_TIME),
            resolved=_BOOL,
            resolved_by=_nullable(_STR),
        ),
    ),
    # Feedback asked and not yet given (charter.feedback): it never blocks the decision. The
    # note is what the asker wrote, in full ("" when none).
    feedback=_array(_object(login=_STR, asked_by=_STR, asked_at=_TIME, note=_STR)),
    tally=_nullable(_TALLY),  # null on a track the charter no longer has
    deadlines=_object(
        review_ends=_nullable(_TIME),
        voting_opens=_nullable(_TIME),
        voting_closes=_nullable(_TIME),
        confirm_until=_nullable(_TIME),
        lazy_until=_nullable(_TIME),
    ),
    decision=_nullable(_object(outcome=_STR, at=_TIME, charter_version=_INT)),
    withdrawn_by=_nullable(_STR),
)
_ERROR = _object(error=_STR)
_HEADER = _object(number=_INT, title=_STR, track=_STR, state=_STATE)
_HEADERS = _array(_HEADER)
_STATUS = _object(  # bot.feeds.status
    generated_at=_TIME,
    open_proposals=_HEADERS,
    in_voting=_HEADERS,
    rolling_out=_HEADERS,
    open_incidents=_array(_object(id=_INT, severity=_STR, summary=_STR, declared_at=_TIME)),
)


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "charterbot read API", "version": "1"},
    "paths": {
        "/api/status": {
            "get": {
                "summary": "The network at a glance: open, voting and rolling-out proposals "
                "(confidential ones only once disclosed) and open incidents.",
                "responses": {"200": _json("the status", _STATUS)},
            }
        },
        "/api/proposals": {
            "get": {
                "summary": "List proposals (newest first); confidential ones only once disclosed.",
                "parameters": [
                    {
                        "name": "state",
                        "in": "query",
                        "description": "only proposals in these states (repeat for several: "
                        "?state=voting&state=review)",
                        "style": "form",
                        "explode": True,
                        "schema": _array(_STATE),
                    },
                    {"name": "track", "in": "query", "schema": _STR},
                ],
                "responses": {
                    "200": _json(
                        "proposals",
                        _object(proposals=_array(_SUMMARY)),
                    ),
                    "400": _json(
                        "a state filter names no state, or a query value holds a control character",
                        _ERROR,
                    ),
                },
            }
        },
        "/api/proposals/{number}": {
            "get": {
                "summary": "One proposal with votes, concerns, tally, deadlines and decision.",
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": _INT}],
                "responses": {
                    "200": _json("the proposal", _PROPOSAL),
                    "400": _json(
                        "the number is not a positive integer (ASCII digits, at most 2**63-1)",
                        _ERROR,
                    ),
                    "404": _json("no such (public) proposal", _ERROR),
                },
            }
        },
    },
}


def bad_query_value(params: Iterable[tuple[str, str]]) -> str | None:
    """Why a query is refused, or None: a value holding a control character (NUL, a line
    break, …: Unicode category Cc). No filter value holds one, and PostgreSQL refuses NUL in
    text outright, so passing it on would answer 500 there instead of 400."""
    for name, value in params:
        bad = next((c for c in value if unicodedata.category(c) == "Cc"), None)
        if bad is not None:
            return f"query parameter {name!r} holds a control character (U+{ord(bad):04X})"
    return None


def api_routes(engine: Any, charter_of: Any, clock: Any) -> list[Route]:
    async def listing(request: Request) -> JSONResponse:
        refused = bad_query_value(request.query_params.multi_items())
        if refused is not None:
            return JSONResponse({"error": refused}, 400)
        states = [s for s in request.query_params.getlist("state") if s]
        track = request.query_params.get("track") or None
        unknown = sorted(set(states) - _STATES)
        if unknown:
            known = ", ".join(s.value for s in State)
            error = f"unknown state {', '.join(map(repr, unknown))}; use one of: {known}"
            return JSONResponse({"error": error}, 400)

        def query() -> list[dict[str, Any]]:
            now = clock.now()
            with read_scope(engine) as session:
                items = repo.listing(
                    session, states=states, track=track, include_confidential=False
                )
            return [summary_view(s, charter_of(), now) for s in items]

        return JSONResponse({"proposals": await asyncio.to_thread(query)})

    async def one(request: Request) -> JSONResponse:
        raw = request.path_params["number"]
        number = positive_id(raw)
        if number is None:
            error = f"proposal number must be a positive integer up to {MAX_ID}"
            return JSONResponse({"error": error}, 400)

        def query() -> dict[str, Any] | None:
            with read_scope(engine) as session:
                stored = repo.load(session, number)
                asked = feedback_store.open_for(session, number)
            charter = charter_of()
            if stored is None:
                return None
            track = rules_for(stored.proposal, charter).tracks.get(stored.proposal.track)
            if track is not None and track.confidential and not stored.disclosed:
                return None
            return proposal_view(stored, charter, clock.now(), asked)

        view = await asyncio.to_thread(query)
        if view is None:
            return JSONResponse({"error": f"no proposal #{raw}"}, 404)
        return JSONResponse(view)

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(OPENAPI)

    return [
        Route("/api/proposals", listing, methods=["GET"]),
        Route("/api/proposals/{number}", one, methods=["GET"]),
        Route("/api/openapi.json", openapi, methods=["GET"]),
    ]
