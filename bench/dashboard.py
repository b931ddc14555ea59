"""Benchmark the dashboard's overview and rollout pages on a large database.

    .venv/bin/python bench/dashboard.py [--proposals 1000] [--votes 10000] [--requests 100]

Seeds a temporary SQLite database (the bot's own settings) with ``--proposals`` proposals and
``--votes`` votes, then serves the real app with uvicorn on 127.0.0.1 and fetches, in turns
over one keep-alive connection, ``/`` (overview), ``/rollouts`` and ``/static/dashboard.css``
(a static file from the same server: the baseline) ``--requests`` times each, every page twice
per turn:

- fresh: rendered from the database on every request — what the server does (the page cache
  is off by default). The goal is judged on these numbers: p99 under 100 ms.
- cached: with the opt-in page cache (``Dashboard.page_cache``; pages reused while the audit
  head, local changes and the minute are unchanged), for comparison.

Both modes run interleaved in the same server, so machine load affects them alike. Prints
p50/p99 per page and mode side by side, with ratios to the static page.

Bulk data (documented shortcut): proposals are built as the pure rules' ``Proposal`` values
already in their state (votes included) and saved with ``Governance.apply`` — the service's own
save path (derived columns, deadlines) — in large transactions, instead of replaying 11,000
commands one by one; rollouts are started with the rollout area's ``start_rollout`` and a third
enter the first stage through its ``report`` (see ``seed_rollouts``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from storage import check_results as check_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.bootstrap import build
from bot.clock import FixedClock
from bot.http import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from charter.actors import Actor
from charter.lifecycle import State
from charter.proposal import Decision, Proposal
from charter.votes import Choice, Outcome, Vote
from storage import proposals as repo
from storage.db import session_scope
from tests.standins.loopback import serving

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TRACKS = ("protocol-change", "feature-flag", "charter-amendment")
STATES = (State.VOTING, State.ACCEPTED, State.REVIEW, State.REJECTED, State.DRAFT)


def seed(rt: Runtime, proposals: int, votes: int) -> tuple[int, int]:
    charter = rt.loaded.charter
    voters = [m for cl in charter.clients for m in cl.maintainers] + list(
        charter.roles.get("coordinators", ())
    )
    rng = random.Random(7)
    with_votes = sum(
        1 for n in range(1, proposals + 1) if STATES[n % len(STATES)] is not State.DRAFT
    )
    per = -(-votes // max(1, with_votes))  # ceiling: the total reaches --votes
    made_votes = 0
    accepted: list[int] = []
    with session_scope(rt.engine) as session:
        for n in range(1, proposals + 1):
            state = STATES[n % len(STATES)]
            created = NOW - timedelta(days=rng.uniform(2, 40))
            opened = created + timedelta(days=1) if state is not State.DRAFT else None
            cast = (
                tuple(
                    Vote(
                        rng.choice(voters),
                        rng.choice(list(Choice)),
                        "",
                        (opened or created) + timedelta(minutes=i),
                        "github",
                    )
                    for i in range(min(per, votes - made_votes))
                )
                if opened
                else ()
            )
            made_votes += len(cast)
            decided = state in (State.ACCEPTED, State.REJECTED)
            p = Proposal(
                number=n,
                title=f"Proposal {n}: tune parameter {n % 37}",
                author=rng.choice(voters),
                track=TRACKS[n % len(TRACKS)],
                state=state,
                fields={"clients": list(charter.client_ids), "summary": "bench"},
                charter_version=charter.version,
                created_at=created,
                entered_review_at=created if state is not State.DRAFT else None,
                voting_opened_at=opened if state is not State.REVIEW else None,
                decided_at=NOW - timedelta(hours=1) if decided else None,
                outcome=Outcome.ACCEPTED
                if state is State.ACCEPTED
                else (Outcome.REJECTED if decided else None),
                votes=cast,
            )
            rt.gov.apply(session, Decision(p), "bench", NOW)
            if state is State.ACCEPTED:
                accepted.append(n)
    return made_votes, seed_rollouts(rt, accepted[:100])


def seed_rollouts(rt: Runtime, numbers: list[int]) -> int:
    """Start a rollout for each of ``numbers``; a third of them enter ``staging`` (every client
    reports through the rollout area's ``report``, the path of ``ready`` commands and releases)
    with ``interop-matrix`` check results on the reported refs — some failing — so the overview
    has failing gates to show and the rollout matrix has versions and checks."""
    try:
        from bot.rollout_lifecycle import start_rollout
        from bot.rollout_moves import report
        from charter.rollout import ReadyReport
        from storage import rollouts as store
    except ImportError:
        return 0
    charter = rt.loaded.charter
    repos = {cl.id: cl.repository for cl in charter.clients if cl.repository}
    who = Actor(login="bench", surface="console", display="bench")
    stage = charter.stage_ids[0]
    with session_scope(rt.engine) as session:
        for i, n in enumerate(numbers):
            stored = repo.load(session, n)
            assert stored is not None
            rollout = start_rollout(rt.gov, session, stored, NOW)
            clients = rollout.clients if i % 3 == 0 else rollout.clients[: i % 3]
            for k, client in enumerate(clients):
                ref = f"{n:08x}{k:032x}"
                at = NOW - timedelta(days=5, minutes=-k)
                entry = ReadyReport(client, stage, f"v1.{n}.{k}", ref, "", "bench", at)
                loaded = store.load_rollout(session, n, charter)
                assert loaded is not None
                report(rt.gov, session, stored, loaded, entry, who, at, source="command")
                if client in repos:
                    check_store.record_check(
                        session,
                        repo=repos[client],
                        head_sha=ref,
                        name="interop-matrix",
                        kind="check_run",
                        status="completed",
                        conclusion="failure" if (n + k) % 4 == 0 else "success",
                        html_url="",
                        at=at,
                    )
    return len(numbers)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


PAGES = {"overview": "/", "rollouts": "/rollouts", "static": "/static/dashboard.css"}
MODES = ("fresh", "cached")


async def measure(rt: Runtime, requests: int) -> dict[tuple[str, str], list[float]]:
    """Request times per (mode, page); the static page is fetched once per turn and counted
    under both modes (it does not depend on the page cache)."""
    dashboard = rt.extras["dashboard"]
    async with serving(create_app(rt, run_background=False)) as url:
        return await _timed(dashboard, url, requests)


async def _timed(dashboard: Any, url: str, requests: int) -> dict[tuple[str, str], list[float]]:
    """``requests`` turns over PAGES at ``url``, each page fresh and from the page cache."""
    times: dict[tuple[str, str], list[float]] = {(m, p): [] for m in MODES for p in PAGES}

    async def fetch(path: str) -> float:
        started = time.perf_counter()
        response = await http.get(path)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed

    async with httpx.AsyncClient(base_url=url) as http:
        for path in PAGES.values():  # warm up templates and connections
            await fetch(path)
        for _ in range(requests):
            for name, path in PAGES.items():
                if name == "static":
                    elapsed = await fetch(path)
                    for mode in MODES:
                        times[(mode, name)].append(elapsed)
                    continue
                for mode in MODES:
                    dashboard.page_cache = mode == "cached"
                    times[(mode, name)].append(await fetch(path))
    dashboard.page_cache = False
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proposals", type=int, default=1000)
    parser.add_argument("--votes", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        rt = build(settings, clock=FixedClock(NOW))
        started = time.perf_counter()
        votes, rollouts = seed(rt, args.proposals, args.votes)
        print(
            f"seeded {args.proposals} proposals, {votes} votes, {rollouts} rollouts "
            f"in {time.perf_counter() - started:.1f} s"
        )
        times = asyncio.run(measure(rt, args.requests))
        rt.engine.dispose()
    report(times)


def report(times: dict[tuple[str, str], list[float]]) -> None:
    ms = {k: (pct(v, 0.5) * 1000, pct(v, 0.99) * 1000) for k, v in times.items()}
    static50, static99 = ms[("fresh", "static")]
    print(f"\n{len(times[('fresh', 'static')])} requests per page and mode; times in ms")
    print(
        f"{'page':<10} {'fresh p50':>9} {'fresh p99':>9} {'cached p50':>10} {'cached p99':>10}"
        f" {'fresh/static p50':>16} {'fresh/static p99':>16} {'cached/static p99':>17}"
    )
    for name in PAGES:
        f50, f99 = ms[("fresh", name)]
        c50, c99 = ms[("cached", name)]
        print(
            f"{name:<10} {f50:9.1f} {f99:9.1f} {c50:10.1f} {c99:10.1f}"
            f" {f50 / static50:15.1f}x {f99 / static99:15.1f}x {c99 / static99:16.1f}x"
        )
    for mode in MODES:
        worst = max(ms[(mode, n)][1] for n in ("overview", "rollouts"))
        verdict = "meets" if worst < 100 else "misses"
        judged = " (the goal is judged on fresh)" if mode == "fresh" else ""
        print(f"{mode}: goal p99 < 100 ms {verdict}, worst page p99 {worst:.1f} ms{judged}")


if __name__ == "__main__":
    main()
