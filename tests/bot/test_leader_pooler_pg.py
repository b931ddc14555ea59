"""The scheduler lock behind a transaction-pooling proxy, simulated at the DB-API level: replicas'
leader connections whose transactions run on server sessions they share (a pool of one), or on
another server session each time. Whatever the pooler does, no two replicas lead at once, and
every replica ends up refusing leadership with what to do about it (:mod:`bot.leader`'s rules).
A real PgBouncer is in ``test_leader_pgbouncer_pg.py``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from bot.http import _readiness
from bot.leader import PostgresLeadership, lock_key
from storage import migrate
from storage.db import make_engine

pytestmark = pytest.mark.postgres


class Pooler:
    """A transaction-pooling proxy in front of ``servers`` real sessions. ``lifo`` hands out
    the server released last (PgBouncer's default); otherwise each transaction takes the next
    server in turn (``server_round_robin``, or a busy pool)."""

    def __init__(self, url: str, servers: int, *, lifo: bool) -> None:
        libpq = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
        self.servers = [psycopg.connect(libpq) for _ in range(servers)]
        self.free = list(self.servers)
        self.lifo = lifo
        self.turn = 0

    def take(self) -> psycopg.Connection[Any]:
        if self.lifo:
            return self.free.pop()
        self.turn += 1
        return self.servers[self.turn % len(self.servers)]

    def give_back(self, server: psycopg.Connection[Any]) -> None:
        if self.lifo:
            self.free.append(server)

    def engine(self) -> sa.Engine:
        """What a replica's leader connects through: each connection a client of this pool."""
        # No native hstore: looking its type up wants a real psycopg connection.
        return sa.create_engine(
            "postgresql+psycopg://",
            creator=lambda: Client(self),
            poolclass=NullPool,
            use_native_hstore=False,
        )

    def close(self) -> None:
        for server in self.servers:
            server.close()


class Client:
    """One client connection of the pooler: a transaction runs on the server it was given at
    its first statement; ending it (or closing the client) hands the server back, session and
    all (locks, settings) as the transaction left it."""

    def __init__(self, pooler: Pooler) -> None:
        self._pooler = pooler
        self._server: psycopg.Connection[Any] | None = None

    def _current(self) -> psycopg.Connection[Any]:
        if self._server is None:
            self._server = self._pooler.take()
        return self._server

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        return self._current().cursor(*args, **kwargs)

    def _end(self, how: str) -> None:
        server, self._server = self._server, None
        if server is not None:
            getattr(server, how)()
            self._pooler.give_back(server)

    def commit(self) -> None:
        self._end("commit")

    def rollback(self) -> None:
        self._end("rollback")

    def close(self) -> None:
        self._end("rollback")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server or self._pooler.servers[0], name)


# (servers, lifo): a pool of one; PgBouncer's default with spare servers; every transaction on
# another server (two and three of them: with two, a leader's second transaction comes back to
# the first's server, so only its later checks see the change).
POOLS = [(1, True), (3, True), (2, False), (3, False)]


@pytest.fixture(params=POOLS, ids=lambda p: f"{p[0]}-servers-{'lifo' if p[1] else 'rotating'}")
def pooler(request: pytest.FixtureRequest, pg_url: str) -> Iterator[Pooler]:
    servers, lifo = request.param
    pool = Pooler(pg_url, servers, lifo=lifo)
    yield pool
    pool.close()


def lock_holders(url: str) -> list[int]:
    """The server processes holding this schema's scheduler lock."""
    engine = make_engine(url)
    with engine.connect() as conn:
        key = lock_key(str(conn.execute(sa.text("SELECT current_schema()")).scalar()))
        pids = conn.execute(
            sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND objsubid = 1 AND classid::bigint = :high AND objid::bigint = :low"
            ),
            {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF},
        )
        held = list(pids.scalars())
    engine.dispose()
    return held


def test_replicas_behind_a_pooler_never_lead_together_and_all_refuse(
    pooler: Pooler, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Three replicas campaign (and leaders check) in turn through the pooler for five rounds:
    after every step at most one leads, and in the end none does, each saying why and what to
    do, logged once per replica however often it tries again."""
    engine = make_engine(pg_url)
    replicas = [PostgresLeadership(engine, sessions=pooler.engine()) for _ in range(3)]
    try:
        with caplog.at_level(logging.ERROR, logger="charterbot.leader"):
            for _ in range(5):
                for replica in replicas:
                    replica.try_acquire()
                    assert sum(r.is_leader for r in replicas) <= 1
        assert [r.is_leader for r in replicas] == [False] * 3
        for replica in replicas:
            assert "needs a PostgreSQL session of its own" in replica.why_not
            assert "Point CHARTERBOT_DATABASE_URL at PostgreSQL directly" in replica.why_not
            assert "session-mode pool" in replica.why_not
        assert len(caplog.records) == 3
    finally:
        for replica in replicas:
            replica.release()
        engine.dispose()


def test_a_refused_replica_shows_why_on_readyz(pg_url: str) -> None:
    """/readyz reports a refused replica as not leading, with the refusal as its note."""
    engine = make_engine(pg_url)
    migrate.upgrade(engine)
    pool = Pooler(pg_url, 1, lifo=True)
    leadership = PostgresLeadership(engine, sessions=pool.engine())
    try:
        assert not leadership.try_acquire()
        rt = SimpleNamespace(engine=engine, leadership=leadership, is_leader=False)
        checks = _readiness(rt)  # type: ignore[arg-type]
        assert checks["leader"] is False
        assert checks["leader_note"] == leadership.why_not
        assert "CHARTERBOT_DATABASE_URL" in checks["leader_note"]
    finally:
        leadership.release()
        pool.close()
        engine.dispose()


def test_a_leader_whose_session_changes_steps_down_and_frees_the_lock(pg_url: str) -> None:
    """Two servers in turn: the leader's proof and lock land on one server, its first check on
    the other. It steps down and refuses at that check, and unlocks as it goes (that unlock's
    transaction is back on the lock's server): a replica connected directly can then lead."""
    engine = make_engine(pg_url)
    pool = Pooler(pg_url, 2, lifo=False)
    behind = PostgresLeadership(engine, sessions=pool.engine())
    direct = PostgresLeadership(engine)
    try:
        assert behind.try_acquire()  # the second connection reached the other server
        assert lock_holders(pg_url) == [behind.backend_pid]
        assert not behind.try_acquire()  # the check lands on the other server
        assert "its server process was" in behind.why_not
        assert not behind.is_leader
        assert direct.try_acquire(), direct.why_not
        assert lock_holders(pg_url) == [direct.backend_pid]
    finally:
        behind.release()
        direct.release()
        pool.close()
        engine.dispose()


def test_a_dedicated_session_leads_and_keeps_leading(pg_url: str) -> None:
    """Connected directly, one replica leads and stays leader across its checks; the other
    waits without any refusal."""
    engine = make_engine(pg_url)
    first, second = PostgresLeadership(engine), PostgresLeadership(engine)
    try:
        assert first.try_acquire()
        for _ in range(3):
            assert first.try_acquire()
            assert not second.try_acquire()
        assert second.why_not == "another replica holds the scheduler lock"
        assert "session of its own" not in first.why_not + second.why_not
        assert lock_holders(pg_url) == [first.backend_pid]
    finally:
        first.release()
        second.release()
        engine.dispose()
