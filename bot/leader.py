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
  (:func:`storage.meeting_timers.claim_timer`).
- The lock names the schema the bot's tables are in (``current_schema()``): replicas of one
  deployment contend for it, while deployments (or test runs) in other schemas of the same
  database lead on their own. The default ``public`` schema keeps the constant key earlier
  versions used, so a rolling upgrade never has two leaders there. In another schema, a
  rolling upgrade from a version before per-schema keys has two leaders until the old
  replicas stop; nothing fires twice (the UNIQUE timer rows below), and locking the old key
  too would make one deployment in ``public`` stop every other schema's from leading.
- The session must be the leader's own. Behind a transaction-pooling proxy (PgBouncer's
  ``pool_mode = transaction``) every transaction may run on another server process, shared with
  other clients, and an advisory lock is re-entrant within a server process: every replica
  would "hold" it. So the leader marks its session with a random token (a session-level
  setting) and leads only while each check, in one transaction, sees its token and its server
  process. Before it takes the lock it proves the session its own: no other leader's token or
  lock is on it, a second connection reaches another server process (a pooler hands an idle
  server to the next client), and the token and process are still there in the next
  transaction. A failed proof or check refuses leadership for good, logged once and shown as
  ``why_not`` (on ``/readyz``): the operator points the URL at PostgreSQL or a session pool.
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
import uuid
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


# The session-level setting a leader marks its session with (see the module's rules).
TOKEN_SETTING = "charterbot.leader_token"
_TOKEN = f"coalesce(current_setting('{TOKEN_SETTING}', true), '')"
_HELD = (
    "EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
    " AND classid::bigint = :high AND objid::bigint = :low AND pid {} pg_backend_pid())"
)
# This session's server process, its token, and whether it or another process holds the lock.
_STATE = sa.text(f"SELECT pg_backend_pid(), {_TOKEN}, {_HELD.format('=')}, {_HELD.format('<>')}")
# Unlock only on the session that is ours: on a shared one it would free another's lock.
_UNLOCK = sa.text(
    f"SELECT pg_advisory_unlock(:k) WHERE pg_backend_pid() = :pid AND {_TOKEN} = :token"
)


def refusal(detail: str) -> str:
    """What a process that found its leader connection shared says, and what to do about it."""
    return (
        "the scheduler needs a PostgreSQL session of its own, but this database connection is"
        f" shared with other clients or changes between transactions ({detail}), as behind a"
        " transaction-pooling proxy (PgBouncer with pool_mode = transaction): this process will"
        " not run timers. Point CHARTERBOT_DATABASE_URL at PostgreSQL directly or at a"
        " session-mode pool (PgBouncer pool_mode = session), then restart."
    )


def _changed(pid: int | None, now: int) -> str:
    if pid != now:
        return f"its server process was {pid}, then {now}"
    return f"another client changed the session of server process {pid}"


class SharedSession(Exception):
    """The leader's connection is not a session of its own."""


class PostgresLeadership:
    def __init__(self, engine: Engine, *, sessions: Engine | None = None) -> None:
        # Its own engine without a pool: closing the connection really ends the session.
        # ``sessions`` replaces it in tests that simulate a pooling proxy.
        self._engine = sessions or sa.create_engine(
            engine.url, poolclass=NullPool, connect_args=_KEEPALIVE
        )
        self._conn: Connection | None = None
        self._key = LEADER_LOCK_KEY  # this schema's, once connected (lock_key)
        self._token = uuid.uuid4().hex
        self.backend_pid: int | None = None
        self.why_not = "not tried yet"
        self.refused = ""  # the refusal, once a shared session was seen: for good

    @property
    def is_leader(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            if self._alive():
                return True
            self._drop(unlock=bool(self.refused))
        if self.refused:
            return False
        conn: Connection | None = None
        try:
            conn = self._engine.connect()
            if self._lead_on(conn):
                self._conn = conn
                self.why_not = ""
                return True
            conn.close()
            self.why_not = "another replica holds the scheduler lock"
        except Exception as exc:  # database down: not leader, try again later
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
            if isinstance(exc, SharedSession):
                self._refuse(str(exc))
            else:
                self.why_not = f"could not reach the database: {exc}"
        return False

    def _lead_on(self, conn: Connection) -> bool:
        """Prove ``conn`` a session of its own, then take the lock on it (the module's rules)."""
        for statement in _SESSION:
            conn.execute(sa.text(statement))
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
        self._key = lock_key(str(schema or "public"))
        pid, token, mine, theirs = self._state(conn)
        if token or mine:
            raise SharedSession(f"another leader's token or lock is on server process {pid}")
        if theirs:
            conn.commit()
            return False
        conn.execute(sa.text("SELECT set_config(:name, :token, false)"),
                     {"name": TOKEN_SETTING, "token": self._token})  # fmt: skip
        conn.commit()
        self._probe(pid)
        again, token, mine, _ = self._state(conn)
        if (again, token, mine) != (pid, self._token, False):
            raise SharedSession(_changed(pid, again))
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})
        leads = bool(got.scalar())
        conn.commit()
        self.backend_pid = pid if leads else None
        return leads

    def _probe(self, pid: int) -> None:
        """A second connection reaches another server process, which has no token of ours."""
        with self._engine.connect() as other:
            other_pid, token, _, _ = self._state(other)
            other.rollback()
        if other_pid == pid or token == self._token:
            raise SharedSession(f"a second connection reached the same server process {pid}")

    def _state(self, conn: Connection) -> tuple[int, str, bool, bool]:
        key = self._key
        row = conn.execute(_STATE, {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF})
        pid, token, mine, theirs = row.one()
        return int(pid), str(token), bool(mine), bool(theirs)

    def _alive(self) -> bool:
        assert self._conn is not None
        try:
            pid, token, mine, _ = self._state(self._conn)
            self._conn.commit()
        except Exception:
            log.warning("leader connection lost; stepping down")
            return False
        if (pid, token) != (self.backend_pid, self._token):
            self._refuse(_changed(self.backend_pid, pid))
            return False
        if not mine:
            log.warning("the leader's session no longer holds the scheduler lock; stepping down")
        return mine

    def _refuse(self, detail: str) -> None:
        self.refused = self.why_not = refusal(detail)
        log.error("leadership refused: %s", self.why_not)

    def _drop(self, *, unlock: bool = False) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and unlock:
            try:
                # Shared, the session outlives the socket: free the lock if this is it.
                conn.execute(_UNLOCK, {"k": self._key, "pid": self.backend_pid,
                                       "token": self._token})  # fmt: skip
                conn.commit()
            except Exception:  # the session is gone, and the lock with it
                log.debug("unlocking on a broken leader connection failed", exc_info=True)
        if conn is not None:
            try:
                conn.invalidate()  # close the socket itself: the session (and lock) must end
                conn.close()
            except Exception:
                log.debug("closing a broken leader connection failed", exc_info=True)
        self.backend_pid = None

    def release(self) -> None:
        self._drop(unlock=True)
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
