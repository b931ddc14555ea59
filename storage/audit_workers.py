"""Worker processes that bulk-check blocks of the audit log in parallel.

Why processes, on SQLite: a block costs SQLite (rebuilding and comparing every column) about as
much as it costs Python to hash it. Threads cannot share that work out — Python hashes under the
interpreter lock, and SQLite connections in one process contend with each other (measured on two
cores: two threads ran the block queries no faster than one) — while two processes, each with
its own connection, check blocks 1.9× as fast as one. (PostgreSQL does its part in its own
server processes, so there threads suffice: storage.audit_verify.)

The protocol is plain: the parent writes one JSON job to a worker's stdin (the database file,
the block query, the blocks to check, the published head if any) and closes it; the worker
checks its blocks in order and writes one JSON line per block (or one ``{"error": …}`` line, and
exits 1). Worker k of n gets blocks k, k+n, k+2n, …, so the parent reads the results back in
log order by taking the next line from each worker in turn. The worker imports nothing but the
standard library and storage.audit_blocks, so it starts in about a tenth of a second.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Generator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from storage.audit_blocks import SQLITE_MMAP, Block, Expected, confirm

_ROOT = str(Path(__file__).resolve().parent.parent)  # the directory holding storage/


class WorkerError(RuntimeError):
    """A worker process could not check its blocks (it says why)."""


def parallel_blocks(
    path: str,
    sql: str,
    spans: Sequence[tuple[int, int]],
    expected: Expected,
    processes: int,
) -> Generator[Block, None, None]:
    """Bulk-check ``spans`` of the SQLite database at ``path`` with the block query ``sql`` in
    ``processes`` worker processes; the blocks come back in order. Closing the generator early
    (a bad entry found) stops the workers."""
    imports = os.pathsep.join(filter(None, (_ROOT, os.getenv("PYTHONPATH"))))
    env = {**os.environ, "PYTHONPATH": imports}
    with ExitStack() as stack:
        workers: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
        for k in range(processes):
            errors = stack.enter_context(tempfile.TemporaryFile())
            try:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "storage.audit_workers"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    env=env,
                )
            except OSError as exc:
                raise WorkerError(f"an audit verification worker could not start: {exc}") from exc
            stack.callback(_stop, worker)
            workers.append((worker, errors))
            job = {"path": path, "sql": sql, "spans": spans[k::processes], "expected": expected}
            _send(worker, job, errors)
        for j in range(len(spans)):
            yield _receive(*workers[j % processes])
        for worker, _ in workers:  # all answered: let them close their connections and exit
            worker.wait(timeout=30)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Kill a worker still running (the caller stopped early), and reap it."""
    if worker.poll() is None:
        worker.kill()
    worker.wait()
    assert worker.stdout is not None
    worker.stdout.close()


def _send(worker: subprocess.Popen[bytes], job: dict[str, Any], errors: IO[bytes]) -> None:
    assert worker.stdin is not None
    try:
        worker.stdin.write(json.dumps(job).encode("utf-8"))
        worker.stdin.close()
    except BrokenPipeError:
        raise WorkerError(_failure(worker, errors, "")) from None


def _receive(worker: subprocess.Popen[bytes], errors: IO[bytes]) -> Block:
    assert worker.stdout is not None
    line = worker.stdout.readline()
    data = json.loads(line) if line else None
    if not isinstance(data, list):
        message = data.get("error", "") if isinstance(data, dict) else ""
        raise WorkerError(_failure(worker, errors, message))
    lo, hi, confirmed, prev, last, anchor = data
    return Block(lo, hi, confirmed, prev, last, None if anchor is None else tuple(anchor))


def _failure(worker: subprocess.Popen[bytes], errors: IO[bytes], message: str) -> str:
    """The worker's own account of the failure, else the end of what it printed."""
    worker.wait()
    errors.seek(0)
    printed = errors.read().decode("utf-8", "replace").strip().splitlines()
    why = message or (printed[-1] if printed else f"it exited with status {worker.returncode}")
    return f"an audit verification worker failed: {why}"


def _connect(path: str) -> sqlite3.Connection:
    if not Path(path).is_file():  # sqlite3 would create an empty database
        raise FileNotFoundError(f"no SQLite database at {path}")
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("PRAGMA query_only = ON", "PRAGMA busy_timeout = 5000", SQLITE_MMAP):
        connection.execute(pragma)
    return connection


def main() -> int:
    """The worker: check the blocks of the job on stdin, one JSON line out per block."""
    out = sys.stdout
    try:
        job = json.loads(sys.stdin.buffer.read())
        expected = job["expected"] and (job["expected"][0], job["expected"][1])
        connection = _connect(job["path"])
        try:
            cursor = connection.cursor()
            for lo, hi in job["spans"]:
                block = confirm(cursor, job["sql"], lo, hi, expected)
                line = [lo, hi, block.confirmed, block.prev, block.last, block.anchor]
                out.write(json.dumps(line) + "\n")
                out.flush()
        finally:
            connection.close()
    except Exception as exc:  # reported to the parent, which raises it as a WorkerError
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}".strip()}) + "\n")
        out.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
