"""Leadership: exactly one process per database runs timers, the inbox worker and the relay.

- PostgreSQL: a session-level advisory lock held on a dedicated connection. Standbys retry every
  ``poll`` seconds; when the leader dies its session ends, the lock is released by the server and
  a standby takes over at its next try (well within 15 s with the default 5 s poll). The leader
  checks its connection every ``check`` seconds (1 s) and steps down if it is lost.
- The dedicated connection never comes from (or goes back to) the pool: a pooled connection
  returned while holding the lock would keep it forever. It is named ``charterbot-leader`` in
  ``pg_stat_activity`` and uses TCP keepalives on both ends (and ``tcp_user_timeout``), so a
  leader whose host vanishes without closing its socket loses the lock in about 8 s, not after
  the operating system's default two hours.
- Leadership narrows who does the work; it is not what makes timers exactly-once. Between a
  leader's death and its own next check two replicas may briefly both believe they lead, so
  every timer is also claimed by a UNIQUE row in the transaction that fires it
  (:func:`storage.meetings.claim_timer`).
- The lock names the schema the bot's tables are in (``current_schema()``): replicas of one
  deployment contend for it, while deployments (or test runs) in other schemas of the same
  database lead on their own. The default ``public`` schema keeps the constant key earlier
  versions used, so a rolling upgrade never has two leaders there. In another schema, a
  rolling upgrade from a version before per-schema keys has two leaders until the old
  replicas stop; nothing fires twice (the UNIQUE timer rows below), and locking the old key
  too would make one deployment in ``public`` stop every other schema's from leading.
- SQLite: an exclusive ``flock`` on ``<database>.lock`` next to the database file. A second
  process cannot take it and says so: it serves HTTP but does not run timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

log = logging.getLogger("charterbot.leader")

# Arbitrary constant that names "the charterbot scheduler" among advisory locks.
LEADER_LOCK_KEY = 0x43484152544552  # "CHARTER"


def lock_key(schema: str) -> int:
    """The advisory lock of the scheduler of the deployment whose tables are in ``schema``
    (a signed 64-bit key, as PostgreSQL's bigint takes it)."""
    if schema == "public":
        return LEADER_LOCK_KEY
    digest = hashlib.sha256(f"charterbot scheduler:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...
    @property
    def why_not(self) -> str: ...
    def try_acquire(self) -> bool: ...
    def release(self) -> None: ...


# libpq: detect a dead server within ~8 s; the SETs make the server detect a dead leader as fast.
_KEEPALIVE = {"keepalives": 1, "keepalives_idle": 3, "keepalives_interval": 1,
              "keepalives_count": 3, "tcp_user_timeout": 8000, "connect_timeout": 5,
              "application_name": "charterbot-leader"}  # fmt: skip
_SESSION = (
    "SET tcp_keepalives_idle = 3",
    "SET tcp_keepalives_interval = 1",
    "SET tcp_keepalives_count = 3",
    "SET tcp_user_timeout = 8000",
    "SET idle_session_timeout = 0",
)


class PostgresLeadership:
    def __init__(self, engine: Engine) -> None:
        # Its own engine without a pool: closing the connection really ends the session.
        self._engine = sa.create_engine(engine.url, poolclass=NullPool, connect_args=_KEEPALIVE)
        self._conn: Connection | None = None
        self._key = LEADER_LOCK_KEY  # this schema's, once connected (lock_key)
        self.backend_pid: int | None = None
        self.why_not = "not tried yet"

    @property
    def is_leader(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            if self._alive():
                return True
            self._drop()
        conn: Connection | None = None
        try:
            conn = self._engine.connect()
            for statement in _SESSION:
                conn.execute(sa.text(statement))
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
            self._key = lock_key(str(schema or "public"))
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})
            if got.scalar():
                self.backend_pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
                conn.commit()
                self._conn = conn
                self.why_not = ""
                return True
            conn.close()
            self.why_not = "another replica holds the scheduler lock"
        except Exception as exc:  # database down: not leader, try again later
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            self.why_not = f"could not reach the database: {exc}"
        return False

    def _alive(self) -> bool:
        assert self._conn is not None
        try:
            self._conn.execute(sa.text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception:
            log.warning("leader connection lost; stepping down")
            return False

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.backend_pid = None
        if conn is not None:
            try:
                conn.invalidate()  # close the socket itself: the session (and lock) must end
                conn.close()
            except Exception:
                log.debug("closing a broken leader connection failed", exc_info=True)

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                self._conn.commit()
            except Exception:  # the session is gone, and the lock with it
                log.debug("unlocking on a broken leader connection failed", exc_info=True)
            finally:
                self._drop()
        self._engine.dispose()


class FileLeadership:
    """SQLite: one process per database file holds ``<file>.lock``."""

    def __init__(self, db_path: Path) -> None:
        self._path = Path(f"{db_path}.lock")
        self._fd: int | None = None
        self.why_not = "not tried yet"

    @property
    def is_leader(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            self.why_not = (
                f"another charterbot process (pid {holder}) runs the scheduler on this SQLite "
                f"database ({self._path.name}); SQLite allows one. Use PostgreSQL for replicas."
            )
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        self.why_not = ""
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class AlwaysLeader:
    """In-memory databases (tests, demos): this process is the only one."""

    is_leader = True
    why_not = ""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


def leadership_for(engine: Engine) -> Leadership:
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresLeadership(engine)
    database = url.database
    if not database or database == ":memory:":
        return AlwaysLeader()
    return FileLeadership(Path(database).resolve())


async def campaign(
    leadership: Leadership,
    on_change: Callable[[bool], None],
    *,
    poll: float = 5.0,
    check: float = 1.0,
    stop: asyncio.Event,
) -> None:
    """Try to become leader every ``poll`` seconds, and while leader check every ``check``
    seconds that the lock is still held, until ``stop`` is set or the task is cancelled; either
    way it releases leadership before it returns."""
    was = False
    told = False
    trying: asyncio.Future[bool] | None = None
    try:
        while not stop.is_set():
            trying = asyncio.ensure_future(asyncio.to_thread(leadership.try_acquire))
            now_leader = await asyncio.shield(trying)
            if now_leader != was:
                log.info("leadership %s", "acquired" if now_leader else "lost")
                on_change(now_leader)
                was = now_leader
            if not now_leader and not told:
                log.warning("not running timers: %s", leadership.why_not)
                told = True
            with contextlib.suppress(TimeoutError):
                wait = min(poll, check) if now_leader else poll
                await asyncio.wait_for(stop.wait(), timeout=wait)
    finally:
        # Cancelled too: a standby takes over at its next try, not when this process exits. A
        # try still running in its thread is let finish first, or it could take the lock after
        # the release and hold it on a connection nobody closes.
        if trying is not None and not trying.done():
            with contextlib.suppress(Exception):
                await trying
        await asyncio.to_thread(leadership.release)
