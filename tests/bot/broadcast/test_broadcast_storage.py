"""Delivery bookkeeping on both databases: idempotent fan-out, claim, record, reconcile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from charter.subscriptions import Destination
from storage import deliveries, subscriptions as repo
from storage.db import session_scope
from tests.bot.broadcast.support import NOW, announce, enqueue

DESTS = [Destination("slack", "CA"), Destination("discord", "D1"), Destination("slack", "CB")]


def test_fan_out_is_idempotent_and_reconcile_follows_message_ids(engine: Engine) -> None:
    """A second fan-out adds nothing; after a crash, `sending` rows with an id are sent and
    rows without one are pending again; claims never return a row twice."""
    enqueue(engine, announce("decision"))
    with session_scope(engine) as session:
        assert deliveries.fan_out(session, 1, DESTS, NOW) == 3
        assert deliveries.fan_out(session, 1, DESTS, NOW) == 0
    with session_scope(engine) as session:
        jobs = deliveries.claim(session, NOW, per_destination=1)
        assert [j.destination for j in jobs] == ["slack:CA", "discord:D1", "slack:CB"]
        assert deliveries.claim(session, NOW) == []
        deliveries.record_id(session, jobs[0].id, "C/1.0")
    with session_scope(engine) as session:
        assert deliveries.reconcile(session, NOW) == (1, 2)
        statuses = {r.destination: r.status for r in deliveries.listing(session, include_sent=True)}
    assert statuses == {"slack:CA": "sent", "discord:D1": "pending", "slack:CB": "pending"}


def test_retries_back_off_and_rate_limits_keep_attempts(engine: Engine) -> None:
    """A transient error uses an attempt and waits; a 429 waits Retry-After without one."""
    enqueue(engine, announce("decision"))
    with session_scope(engine) as session:
        deliveries.fan_out(session, 1, DESTS[:1], NOW)
        (job,) = deliveries.claim(session, NOW)
        deliveries.mark_retry(session, job.id, NOW, "slack: 429", 7.0, rate_limited=True)
        (row,) = deliveries.listing(session)
        assert (row.attempts, row.next_attempt_at is not None) == (0, True)
    with session_scope(engine) as session:
        assert deliveries.claim(session, NOW + timedelta(seconds=6)) == []
        (job,) = deliveries.claim(session, NOW + timedelta(seconds=7))
        deliveries.mark_retry(session, job.id, NOW, "HTTP 500")
        (row,) = deliveries.listing(session)
        assert (row.status, row.attempts) == ("pending", 1)


def test_email_subscriptions_wait_for_opt_in(engine: Engine) -> None:
    """An e-mail subscription is inactive until confirmed, and unsubscribing removes it; its
    address keeps the local part's case, and compares in any case."""
    new = repo.NewSubscription("email", "Ops@X.org", "slack:U1", {"kinds": ["decision"]})
    with session_scope(engine) as session:
        repo.add(session, new, NOW)
        assert repo.request_optin(session, "ops@x.org", NOW)
        assert [s.confirmed for s in repo.active(session)] == [False]
        repo.confirm_optin(session, "OPS@x.org", NOW)
        assert [(s.address, s.confirmed) for s in repo.active(session)] == [("Ops@x.org", True)]
        assert repo.unsubscribe_address(session, "ops@x.org", NOW) == 1
        assert repo.active(session) == []


@pytest.mark.postgres
def test_two_claims_at_once_never_share_a_row(pg_engine: Engine) -> None:
    """Two relays claiming concurrently (neither committed yet) get disjoint deliveries."""
    enqueue(pg_engine, announce("decision"))
    with session_scope(pg_engine) as session:
        deliveries.fan_out(session, 1, DESTS, NOW)
    with Session(pg_engine) as first, Session(pg_engine) as second:
        a = deliveries.claim(first, NOW, limit=2)
        b = deliveries.claim(second, NOW)  # does not wait for, nor take, what the first holds
        first.commit()
        second.commit()
    assert [j.destination for j in a] == ["slack:CA", "discord:D1"]
    assert [j.destination for j in b] == ["slack:CB"]
