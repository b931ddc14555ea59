"""The read API: proposals as JSON, described by an OpenAPI document.

Confidential proposals are left out until disclosed: the API is public.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.views import proposal_view, summary_view
from storage import proposals as repo
from storage.db import read_scope

_TALLY = {
    "type": "object",
    "properties": {
        k: {"type": t}
        for k, t in (
            ("seats", "integer"),
            ("voted", "integer"),
            ("approve", "integer"),
            ("reject", "integer"),
            ("abstain", "integer"),
            ("quorum_met", "boolean"),
            ("outcome", "string"),
        )
    },
}
_PROPOSAL = {
    "type": "object",
    "required": [
        "number",
        "title",
        "track",
        "state",
        "author",
        "votes",
        "concerns",
        "tally",
        "deadlines",
        "decision",
    ],
    "properties": {
        "number": {"type": "integer"},
        "title": {"type": "string"},
        "track": {"type": "string"},
        "state": {"type": "string"},
        "author": {"type": "string"},
        "votes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "voter": {"type": "string"},
                    "seat": {"type": ["string", "null"]},
                    "choice": {"type": "string", "enum": ["approve", "reject", "abstain"]},
                    "reason": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"},
                    "via": {"type": "string"},
                },
            },
        },
        "concerns": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "raised_by": {"type": "string"},
                    "resolved": {"type": "boolean"},
                },
            },
        },
        "tally": {"oneOf": [_TALLY, {"type": "null"}]},
        "deadlines": {
            "type": "object",
            "properties": {
                "review_ends": {"type": ["string", "null"], "format": "date-time"},
                "voting_closes": {"type": ["string", "null"], "format": "date-time"},
            },
        },
        "decision": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "outcome": {"type": "string"},
                        "at": {"type": "string", "format": "date-time"},
                        "charter_version": {"type": "integer"},
                    },
                },
                {"type": "null"},
            ]
        },
    },
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "charterbot read API", "version": "1"},
    "paths": {
        "/api/proposals": {
            "get": {
                "summary": "List proposals (newest first); confidential ones only once disclosed.",
                "parameters": [
                    {"name": "state", "in": "query", "schema": {"type": "string"}},
                    {"name": "track", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "proposals",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "proposals": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "properties": {
                                                    "number": {"type": "integer"},
                                                    "title": {"type": "string"},
                                                    "track": {"type": "string"},
                                                    "state": {"type": "string"},
                                                    "tally": _TALLY,
                                                },
                                            },
                                        }
                                    },
                                }
                            }
                        },
                    }
                },
            }
        },
        "/api/proposals/{number}": {
            "get": {
                "summary": "One proposal with votes, concerns, tally, deadlines and decision.",
                "parameters": [
                    {
                        "name": "number",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "the proposal",
                        "content": {"application/json": {"schema": _PROPOSAL}},
                    },
                    "404": {"description": "no such (public) proposal"},
                },
            }
        },
    },
}


def api_routes(engine: Any, charter_of: Any, clock: Any) -> list[Route]:
    async def listing(request: Request) -> JSONResponse:
        states = [s for s in request.query_params.getlist("state") if s]
        track = request.query_params.get("track") or None

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
        if not raw.isdigit():
            return JSONResponse({"error": "proposal number must be a positive integer"}, 400)

        def query() -> dict[str, Any] | None:
            with read_scope(engine) as session:
                stored = repo.load(session, int(raw))
            charter = charter_of()
            if stored is None:
                return None
            track = charter.tracks.get(stored.proposal.track)
            if track is not None and track.confidential and not stored.disclosed:
                return None
            return proposal_view(stored, charter, clock.now())

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
