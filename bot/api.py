"""The read API: proposals and rollouts (``bot.api_rollouts``) as JSON, described by an OpenAPI
document.

Confidential proposals are left out until disclosed: the API is public. A proposal number is
ASCII digits, 1 … 2**63-1 (``storage.dashboard_queries.positive_id``); anything else is a 400.
A query value holding a control character is a 400 too (:func:`bad_query_value`, which the
dashboard shares). So is a filter naming no state or track, answered with the values
accepted (:func:`unknown_filter`, which the dashboard shares for its client filter too: the API
has none): a track (or client) is the charter's, or one a public proposal is on (opened under an
earlier charter).
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api_rollouts import ROLLOUT_PATHS, rollout_routes
from bot.api_schema import (
    BOOL,
    ERROR,
    INT,
    NUM,
    STATE,
    STR,
    TIME,
    array,
    json_body,
    nullable,
    number_parameter,
    obj,
)
from bot.service import Governance
from bot.views import proposal_view, summary_view
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import rules_for
from charter.validate import suggest
from charter.votes import Choice, Outcome
from storage import feedback as feedback_store, proposals as repo
from storage.dashboard_queries import MAX_ID, positive_id, public
from storage.db import read_scope
from storage.models.core import ProposalRow

# The document describes every field the views write (bot.views), so a client can rely on it;
# tests/bot/web/test_api_contract.py validates real answers against it with no other field
# allowed.
_CHOICE: dict[str, Any] = {"type": "string", "enum": [c.value for c in Choice]}

_STATES = frozenset(s.value for s in State)
_OUTCOME = {"type": "string", "enum": [o.value for o in Outcome]}
# The counts, quorum_met and approved are the votes as they stood at voting close (while it is
# open, so far): what quorum and approval were judged on. Votes cast during lazy consensus are
# counted apart in ``lazy``, null unless voting closed without quorum on a lazy-consensus track.
_TALLY = obj(
    seats=INT,
    voted=INT,
    approve=INT,
    reject=INT,
    abstain=INT,
    needed=nullable(INT),  # null until voting opens
    quorum=NUM,
    approval=NUM,
    quorum_met=BOOL,
    approved=BOOL,
    vetoed_by=array(STR),
    outcome=_OUTCOME,
    reason=STR,
    lazy=nullable(obj(approve=INT, reject=INT, abstain=INT)),
)
# The listing's digest of the tally: every value null for a proposal on an unknown track.
_TALLY_DIGEST = obj(
    seats=nullable(INT),
    voted=nullable(INT),
    approve=nullable(INT),
    reject=nullable(INT),
    abstain=nullable(INT),
    quorum_met=nullable(BOOL),
    outcome=nullable(_OUTCOME),
)
_SUMMARY = obj(
    number=INT,
    title=STR,
    track=STR,
    state=STATE,
    author=STR,
    tally=_TALLY_DIGEST,
    next_deadline=nullable(TIME),  # review end, confirm period or voting close
)
_PROPOSAL = obj(
    number=INT,
    title=STR,
    track=STR,
    state=STATE,
    author=STR,
    confidential=BOOL,
    disclosed=BOOL,
    created_at=nullable(TIME),
    charter_version=INT,
    fields={"type": "object", "description": "the issue form's fields, as parsed"},
    intake_problems=array(STR),
    votes=array(
        obj(
            voter=STR,
            seat=nullable(STR),
            choice=_CHOICE,
            reason=STR,
            at=TIME,
            via=STR,
        ),
    ),
    seat_matrix=array(
        obj(
            seat=STR,
            label=STR,
            voter=nullable(STR),
            choice=nullable(_CHOICE),
            reason=nullable(STR),
            at=nullable(TIME),
            via=nullable(STR),
        ),
    ),
    concerns=array(
        obj(
            name=STR,
            text=STR,
            raised_by=STR,
            raised_at=nullable(TIME),
            resolved=BOOL,
            resolved_by=nullable(STR),
        ),
    ),
    # Feedback asked and not yet given (charter.feedback): it never blocks the decision. The
    # note is what the asker wrote, in full ("" when none).
    feedback=array(obj(login=STR, asked_by=STR, asked_at=TIME, note=STR)),
    tally=nullable(_TALLY),  # null on a track the charter no longer has
    deadlines=obj(
        review_ends=nullable(TIME),
        voting_opens=nullable(TIME),
        voting_closes=nullable(TIME),
        confirm_until=nullable(TIME),
        lazy_until=nullable(TIME),
    ),
    decision=nullable(obj(outcome=STR, at=TIME, charter_version=INT)),
    withdrawn_by=nullable(STR),
)
_HEADER = obj(number=INT, title=STR, track=STR, state=STATE)
_HEADERS = array(_HEADER)
_STATUS = obj(  # bot.feeds.status
    generated_at=TIME,
    open_proposals=_HEADERS,
    in_voting=_HEADERS,
    rolling_out=_HEADERS,
    open_incidents=array(obj(id=INT, severity=STR, summary=STR, declared_at=TIME)),
)


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "charterbot read API", "version": "1"},
    "paths": {
        "/api/status": {
            "get": {
                "summary": "The network at a glance: open, voting and rolling-out proposals "
                "(rolling_out: accepted or rolling-out; confidential ones only once disclosed) "
                "and open incidents.",
                "responses": {"200": json_body("the status", _STATUS)},
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
                        "schema": array(STATE),
                    },
                    {
                        "name": "track",
                        "in": "query",
                        "description": "only proposals on this track: one the charter names, or"
                        " one a listed proposal is on",
                        "schema": STR,
                    },
                ],
                "responses": {
                    "200": json_body(
                        "proposals",
                        obj(proposals=array(_SUMMARY)),
                    ),
                    "400": json_body(
                        "a state or track filter names none (the error lists those accepted),"
                        " or a query value holds a control character",
                        ERROR,
                    ),
                },
            }
        },
        "/api/proposals/{number}": {
            "get": {
                "summary": "One proposal with votes, concerns, tally, deadlines and decision.",
                "parameters": [number_parameter()],
                "responses": {
                    "200": json_body("the proposal", _PROPOSAL),
                    "400": json_body(
                        "the number is not a positive integer (ASCII digits, at most 2**63-1)",
                        ERROR,
                    ),
                    "404": json_body("no such (public) proposal", ERROR),
                },
            }
        },
        **ROLLOUT_PATHS,
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


def unknown_filter(session: Session, charter: Charter, *, track: str, client: str) -> str | None:
    """Why a proposals filter's ``track`` or ``client`` names none (see the module rules), with
    the values accepted and a near miss; None when both are good (empty means any). What public
    proposals are on is read only for a value the charter does not name."""
    filters: tuple[tuple[str, str, list[str], Callable[[Session], set[str]]], ...] = (
        ("track", track, list(charter.tracks), _used_tracks),
        ("client", client, list(charter.client_ids), _used_clients),
    )
    for name, value, ours, used in filters:
        if not value or value in ours:
            continue
        known = ours + sorted(used(session) - set(ours))
        if value not in known:
            near = suggest(value, known)
            return f"unknown {name} {value!r}{near}; use one of: {', '.join(known)}"
    return None


def _used_tracks(session: Session) -> set[str]:
    stmt = select(col(ProposalRow.track)).where(public()).distinct()
    return {str(t) for t in session.execute(stmt).scalars()}


def _used_clients(session: Session) -> set[str]:
    """The clients public proposals name (their ``clients`` field, as the dashboard lists)."""
    found: set[str] = set()
    for data in session.execute(select(col(ProposalRow.data)).where(public())).scalars():
        value = repo.from_json(data).proposal.fields.get("clients")
        if isinstance(value, list | tuple):
            found.update(str(v) for v in value)
    return found


def api_routes(engine: Any, charter_of: Any, clock: Any, gov: Governance) -> list[Route]:
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

        def query() -> list[dict[str, Any]] | str:
            now, charter = clock.now(), charter_of()
            with read_scope(engine) as session:
                unknown = unknown_filter(session, charter, track=track or "", client="")
                if unknown is not None:
                    return unknown
                items = repo.listing(
                    session, states=states, track=track, include_confidential=False
                )
            return [summary_view(s, charter, now) for s in items]

        found = await asyncio.to_thread(query)
        if isinstance(found, str):
            return JSONResponse({"error": found}, 400)
        return JSONResponse({"proposals": found})

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
        *rollout_routes(gov, clock),
        Route("/api/openapi.json", openapi, methods=["GET"]),
    ]
