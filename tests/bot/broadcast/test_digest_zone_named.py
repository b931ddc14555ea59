"""A digest's time is in the charter's zone (the subscription's own ``zone`` would win, but no
command sets one): every reply that shows the time names the zone, so "06:42" is not read in
the reader's own."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.messages import Actor, Message, plain_text
from bot.subscribe import Context, Origin, handle
from charter.commands import Subscribe, Subscriptions, Unsubscribe
from charter.grammar import parse_chat
from storage.db import session_scope
from tests.bot.broadcast.support import NOW, charter

BASE = charter()
ALICE = Actor("alice-aurora", "slack", "U1ALICE", "Alice")


def _run(engine: Engine, text: str, zone: str) -> Message:
    meta = BASE.charter.model_copy(update={"timezone": zone})
    zoned = BASE.model_copy(update={"charter": meta})
    command = parse_chat(text)
    assert isinstance(command, Subscribe | Unsubscribe | Subscriptions), command
    with session_scope(engine) as session:
        context = Context(
            session, zoned, ALICE, NOW, Origin("slack", "C0CHAN"), "https://b.example"
        )
        return handle(command, context)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC"])
def test_every_reply_showing_a_digest_time_names_its_zone(sqlite_engine: Engine, zone: str) -> None:
    said = f"daily digest at 06:42 {zone}"
    assert said in plain_text(_run(sqlite_engine, "subscribe digest daily 06:42", zone))
    assert said in plain_text(_run(sqlite_engine, "subscriptions", zone))
    assert said in plain_text(_run(sqlite_engine, "unsubscribe 1", zone))
