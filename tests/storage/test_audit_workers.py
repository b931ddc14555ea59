"""Parallel verification: SQLite's worker processes and PostgreSQL's worker threads.

What the processes confirm is what the in-process check confirms (the tamper matrix runs both);
these tests cover the rest: when workers are used, that their results come back in log order,
that a worker's failure is reported with its reason, and that stopping early leaves no worker
running.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from storage import audit, audit_blocks, audit_verify, audit_workers, migrate
from storage.audit_workers import WorkerError, parallel_blocks
from storage.db import make_engine, read_scope
from tests.storage.audit_fixtures import fill


def _path(engine: Engine) -> str:
    assert engine.url.database is not None
    return engine.url.database


_POPEN = subprocess.Popen  # (the fixture patches the subprocess module itself)


class _Recorder:
    """subprocess.Popen, remembering every worker started."""

    started: list[subprocess.Popen[bytes]]

    def __init__(self) -> None:
        self.started = []

    def __call__(self, *args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        worker = _POPEN(*args, **kwargs)
        self.started.append(worker)
        return worker


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    recorder = _Recorder()
    monkeypatch.setattr(audit_workers.subprocess, "Popen", recorder)
    return recorder


def test_blocks_come_back_in_log_order(sqlite_engine: Engine, recorder: _Recorder) -> None:
    fill(sqlite_engine, 10)
    spans = [(0, 3), (3, 6), (6, 9), (9, 10)]
    blocks = list(parallel_blocks(_path(sqlite_engine), audit_blocks.SQLITE_BLOCK, spans, None, 3))
    assert [(b.lo, b.hi, b.confirmed) for b in blocks] == [(lo, hi, True) for lo, hi in spans]
    assert all(b.prev == a.last for a, b in itertools.pairwise(blocks))
    assert len(recorder.started) == 3
    assert [worker.returncode for worker in recorder.started] == [0, 0, 0]


def test_a_large_sqlite_log_is_verified_by_worker_processes(
    sqlite_engine: Engine, recorder: _Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From PARALLEL_FROM entries on, by default; below it, in this process."""
    fill(sqlite_engine, 12)
    monkeypatch.setattr(audit_verify, "PARALLEL_FROM", 12)
    monkeypatch.setattr(audit_verify.os, "cpu_count", lambda: 2)
    with read_scope(sqlite_engine) as session:
        assert audit.verify(session, batch=4).ok
        assert len(recorder.started) == 2
        monkeypatch.setattr(audit_verify, "PARALLEL_FROM", 13)
        assert audit.verify(session, batch=4).ok
    assert len(recorder.started) == 2


def test_an_in_memory_database_is_verified_here(recorder: _Recorder) -> None:
    """Only this process can see it, so no worker is started, whatever was asked."""
    engine = make_engine("sqlite://")
    migrate.upgrade(engine)
    fill(engine, 5)
    with read_scope(engine) as session:
        assert audit.verify(session, batch=2, workers=2).count == 5
    assert recorder.started == []


def test_stopping_early_stops_the_workers(sqlite_engine: Engine, recorder: _Recorder) -> None:
    """Workers with more to say than a pipe holds are killed, not waited for."""
    fill(sqlite_engine, 12)
    spans = [(lo, lo + 1) for lo in range(10_000)]  # over 64 KiB of answers per worker
    blocks = parallel_blocks(_path(sqlite_engine), audit_blocks.SQLITE_BLOCK, spans, None, 2)
    assert next(blocks).confirmed
    blocks.close()
    assert [worker.returncode for worker in recorder.started] == [-signal.SIGKILL] * 2


def test_a_bad_entry_found_in_parallel_leaves_no_worker_running(
    sqlite_engine: Engine, recorder: _Recorder
) -> None:
    fill(sqlite_engine, 12)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_entry_no_update")
        conn.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 2"))
    with read_scope(sqlite_engine) as session:
        result = audit.verify(session, batch=1, workers=2)
    assert (result.ok, result.first_bad_seq) == (False, 2), result.reason
    assert all(worker.poll() is not None for worker in recorder.started)


@pytest.mark.parametrize(
    ("where", "sql", "reason"),
    [
        ("missing.db", audit_blocks.SQLITE_BLOCK, "FileNotFoundError: no SQLite database at"),
        ("charterbot.db", "SELECT nonsense", "OperationalError: no such column: nonsense"),
    ],
)
def test_a_worker_failure_is_reported_with_its_reason(
    sqlite_engine: Engine, where: str, sql: str, reason: str
) -> None:
    fill(sqlite_engine, 2)
    path = str(Path(_path(sqlite_engine)).with_name(where))
    with pytest.raises(WorkerError, match="an audit verification worker failed: " + reason):
        list(parallel_blocks(path, sql, [(0, 1), (1, 2)], None, 2))


def test_a_worker_that_dies_is_reported(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that cannot even start says so on stderr; its last line is the reason."""
    fill(sqlite_engine, 2)
    monkeypatch.setattr(audit_workers.sys, "executable", "/bin/sh")  # sh -m … is refused
    with pytest.raises(WorkerError, match=r"an audit verification worker failed: .+"):
        list(parallel_blocks(_path(sqlite_engine), "", [(0, 1), (1, 2)], None, 2))


def test_a_worker_that_cannot_start_is_reported(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fill(sqlite_engine, 2)
    monkeypatch.setattr(audit_workers.sys, "executable", str(tmp_path / "no-such-python"))
    with pytest.raises(WorkerError, match="an audit verification worker could not start: "):
        list(parallel_blocks(_path(sqlite_engine), "", [(0, 1), (1, 2)], None, 2))


@pytest.mark.postgres
@pytest.mark.parametrize("workers", [1, 2])
def test_postgres_blocks_are_read_by_index_scan(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Every connection that checks blocks rules out the bitmap scan (and its sort)."""
    fill(pg_engine, 6)
    seen: list[str] = []
    confirm = audit_blocks.confirm

    def spying(cursor: Any, *args: Any, **kwargs: Any) -> audit_blocks.Block:
        cursor.execute("SHOW enable_bitmapscan")
        seen.append(cursor.fetchone()[0])
        return confirm(cursor, *args, **kwargs)

    monkeypatch.setattr(audit_blocks, "confirm", spying)
    with read_scope(pg_engine) as session:
        assert audit.verify(session, batch=2, workers=workers).ok
    assert seen == ["off"] * 3
    with pg_engine.connect() as conn:  # and the pooled connections are as they were
        assert conn.execute(text("SHOW enable_bitmapscan")).scalar() == "on"
