"""Benchmark: signed GitHub vote deliveries, end to end, against raw database commits.

Prints, measured side by side in one run:
1. Throughput: signed ``issue_comment`` deliveries carrying ``/vote`` → verified, stored in the
   inbox (commit 1), processed (vote recorded on the proposal, audit entry appended, outbox
   written, inbox row marked — commit 2) — against raw commits of the same rows in the same two
   commits per delivery (same database, same durability settings), with no charterbot code.
   The votes are spread over ``PROPOSALS`` proposals in voting (about 25 votes each with the
   defaults: a proposal's whole vote history is re-tallied on every vote, and real proposals
   have a handful of seats, so piling hundreds of votes on one would measure an unrealistic case).
   Both sides first run ``WARMUP`` untimed deliveries, then alternate blocks of ``CHUNK``.
   Goal: ≥ 0.3× the raw commit rate.
2. Latency to the 202 over real loopback HTTP (uvicorn) at a paced 100 deliveries/s while the
   worker processes them concurrently, the votes spread over ``PROPOSALS`` fresh proposals the
   same way. Goal: p99 under 50 ms.

Usage: .venv/bin/python bench/webhooks.py [--deliveries N] [--rate R] [--seconds S] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from storage.db import make_engine

# httpx's in-process ASGI transport tries ``import sniffio`` on every request; it is not
# installed, and the failed import searched sys.path each time (~0.5 ms a request, which a
# real server never pays). A None entry makes that import fail at once.
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

SECRET = "bench-secret"
REPO = "meridian-net/upgrades"
SHARED = Path(
    os.environ.get("CHARTERBOT_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")
)
PROPOSALS = 20
WARMUP = 50  # untimed deliveries first, on both sides, so neither is timed cold
VOTERS = ["alice-aurora", "bob-aurora", "carmen-borealis", "dmitri-borealis", "emeka-cirrus"]


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def _fixture(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((SHARED / "fixtures/github/webhooks" / name).read_text())
    return payload


def _comment(i: int, number: int, at: datetime) -> tuple[bytes, dict[str, str]]:
    payload = _fixture("issue_comment/created.payload.json")
    payload["repository"]["full_name"] = REPO
    payload["issue"]["number"] = number
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    choice = "approve" if i % 3 else "abstain"
    payload["comment"].update(
        id=10_000_000 + i, body=f"/vote {choice} bench {i}", created_at=stamp, updated_at=stamp
    )
    payload["comment"]["user"]["login"] = VOTERS[i % len(VOTERS)]
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": f"bench-{i}",
        "X-Hub-Signature-256": _sign(body),
        "Content-Type": "application/json",
    }
    return body, headers


def _runtime(url: str, clock: FixedClock) -> Runtime:
    # Webhook deliveries in; no token, so no GitHub API calls (no gateway, no relays).
    settings = Settings(database_url=url, github_webhook_secret=SECRET, github_mode="webhook")
    return build(settings, clock=clock)


def _open_voting(rt: Runtime, clock: FixedClock, number: int, advance: bool = True) -> None:
    payload = _fixture("issues/opened.payload.json")
    payload["repository"]["full_name"] = REPO
    body_md = (
        (SHARED / "github/example-proposal-body.md")
        .read_text()
        .replace("protocol-change", "feature-flag")
    )
    payload["issue"].update(number=number, body=body_md, title="bench proposal")
    payload["issue"]["labels"] = [{"name": "upgrade-proposal"}]
    asyncio.run(
        rt.store_delivery("github", f"open-{number}", "issues", json.dumps(payload).encode())
    )
    rt.worker.process_pending(clock.now())
    if advance:
        clock.advance(timedelta(days=2, seconds=1))
        rt.gov.tick(clock.now())


CHUNK = 25  # deliveries per measured block; the two sides alternate blocks


def _write_back(engine: sa.Engine) -> None:
    """SQLite: copy the block's WAL pages into the database file, inside the block's timing.

    Both sides write to one database file. Left to the automatic checkpoint (every 1000 WAL
    pages), whichever commit crosses the line pays for writing back the *other* side's pages
    too, so a change in how many pages one side writes moved the ratio by up to 0.15 between
    versions with no change in either side's own speed. Each side now pays for its own pages
    (as bench/audit.py does for batched appends)."""
    if engine.dialect.name == "sqlite":
        connection = engine.raw_connection()  # outside any transaction
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            connection.close()


class _Ours:
    """Signed deliveries through the app (ASGI, in process), each processed before the next."""

    def __init__(self, rt: Runtime, clock: FixedClock, numbers: list[int], total: int) -> None:
        self.rt, self.clock = rt, clock
        self.deliveries = [
            _comment(i, numbers[i % len(numbers)], clock.now()) for i in range(total)
        ]
        self.next = 0

    async def run(self, count: int, client: httpx.AsyncClient) -> float:
        started = time.perf_counter()
        for body, headers in self.deliveries[self.next : self.next + count]:
            response = await client.post("/github/webhook", content=body, headers=headers)
            assert response.status_code == 202, response.text
            await asyncio.to_thread(self.rt.worker.process_pending, self.clock.now())
        _write_back(self.rt.engine)
        self.next += count
        return time.perf_counter() - started


class _Raw:
    """The same durable writes without charterbot, in the same two commits per delivery:
    (1) insert the delivery; (2) read it back, update the proposal row, append an audit row,
    insert an outbox row and mark the delivery processed."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.meta = meta = sa.MetaData()
        self.deliveries = sa.Table(
            "bench_inbox",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("key", sa.String, unique=True),
            sa.Column("body", sa.LargeBinary),
            sa.Column("processed", sa.Boolean, default=False),
        )
        self.proposals = sa.Table(
            "bench_proposal",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("data", sa.Text),
        )
        self.audit = sa.Table(
            "bench_audit",
            meta,
            sa.Column("seq", sa.Integer, primary_key=True),
            sa.Column("entry", sa.Text),
        )
        self.outbox = sa.Table(
            "bench_outbox",
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("payload", sa.Text),
        )
        meta.drop_all(self.engine)
        meta.create_all(self.engine)
        with self.engine.begin() as connection:
            connection.execute(
                self.proposals.insert(), [{"id": i, "data": "{}"} for i in range(PROPOSALS)]
            )
        self.body = _comment(0, 1, datetime.now(UTC))[0]
        self.next = 0

    def run(self, count: int) -> float:
        data, entry, payload = "v" * 4000, "a" * 500, "o" * 300
        inbox = self.deliveries
        started = time.perf_counter()
        for i in range(self.next, self.next + count):
            with self.engine.begin() as connection:
                connection.execute(inbox.insert().values(key=f"k{i}", body=self.body))
            with self.engine.begin() as connection:
                connection.execute(sa.select(inbox.c.body).where(inbox.c.key == f"k{i}")).one()
                connection.execute(
                    self.proposals.update()
                    .where(self.proposals.c.id == i % PROPOSALS)
                    .values(data=data)
                )
                connection.execute(self.audit.insert().values(entry=entry))
                connection.execute(self.outbox.insert().values(payload=payload))
                connection.execute(
                    inbox.update().where(inbox.c.key == f"k{i}").values(processed=True)
                )
        _write_back(self.engine)
        self.next += count
        return time.perf_counter() - started

    def close(self) -> None:
        self.meta.drop_all(self.engine)
        self.engine.dispose()


async def _throughput(
    rt: Runtime, clock: FixedClock, url: str, n: int, numbers: list[int]
) -> tuple[float, float]:
    """(ours/s, raw/s), measured in alternating blocks of CHUNK deliveries after a warm-up of
    both, so both sides see the same machine: the speed of these shared machines drifts by
    up to 2x over minutes, which a run of one side after the other turned into the ratio."""
    ours, raw = _Ours(rt, clock, numbers, n + WARMUP), _Raw(url)
    app = create_app(rt, run_background=False)
    spent = [0.0, 0.0]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://b"
    ) as client:
        await ours.run(WARMUP, client)
        raw.run(WARMUP)
        done = 0
        while done < n:
            count = min(CHUNK, n - done)
            spent[0] += await ours.run(count, client)
            spent[1] += raw.run(count)
            done += count
    raw.close()
    return n / spent[0], n / spent[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _latency(
    rt: Runtime, clock: FixedClock, numbers: list[int], rate: float, seconds: float
) -> list[float]:
    port = _free_port()
    app = create_app(rt, run_background=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    count = int(rate * seconds)
    deliveries = [
        _comment(100_000 + i, numbers[i % len(numbers)], clock.now()) for i in range(count)
    ]
    # The sender is another process, as GitHub is: a client in this process would compete
    # with the server for the interpreter lock and add its own waits to what is measured.
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for body, headers in deliveries:
            handle.write(json.dumps({"body": body.decode(), "headers": headers}) + "\n")
    try:
        sent = subprocess.run(
            [sys.executable, __file__, "--send", f"http://127.0.0.1:{port}", handle.name],
            env={**os.environ, "RATE": str(rate)},
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(handle.name)
    latencies = [float(x) for x in sent.stdout.split()]
    server.should_exit = True
    thread.join(10)
    return latencies


def _send(base_url: str, path: str, rate: float) -> None:
    """The sender process: post the deliveries in ``path`` at ``rate``/s, print each latency."""
    lines = Path(path).read_text().splitlines()
    with httpx.Client(base_url=base_url) as client:
        client.get("/healthz")
        start = time.perf_counter()
        for i, line in enumerate(lines):
            item = json.loads(line)
            pause = start + i / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            t0 = time.perf_counter()
            response = client.post(
                "/github/webhook", content=item["body"].encode(), headers=item["headers"]
            )
            print(time.perf_counter() - t0)
            if response.status_code != 202:
                raise SystemExit(f"unexpected {response.status_code}: {response.text}")


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def run(url: str, label: str, n: int, rate: float, seconds: float) -> None:
    clock = FixedClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    rt = _runtime(url, clock)
    numbers = list(range(1, PROPOSALS + 1))
    for number in numbers:
        _open_voting(rt, clock, number, advance=False)
    clock.advance(timedelta(days=2, seconds=1))
    rt.gov.tick(clock.now())
    ours, raw = asyncio.run(_throughput(rt, clock, url, n, numbers))
    print(f"[{label}] end-to-end signed vote deliveries: {ours:8.0f}/s")
    print(f"[{label}] raw commits of the same rows:      {raw:8.0f}/s")
    print(f"[{label}] ratio: {ours / raw:.2f}x (goal >= 0.30x)")
    fresh = list(range(PROPOSALS + 1, 2 * PROPOSALS + 1))
    for number in fresh:
        _open_voting(rt, clock, number, advance=False)
    clock.advance(timedelta(days=2, seconds=1))
    rt.gov.tick(clock.now())
    lat = _latency(rt, clock, fresh, rate, seconds)
    p50, p99 = _pct(lat, 0.5) * 1000, _pct(lat, 0.99) * 1000
    mean = statistics.mean(lat) * 1000
    print(
        f"[{label}] time to 202 at {rate:.0f}/s over {len(lat)} deliveries: "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {mean:.1f} ms (goal p99 < 50 ms)"
    )
    rt.engine.dispose()


def main() -> None:
    if sys.argv[1:2] == ["--send"]:
        _send(sys.argv[2], sys.argv[3], float(os.environ["RATE"]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "CHARTERBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", "sqlite", args.deliveries, args.rate, args.seconds)
    try:
        engine = make_engine(args.pg)
        with engine.connect() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS bench_webhooks CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA bench_webhooks"))
            connection.commit()
        engine.dispose()
    except Exception as exc:
        print(f"[postgres] skipped: {exc.__class__.__name__}: {exc}")
        return
    sep = "&" if "?" in args.pg else "?"
    url = f"{args.pg}{sep}options=-csearch_path%3Dbench_webhooks"
    run(url, "postgres", args.deliveries, args.rate, args.seconds)


if __name__ == "__main__":
    main()
