"""`subscribe email` keeps the address as typed but for the domain's case; `lang` must name a
language the bot has texts in.

Rules proven here:
- The local part of an e-mail address is kept as typed (RFC 5321: it may be case-sensitive),
  the domain lower-cased; the subscription, its listing and the confirmation mail use it.
- An address in any case is one target: a row stored before (lower-cased whole) is found by
  `subscribe` (no duplicate), by the one-click unsubscribe and by the opt-in state.
- `lang` of a language without texts is refused with those there are, as every unknown filter
  is, and nothing is stored; a regional code (``es-MX``) is its language.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.messages import Actor, Message, plain_text
from bot.subscribe import Context, Origin, handle
from charter.commands import Subscribe, Subscriptions, Unsubscribe
from charter.grammar import parse_chat
from storage import subscriptions as repo
from storage.db import session_scope
from storage.models.broadcast import SubscriptionRow
from storage.models.core import OutboxRow
from tests.bot.broadcast.support import NOW, charter

CHARTER = charter()
ALICE = Actor("alice-aurora", "slack", "U1ALICE", "Alice")
CHANNEL = Origin("slack", "C0CHAN")


def _run(engine: Engine, text: str, origin: Origin | None = CHANNEL) -> Message:
    command = parse_chat(text)
    assert isinstance(command, Subscribe | Unsubscribe | Subscriptions), command
    with session_scope(engine) as session:
        return handle(command, Context(session, CHARTER, ALICE, NOW, origin, "https://bot.example"))


def _stored(engine: Engine) -> list[tuple[str, str | None]]:
    with session_scope(engine) as session:
        rows = session.exec(select(SubscriptionRow).order_by(col(SubscriptionRow.id))).all()
        return [(r.address, r.lang) for r in rows]


def test_the_local_part_is_kept_as_typed(sqlite_engine: Engine) -> None:
    reply = plain_text(_run(sqlite_engine, "subscribe email Bob@Example.ORG decision"))
    assert "Subscribed (#1 email:Bob@example.org — decision)." in reply, reply
    assert "Check Bob@example.org for a confirmation link" in reply
    assert _stored(sqlite_engine) == [("Bob@example.org", None)]
    with session_scope(sqlite_engine) as session:
        mail = session.exec(select(OutboxRow).where(OutboxRow.kind == "confirm-email")).one()
        assert json.loads(mail.payload)["destination"]["address"] == "Bob@example.org"


def _old_row(engine: Engine, address: str = "bob@example.org") -> None:
    """A subscription as stored before addresses kept their case: lower-cased whole."""
    with session_scope(engine) as session:
        filters = json.dumps({"kinds": ["decision"]}, separators=(",", ":"))
        session.add(
            SubscriptionRow(
                platform="email", address=address, owner="slack:U1ALICE", filters=filters,
                created_at=NOW,
            )
        )  # fmt: skip


def test_an_address_in_any_case_is_one_target(sqlite_engine: Engine) -> None:
    _old_row(sqlite_engine)
    again = plain_text(_run(sqlite_engine, "subscribe email Bob@Example.ORG decision"))
    assert again.startswith("Already subscribed (#1 email:bob@example.org — decision)."), again
    _run(sqlite_engine, "subscribe email Bob@Example.ORG vote")
    assert _stored(sqlite_engine) == [("bob@example.org", None), ("Bob@example.org", None)]
    later = datetime(2026, 3, 3, tzinfo=NOW.tzinfo)
    with session_scope(sqlite_engine) as session:
        assert [r.id for r in repo.of_target(session, "email", "BOB@EXAMPLE.org")] == [1, 2]
        repo.confirm_optin(session, "bob@example.org", NOW)
        assert [s.confirmed for s in repo.active(session)] == [True, True]
        assert repo.unsubscribe_address(session, "Bob@example.org", later) == 2
    assert _stored(sqlite_engine) == []


@pytest.mark.parametrize(
    ("text", "says", "stored"),
    [
        ("subscribe here lang xx", ["Unknown language xx; choose from en, es."], []),
        (
            "subscribe here track nope lang zz-ZZ",
            ["Unknown track nope;", "Unknown language zz-ZZ; choose from en, es."],
            [],
        ),
        ("subscribe here lang es-MX", ["Suscrito"], [("C0CHAN", "es")]),
        ("subscribe here lang EN_gb", ["Subscribed"], [("C0CHAN", "en")]),
    ],
)
def test_a_language_without_texts_is_refused(
    sqlite_engine: Engine, text: str, says: list[str], stored: list[tuple[str, str]]
) -> None:
    reply = _run(sqlite_engine, text)
    assert reply.ok is bool(stored)
    assert all(part in plain_text(reply) for part in says), plain_text(reply)
    assert _stored(sqlite_engine) == stored
