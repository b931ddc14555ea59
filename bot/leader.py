"""Leadership: exactly one process per database runs timers, the inbox worker and the relay.

- PostgreSQL: a session-level advisory lock held on a dedicated connection. Standbys retry every
  ``poll`` seconds; when the leader dies its session ends, the lock is released by the server and
  a standby takes over at its next try (well within 15 s with the default 5 s poll). The leader
  checks its connection on every poll and steps down if it is lost.
- SQLite: an exclusive ``flock`` on ``<database>.lock`` next to the database file. A second
  process cannot take it and says so: it serves HTTP but does not run timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("charterbot.leader")

# Arbitrary constant that names "the charterbot scheduler" among advisory locks.
LEADER_LOCK_KEY = 0x43484152544552  # "CHARTER"


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...
    @property
    def why_not(self) -> str: ...
    def try_acquire(self) -> bool: ...
    def release(self) -> None: ...


class PostgresLeadership:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self.why_not = "not tried yet"

    @property
    def is_leader(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            if self._alive():
                return True
            self._drop()
        conn = self._engine.connect()
        try:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY})
            if got.scalar():
                conn.commit()
                self._conn = conn
                self.why_not = ""
                return True
            conn.close()
            self.why_not = "another replica holds the scheduler lock"
        except Exception as exc:  # database down: not leader, try again later
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
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing a broken leader connection failed", exc_info=True)

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
                self._conn.commit()
            finally:
                self._drop()


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
    stop: asyncio.Event,
) -> None:
    """Try to become (and stay) leader every ``poll`` seconds until ``stop`` is set."""
    was = False
    told = False
    while not stop.is_set():
        now_leader = await asyncio.to_thread(leadership.try_acquire)
        if now_leader != was:
            log.info("leadership %s", "acquired" if now_leader else "lost")
            on_change(now_leader)
            was = now_leader
        if not now_leader and not told:
            log.warning("not running timers: %s", leadership.why_not)
            told = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll)
    await asyncio.to_thread(leadership.release)
