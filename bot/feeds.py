"""Public feeds: an Atom feed of announcements and a JSON status for status pages.

Rules:
- ``GET /feeds/announcements.atom`` lists the latest 100 announcements, newest first, as valid
  Atom (RFC 4287). Query parameters filter, each repeatable: ``kind``, ``track``, ``client``,
  ``severity``, ``proposal`` (``bot.feed_filters``: each checked against the running
  charter). An announcement of a confidential proposal is left out until it is disclosed, and so
  is one of a confidential incident (``storage.dashboard_queries.confidential_incidents``:
  it names, or holds or held paused, such a proposal): it appears once they are disclosed, as on
  the incident pages. A public rollout's announcement that quotes one ("incident 4 (sev1): …")
  says "a confidential incident" instead.
- ``GET /api/status`` answers JSON: open proposals, those in voting, those rolling out
  (accepted or rolling-out: an accepted proposal's rollout opens at acceptance, its first stage
  entered or not), and open
  incidents (when the incident table exists). Confidential, undisclosed proposals and
  confidential incidents are left out.
- The feed's id (and self link) is the configured public URL (``Settings.public_url``) of the
  feed plus its filters, sorted: the same filters give the same id whatever the Host header or
  the parameters' order; different filters give different ids.
- An entry's title is the e-mail's subject ("New proposal: <title>",
  ``bot.render.model.Notice.heading``), never the kind's slug.
- Entries are plain text: an agenda (markdown escaped for chat, ``charter.agenda.escape``) has
  its backslash escapes removed and its time said once; zero-width characters (put after ``@``
  so chat does not mention anyone) are removed from every title and text.
- Bad parameters (an unknown filter, or a kind, track, client or severity the charter does not
  name) get 400 with a sentence per problem saying what is accepted, and a "did you mean".
- The feed has no ``Last-Modified``: its body changes with no newer entry (an older entry made
  public by a disclosure; a quoted incident said "a confidential incident" once it becomes
  confidential), so no date says whether it changed, and a 304 by date would keep a reader on
  what may no longer be public. Readers poll it with the ETag every answer gets
  (``bot.http.ConditionalGet``), which sees every change; If-Modified-Since alone gets the
  whole feed.
- The application mounts :func:`routes` (they include the subscription confirm/unsubscribe
  pages).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import subscribe_routes
from bot.feed_filters import BadQuery, Filters, parse, wanted
from bot.github_web import GITHUB_WEB, repo_page
from bot.render.model import build_notice
from charter.incident_facts import Incident
from charter.model import Charter
from storage import incidents
from storage.dashboard_queries import confidential_incidents, hidden_numbers
from storage.db import read_scope
from storage.models.core import OutboxRow, ProposalRow
from storage.times import aware

ATOM = "http://www.w3.org/2005/Atom"
EngineProvider = Callable[[], Engine]
FEED_SIZE = 100
CONFIDENTIAL_INCIDENT = "a confidential incident"


def announcements(engine: Engine, f: Filters, charter: Charter) -> list[tuple[int, dict[str, Any]]]:
    """(outbox id, payload) of visible announcements matching ``f``, newest first."""
    with read_scope(engine) as session:
        shown = sa.select(col(ProposalRow.number)).where(col(ProposalRow.disclosed).is_(True))
        disclosed = {n for (n,) in session.execute(shown)}
        hidden = hidden_numbers(session)
        secret = confidential_incidents(session, hidden)
        quoted = [i for i in incidents.incidents(session) if i.id in secret]
        rows = session.exec(
            select(OutboxRow).where(OutboxRow.kind == "announce").order_by(col(OutboxRow.id).desc())
        )
        found = []
        for row in rows:
            p = json.loads(row.payload)
            if _withheld(p, disclosed, hidden, secret):
                continue
            if wanted(p, f, charter):
                found.append((row.id or 0, _unquoted(p, quoted)))
                if len(found) >= FEED_SIZE:
                    break
        return found


def _withheld(p: dict[str, Any], disclosed: set[int], hidden: set[int], secret: set[str]) -> bool:
    """Whether announcement ``p`` stays off the feed. One about a confidential incident
    (``secret``: the rule of the incident pages) does, even if said before it became one. A
    confidential one does while its proposal is undisclosed; one about no proposal (an incident
    or kill switch, confidential because it names one) while any proposal it names is
    ``hidden``, or when it names none (nothing can disclose it)."""
    data = p.get("data")
    data = data if isinstance(data, dict) else {}
    if str(data.get("incident")) in secret:
        return True
    if not p.get("confidential"):
        return False
    if p.get("proposal") is not None:
        return p.get("proposal") not in disclosed
    named = {
        n for key in ("proposals", "paused") for n in data.get(key) or () if isinstance(n, int)
    }
    return not named or bool(named & hidden)


def _unquoted(p: dict[str, Any], quoted: list[Incident]) -> dict[str, Any]:
    """``p`` with each of the ``quoted`` (confidential) incidents said as "a confidential
    incident": a public rollout's pause says "incident <id> (<severity>): <summary>"."""
    for key in ("title", "text"):
        text = str(p.get(key, ""))
        for i in quoted:
            said = rf"incident {re.escape(i.id)} \([^)\n]*\): {re.escape(i.summary)}"
            text = re.sub(said, CONFIDENTIAL_INCIDENT, text)
            if i.summary in text:  # worded otherwise: withhold the whole text
                text = f"Withheld: it concerns {CONFIDENTIAL_INCIDENT}."
        p = {**p, key: text}
    return p


def updated(items: list[tuple[int, dict[str, Any]]]) -> datetime | None:
    """The feed's ``<updated>`` when an entry gives it (the newest entry's time), else None."""
    at = items[0][1].get("at") if items else None
    return aware(datetime.fromisoformat(at)).astimezone(UTC) if isinstance(at, str) else None


# The <updated> of a feed with no entry (or of an entry without a time): nothing it says has
# ever changed. Not the time it is served, which would change its bytes, and so its ETag, on
# every poll.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(value: Any) -> str:
    at = datetime.fromisoformat(value) if isinstance(value, str) else NEVER
    return aware(at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_ESCAPED = re.compile(r"\\([\\`*_\[\]<>#|~])")  # charter.agenda.escape's backslash escapes
_SAME_TIME_TWICE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d UTC) \(\1\)")


def _is_markdown(p: dict[str, Any]) -> bool:
    """Whether the stored text is markdown escaped for chat (an agenda)."""
    data = p.get("data")
    return isinstance(data, dict) and bool(data.get("agenda"))


def plain(text: str, *, markdown: bool = False) -> str:
    """``text`` as plain text: no zero-width characters; markdown's backslash escapes undone
    and a time said twice ("16:00 UTC (16:00 UTC)", a call in UTC) said once."""
    if markdown:
        text = _SAME_TIME_TWICE.sub(r"\1", _ESCAPED.sub(r"\1", text))
    return _ZERO_WIDTH.sub("", text)


def _content(p: dict[str, Any]) -> str:
    """The announcement's text as plain text; a meeting's names no time (chat shows the start
    in each reader's zone), so the feed adds the start in UTC — but an agenda says it already."""
    markdown = _is_markdown(p)
    text = plain(str(p.get("text", "")), markdown=markdown)
    data = p.get("data")
    starts = (
        data.get("starts_at") if p.get("kind") == "meeting" and isinstance(data, dict) else None
    )
    if isinstance(starts, str) and not markdown:
        with contextlib.suppress(ValueError):  # not a time: the text alone
            text = f"{text} Starts {_iso(starts)}."
    return text


def feed_url(base: str, f: Filters) -> str:
    """The feed's URL under ``base`` with the filters ``f`` sorted (its id and self link)."""
    pairs = sorted((name, value) for name, values in f.items() for value in values)
    query = f"?{urlencode(pairs)}" if pairs else ""
    return f"{base.rstrip('/')}/feeds/announcements.atom{query}"


def atom(
    items: list[tuple[int, dict[str, Any]]],
    self_url: str,
    repo: str | None,
    github_web: str = GITHUB_WEB,
) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        el.text = text
        return el

    sub(feed, "id", self_url)
    sub(feed, "title", "charterbot announcements")
    sub(feed, "updated", _iso(items[0][1].get("at")) if items else _iso(None))
    sub(sub(feed, "author"), "name", "charterbot")
    sub(feed, "link", rel="self", href=self_url)
    for outbox_id, p in items:
        entry = sub(feed, "entry")
        sub(entry, "id", f"urn:charterbot:announcement:{outbox_id}")
        sub(entry, "title", plain(build_notice(p).heading))  # as e-mail's subject says it
        sub(entry, "updated", _iso(p.get("at")))
        number = p.get("proposal")
        href = repo_page(github_web, repo, f"/issues/{number}") if repo and number else self_url
        sub(entry, "link", rel="alternate", href=href)
        sub(entry, "category", term=str(p.get("kind")))
        sub(entry, "content", _content(p), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def status(engine: Engine, now: datetime) -> dict[str, Any]:
    with read_scope(engine) as session:
        rows = session.exec(select(ProposalRow).order_by(col(ProposalRow.number))).all()
        visible = [r for r in rows if not r.confidential or r.disclosed]
        secret = confidential_incidents(session)

        def pick(*states: str) -> list[dict[str, Any]]:
            return [
                {"number": r.number, "title": r.title, "track": r.track, "state": r.state}
                for r in visible
                if r.state in states
            ]

        result = {
            "generated_at": _rfc3339(now),
            "open_proposals": pick("draft", "review", "voting"),
            "in_voting": pick("voting"),
            # Accepted is rolling out too: its rollout opens at acceptance
            # (bot.rollout_lifecycle.on_state), its first stage entered or not (a gate may hold
            # it back), as the overview and the rollouts page say.
            "rolling_out": pick("accepted", "rolling-out"),
            "open_incidents": [
                {
                    "id": int(i.id),
                    "severity": i.severity,
                    "summary": i.summary,
                    "declared_at": _rfc3339(i.declared_at),
                }
                for i in incidents.incidents(session, open_only=True)
                if i.id not in secret
            ],
        }
    return result


def _rfc3339(at: datetime) -> str:
    """UTC with a ``Z``, as the rest of the read API writes times (bot.views)."""
    return aware(at).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _utcnow() -> datetime:
    return datetime.now(UTC)


def routes(
    engine_provider: EngineProvider,
    charter: Callable[[], Charter],
    repo: str | None = None,
    now: Callable[[], datetime] = _utcnow,
    public_url: str | None = None,
    github_web: str = GITHUB_WEB,
) -> list[Route]:
    """Feed, status and subscription pages; ``charter`` gives the running charter (the feed's
    filters are checked against it); ``repo`` makes entry links point at GitHub (at
    ``github_web``, :mod:`bot.github_web`);
    ``public_url`` (``Settings.public_url``) is where the feed is served (its id; without it,
    the request's base URL)."""

    async def feed(request: Request) -> Response:
        rules = charter()
        try:
            f = parse(request.query_params, rules)
        except BadQuery as exc:
            return PlainTextResponse(str(exc), status_code=400)
        items = await run_in_threadpool(announcements, engine_provider(), f, rules)
        base = public_url or str(request.base_url)
        body = atom(items, feed_url(base, f), repo, github_web)
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    async def api_status(_request: Request) -> JSONResponse:
        data = await run_in_threadpool(status, engine_provider(), now())
        return JSONResponse(data)

    return [
        Route("/feeds/announcements.atom", feed, methods=["GET"]),
        Route("/api/status", api_status, methods=["GET"]),
        *subscribe_routes.routes(engine_provider, now),
    ]
