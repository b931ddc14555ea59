"""The public audit export (``GET /audit/export.jsonl``) and its verifier's source.

Rules:
- The export is the audit log as JSON Lines in seq order, in ``charterbot audit export``'s
  format (``storage.audit.export``, byte for byte when nothing is withheld): one ``{"seq", "hash",
  "prev", "canonical"}`` per entry. An entry the dashboard withholds (``bot.web.queries.withheld``:
  it names a confidential proposal not yet disclosed, a number no proposal has, or what names one)
  is ``{"seq", "hash", "prev", "withheld": true}``: its place and hashes, none of its text.
  ``storage.verify_export`` checks such an entry by its links (see its rules). Its hash does not
  confirm a guessed text: the hashed payload holds a random salt (storage.canonical).
- It is cut at the head read when the request comes: ``X-Audit-Head: SEQ:HEX`` (absent while
  the log is empty), and no entry after it. The head and what is withheld are read in one
  ``read_scope``; the entries then in pages of :data:`PAGE` by seq (``seq BETWEEN last + 1 AND
  head``), each page in a ``read_scope`` of its own. That is what one snapshot would give —
  entries up to the head never change (the table is append-only; the database refuses UPDATE
  and DELETE) and what is withheld was decided with the head — without holding a snapshot open
  for a slow download (on SQLite the WAL could not be checkpointed past it; on PostgreSQL it
  would hold back vacuum). Memory: one page at a time. Reads never take the write lock.
- ``?from=SEQ`` starts at entry SEQ (to fetch only what is new since a head you checked: its
  first line's prev is that head's hash; ``verify_export.py FILE --after SEQ-1:HEX``). A
  ``from`` past the head answers an empty file; one that is not a positive entry number 400.
- ``Content-Type: application/jsonl``: the format is JSON Lines (``.jsonl``, the name the
  export has always had) and that is the type its specification suggests; ``x-ndjson`` is an
  ``x-`` name for the same lines under another format's name. No charset parameter: JSON text
  is UTF-8 (RFC 8259). ``Content-Disposition`` names the file
  ``audit.jsonl`` (``audit-from-SEQ.jsonl``), the name the verifying commands use.
- HEAD answers the same headers without reading any entry. ``Cache-Control: no-store``: the
  answer changes with every decision and with every disclosure.
- ``GET /audit/verify_export.py`` serves ``storage/verify_export.py`` itself (standard library
  only; it runs from that single file), so no one needs the repository to check the export.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from bot.web.queries import withheld
from storage import audit, dashboard_queries, verify_export
from storage.dashboard_queries import Secrets, positive_id
from storage.db import read_scope
from storage.models.audit import AuditEntry

if TYPE_CHECKING:
    from bot.web.queries import RuntimeLike as Runtime

PAGE = 1000
MEDIA_TYPE = "application/jsonl"
_TABLE = AuditEntry.__table__  # type: ignore[attr-defined]
_SEQ = _TABLE.c.seq
_LINE = (_SEQ, _TABLE.c.hash, _TABLE.c.prev_hash, _TABLE.c.canonical)
_JUDGED = (_TABLE.c.subject, _TABLE.c.payload)  # what withheld() reads


@dataclass(frozen=True)
class Cut:
    """Where an export ends (the head, None for an empty log) and what it withholds."""

    head: tuple[int, str] | None
    secret: Secrets

    @classmethod
    def read(cls, engine: Engine) -> Cut:
        with read_scope(engine) as session:
            return cls(audit.head(session), dashboard_queries.secrets(session))

    @property
    def hides(self) -> bool:
        # Any entry may name a number no proposal has (withheld too): judged whenever known.
        secret = self.secret
        return secret.known is not None or bool(
            secret.proposals or secret.incidents or secret.meetings
        )


def line(row: Any, hidden: bool) -> str:
    """One export line (``storage.audit.export``'s, or the withheld form)."""
    fields: dict[str, Any] = {"seq": row.seq, "hash": row.hash, "prev": row.prev_hash}
    if hidden:
        fields["withheld"] = True
    else:
        fields["canonical"] = row.canonical
    return json.dumps(fields, ensure_ascii=False) + "\n"


def pages(engine: Engine, cut: Cut, start: int, size: int = PAGE) -> Iterator[bytes]:
    """Entries ``start`` … the cut's head as export lines, one page of ``size`` per chunk."""
    if cut.head is None:
        return
    top, last = cut.head[0], start - 1
    columns = (*_LINE, *_JUDGED) if cut.hides else _LINE
    while last < top:
        stmt = select(*columns).where(_SEQ.between(last + 1, top)).order_by(_SEQ).limit(size)
        with read_scope(engine) as session:
            rows = session.execute(stmt).all()
        if not rows:
            return
        yield "".join(line(r, cut.hides and withheld(r, cut.secret)) for r in rows).encode()
        last = rows[-1].seq


@cache
def verifier_source() -> bytes:
    return Path(verify_export.__file__).read_bytes()


def routes(rt: Runtime) -> list[BaseRoute]:
    async def export(request: Request) -> Response:
        raw = request.query_params.get("from")
        start = 1 if raw is None else positive_id(raw)
        if start is None:
            return PlainTextResponse(
                "from must be the number of an audit entry: 1, 2, 3, …", status_code=400
            )
        engine = rt.gov.engine
        cut = await run_in_threadpool(Cut.read, engine)
        name = "audit.jsonl" if start == 1 else f"audit-from-{start}.jsonl"
        headers = {
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
        if cut.head is not None:
            headers["X-Audit-Head"] = f"{cut.head[0]}:{cut.head[1]}"
        body: Iterator[bytes] = iter([])
        if request.method != "HEAD":  # HEAD: the headers only, no entry read
            body = pages(engine, cut, start, PAGE)
        return StreamingResponse(body, media_type=MEDIA_TYPE, headers=headers)

    async def verifier(request: Request) -> Response:
        source = await run_in_threadpool(verifier_source)
        headers = {
            "Content-Disposition": 'attachment; filename="verify_export.py"',
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        return Response(source, media_type="text/x-python; charset=utf-8", headers=headers)

    return [
        Route("/audit/export.jsonl", export, methods=["GET"]),
        Route("/audit/verify_export.py", verifier, methods=["GET"]),
    ]
