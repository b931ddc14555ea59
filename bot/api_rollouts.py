"""The read API's rollouts: a listing and each rollout's view, as JSON.

Rules (the proposals API's and the dashboard's):
- The API is public. A rollout is shown only while its proposal is: not confidential, or
  disclosed. A hidden one is left out of the listing, and its number answers the 404 of a
  number that has no rollout, word for word.
- A rollout's view is the dashboard's (``bot.rollout_reads.view_of``: the client × stage matrix
  with versions, refs, checks, drills and planned drills; the next stage's gates, each with its
  reason; pauses, overrides, rollbacks), with confidential incidents redacted as the dashboard
  redacts them (``bot.rollout_public.redact_rollout``).
- A rollout number is ASCII digits, 1 … 2**63-1 (``storage.dashboard_queries.positive_id``);
  anything else is a 400, as for a proposal.
- The listing holds every public rollout: unfinished ones first (not completed), then newest
  proposal first (``storage.dashboard_rollouts.rollout_page``).
- A rollout's answer holds its listing entry, every field under the same name (``number``,
  ``state``, ``clients`` as ``[{client, stage}]``…), and then the view's detail: one rollout
  reads the same in both answers.
"""

from __future__ import annotations

import asyncio
from typing import Any, get_args

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot import rollout_reads
from bot.api_schema import (
    BOOL,
    ERROR,
    INT,
    STATE,
    STR,
    TIME,
    array,
    json_body,
    nullable,
    number_parameter,
    obj,
)
from bot.rollout_public import redact_rollout
from bot.rollout_views import is_final
from bot.service import Governance
from charter.drills import Outcome
from charter.model import Charter
from charter.proposal import rules_for
from charter.rollout_facts import Rollout
from storage import (
    dashboard_queries as q,
    dashboard_rollouts as rq,
    proposals as repo,
    rollouts as rollout_store,
)
from storage.db import read_scope

# -- the document --------------------------------------------------------------------------

_STAGE = STR  # a stage id of the running charter, or "pending" before the first stage
_ENTRY = obj(
    number=INT,
    title=STR,
    state=STATE,  # the proposal's
    stage=_STAGE,
    final=BOOL,  # completed, or ended by its proposal's state (rolled back from every stage)
    paused=BOOL,
    clients=array(obj(client=STR, stage=nullable(STR))),  # null: on no stage yet
)
_DRILL = obj(
    outcome={"type": "string", "enum": list(get_args(Outcome))},
    recovered=nullable(INT),  # seconds; null: it did not recover
    took=nullable(STR),
    recovery=STR,
    limit=nullable(STR),
    release=STR,
    notes=STR,
    by=STR,
    at=TIME,
    counts=BOOL,
    stale=nullable(STR),  # why it no longer counts
    why=STR,  # what its cell shows under the score ("" for a pass)
)
_CELL = obj(
    client=STR,
    stage=STR,
    version=nullable(STR),
    ref=nullable(STR),
    reported_at=nullable(TIME),
    on=BOOL,
    checks=array(obj(name=STR, status=STR)),
    drill=nullable(_DRILL),
    planned_drill=nullable(obj(at=TIME, by=STR)),
)
_ROLLOUT = obj(
    **_ENTRY["properties"],  # the listing's entry, under the same names, then its detail
    next_stage=nullable(STR),  # null once the last stage is reached or the rollout is final
    stages=array(STR),
    started_at=TIME,
    completed_at=nullable(TIME),
    stage_entered_at={"type": "object", "additionalProperties": nullable(TIME)},
    pause_reason=STR,
    confidential=BOOL,
    matrix=array(_CELL),
    gates=array(obj(gate=STR, passed=BOOL, reason=STR)),  # the next stage's
    can_advance=BOOL,
    overrides=array(obj(stage=STR, reason=STR, by=STR, at=TIME, gates=array(STR))),
    rollbacks=array(obj(clients=array(STR), reason=STR, by=STR, at=TIME)),
)

ROLLOUT_PATHS: dict[str, Any] = {
    "/api/rollouts": {
        "get": {
            "summary": "List rollouts (unfinished first, then newest): each proposal's stage, "
            "every client's stage and whether it is paused; confidential ones only once "
            "disclosed.",
            "responses": {"200": json_body("rollouts", obj(rollouts=array(_ENTRY)))},
        }
    },
    "/api/rollouts/{number}": {
        "get": {
            "summary": "One proposal's rollout: the client × stage matrix (versions, refs, "
            "checks, drills, planned drills), the next stage's gates with their reasons, "
            "pauses, overrides and rollbacks.",
            "parameters": [number_parameter()],
            "responses": {
                "200": json_body("the rollout", _ROLLOUT),
                "400": json_body(
                    "the number is not a positive integer (ASCII digits, at most 2**63-1)", ERROR
                ),
                "404": json_body("no such (public) rollout", ERROR),
            },
        }
    },
}

# -- the answers ---------------------------------------------------------------------------


def _stage_of(rollout: Rollout, client: str, charter: Charter) -> str | None:
    at = rollout.position(client)
    return charter.stage_ids[at] if 0 <= at < len(charter.stage_ids) else None


def entry(stored: repo.Stored, rollout: Rollout, charter: Charter) -> dict[str, Any]:
    """A listing entry: the proposal, the rollout's stage, each client's, paused or not."""
    state = stored.proposal.state.value
    return {
        "number": rollout.proposal,
        "title": stored.proposal.title,
        "state": state,
        "stage": rollout.stage_name(charter),
        "final": is_final(rollout, state),
        "paused": rollout.paused,
        "clients": [
            {"client": client, "stage": _stage_of(rollout, client, charter)}
            for client in rollout.clients
        ],
    }


# The dashboard view's names for what the listing entry says (bot.rollout_reads.view_of).
_VIEW_ONLY = ("proposal", "proposal_state", "clients")


def detail(listed: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """A rollout's answer: its listing entry, then the view's detail (the view's own names
    for what the entry says are dropped, so each field has one name in the API)."""
    return {**listed, **{k: v for k, v in view.items() if k not in _VIEW_ONLY and k not in listed}}


def _public(session: Session, stored: repo.Stored, charter: Charter) -> bool:
    """Whether the public may see ``stored`` (and so its rollout): by its track under the
    charter it was opened under, as the proposals API judges, and by its stored flag, as the
    rollouts page and the listing judge."""
    track = rules_for(stored.proposal, charter).tracks.get(stored.proposal.track)
    if track is not None and track.confidential and not stored.disclosed:
        return False
    return not q.hidden_among(session, [stored.proposal.number])


def rollout_routes(gov: Governance, clock: Any) -> list[Route]:
    async def listing(request: Request) -> JSONResponse:
        def query() -> list[dict[str, Any]]:
            charter = gov.charter
            with read_scope(gov.engine) as session:
                rollouts, _ = rq.rollout_page(session, charter, offset=0, limit=q.MAX_ID)
                found = q.headers(session, [r.proposal for r in rollouts])
            return [entry(found[r.proposal], r, charter) for r in rollouts if r.proposal in found]

        return JSONResponse({"rollouts": await asyncio.to_thread(query)})

    async def one(request: Request) -> JSONResponse:
        raw = request.path_params["number"]
        number = q.positive_id(raw)
        if number is None:
            error = f"rollout number must be a positive integer up to {q.MAX_ID}"
            return JSONResponse({"error": error}, 400)

        def query() -> dict[str, Any] | None:
            charter, now = gov.charter, clock.now()
            with read_scope(gov.engine) as session:
                stored = repo.load(session, number)
                if stored is None or not _public(session, stored, charter):
                    return None
                rollout = rollout_store.load_rollout(session, number, charter)
                if rollout is None:
                    return None
                view = rollout_reads.view_of(gov, session, stored, rollout, now)
                secret = q.confidential_incidents(session)
            return detail(
                entry(stored, rollout, charter), redact_rollout(view, rollout.pauses, secret)
            )

        view = await asyncio.to_thread(query)
        if view is None:
            return JSONResponse({"error": f"no rollout #{raw}"}, 404)
        return JSONResponse(view)

    return [
        Route("/api/rollouts", listing, methods=["GET"]),
        Route("/api/rollouts/{number}", one, methods=["GET"]),
    ]
