"""A rollout announcement about one client reaches that client's filters only, in the Atom feed
(``bot.feed_filters``) and in subscriptions (``charter.subscriptions`` reading the payload the
relay fans out, ``bot.relay_fanout.announcement``) alike; one about every client reaches all.
On the demo campaign (#1 on canary, eridanus still on it)."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import httpx
from sqlmodel import col, select

from bot.relay_fanout import announcement
from bot.runtime import Runtime
from charter.subscriptions import Subscription, matches
from storage.db import read_scope
from storage.models.core import OutboxRow
from tests.bot.web.test_api_rollouts import run

A = "{http://www.w3.org/2005/Atom}"
DRILL = "Rollout: #1 rollback drill: eridanus on canary — pass"


async def _titles(client: httpx.AsyncClient, who: str) -> list[str]:
    answer = await client.get("/feeds/announcements.atom", params={"client": who})
    assert answer.status_code == 200, answer.text
    return [e.findtext(f"{A}title") or "" for e in ET.fromstring(answer.content).iter(f"{A}entry")]


async def test_one_client_s_drill_reaches_only_that_client_s_filters(
    client: httpx.AsyncClient, seeded: Runtime
) -> None:
    run(seeded, "hana-eridanus", "drill 1 eridanus canary recovered 12m rehearsed")
    assert DRILL in await _titles(client, "eridanus")
    assert DRILL not in await _titles(client, "aurora")
    with read_scope(seeded.engine) as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "announce")).all()
        payloads = [json.loads(r.payload) for r in rows]
    payload = next(p for p in payloads if f"Rollout: {p['title']}" == DRILL)
    said = announcement(payload)
    charter = seeded.gov.charter
    for who, wanted in (("eridanus", True), ("aurora", False)):
        sub = Subscription(1, "webhook", "https://x.test/h", clients=(who,))
        assert matches(sub, said, charter) is wanted, who


async def test_what_concerns_every_client_reaches_every_client_s_filters(
    client: httpx.AsyncClient, seeded: Runtime
) -> None:
    run(seeded, "ines-coord", 'rollout pause 1 "hold on"')
    for who in ("aurora", "eridanus"):
        assert "Rollout: #1 rollout paused" in await _titles(client, who), who
    with read_scope(seeded.engine) as session:
        newest = session.exec(
            select(OutboxRow).where(OutboxRow.kind == "announce").order_by(col(OutboxRow.id).desc())
        ).first()
        assert newest is not None
        clients = json.loads(newest.payload)["clients"]
    assert len(clients) == 5
