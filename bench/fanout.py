"""Benchmark: one decision fanned out to 1,000 subscribed channels through rate-limited stand-ins.

Run: ``.venv/bin/python bench/fanout.py [--channels 1000] [--discord-share 0.5]``

Part 1 — fan-out under limits. Half the channels are Discord, half Slack (``--discord-share``).
The stand-in enforces Discord's real global limit (50 requests per second, bursts up to 50)
and its per-channel route bucket (5 per 5 s), and Slack's per-channel limit scaled down to
1 message per 50 ms (one message per channel, so it does not bind; the scale keeps a 429 cheap
if pacing were wrong). The binding limit is Discord's global one, so the minimum the limits
allow for D Discord messages is (D − 50) / 50 s (the first 50 go at once). We report the
relay's total time (fan-out transaction + all deliveries, SQLite with synchronous=FULL) against
that minimum; the goal is ≤ 1.1×. Any 429 the stand-in had to send is reported too.

Part 2 — relay overhead. N messages to N Slack channels with no limits at all, through the
relay (fan-out, claim, send, record id, mark sent) and as bare ``httpx`` posts of the same
JSON with the same concurrency; the difference per message is the relay's overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import sys
import tempfile
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TypedDict

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.relay import Relay  # noqa: E402
from bot.senders.base import Sender  # noqa: E402
from bot.senders.discord import DiscordSender  # noqa: E402
from bot.senders.pacing import Limits, Pacer  # noqa: E402
from bot.senders.slack import SlackSender  # noqa: E402
from charter.effects import Announce  # noqa: E402
from charter.load import load_charter  # noqa: E402
from charter.model import Charter  # noqa: E402
from storage import migrate, outbox, subscriptions  # noqa: E402
from storage.db import make_engine, session_scope  # noqa: E402
from tests.paths import reference_charter_text  # noqa: E402
from tests.standins.ratelimited import RateLimitedStandIn  # noqa: E402

SLACK_SCALE = 0.05  # Slack's 1 s per channel → 50 ms
CONCURRENCY = 4  # in-flight requests per platform (httpcore scans its pool per request)


class Received(TypedDict):
    """What the stand-in process reports back when stopped."""

    posted: list[tuple[str, str]]  # (platform, channel) per message it accepted
    rejected: int  # 429s it had to send


def _serve(kwargs: dict[str, object], ports: Queue[int], stop: Event, out: Queue[Received]) -> None:
    """Child process: run the stand-in (its own CPU, like a real platform) until ``stop``."""

    async def run() -> None:
        chat = RateLimitedStandIn(**kwargs)  # type: ignore[arg-type]
        await chat.start()
        ports.put(chat.port)
        while not stop.is_set():  # noqa: ASYNC110 - a process-shared Event cannot be awaited
            await asyncio.sleep(0.05)
        posted = [(p.platform, p.channel) for p in chat.posted]
        out.put({"posted": posted, "rejected": sum(chat.rejected.values())})
        await chat.stop()

    asyncio.run(run())


class RemoteStandIn:
    """The stand-in in a child process; ``finish()`` returns what it received."""

    def __init__(self, **kwargs: object) -> None:
        ctx = mp.get_context("spawn")
        self._ports: Queue[int] = ctx.Queue()
        self._out: Queue[Received] = ctx.Queue()
        self._stop = ctx.Event()
        self._proc = ctx.Process(target=_serve, args=(kwargs, self._ports, self._stop, self._out))
        self._proc.start()
        self.port = int(self._ports.get(timeout=30))

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    @property
    def discord_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    def finish(self) -> Received:
        self._stop.set()
        result = self._out.get(timeout=30)
        self._proc.join(10)
        return result


def _charter() -> Charter:
    base = load_charter(reference_charter_text()).charter
    return base.model_copy(update={"announce": {}})  # channels come from subscriptions only


def _setup(url: str, channels: list[tuple[str, str]]) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with session_scope(engine) as session:
        for platform, address in channels:
            new = subscriptions.NewSubscription(
                platform, address, "bench:1", {"kinds": ["decision"]}
            )
            subscriptions.add(session, new, now)
        a = Announce(
            "decision", "Proposal 42 accepted", "All five clients approved.", 42, "protocol-change"
        )
        payload = {**a.__dict__, "clients": [], "data": {}, "at": now.isoformat()}
        outbox.enqueue(session, kind="announce", payload=payload, now=now)
    engine.dispose()


async def part1(n: int, discord_share: float) -> dict[str, float]:
    discord_n = int(n * discord_share)
    channels = [("discord", str(1_200_000_000_000_000_000 + i)) for i in range(discord_n)]
    channels += [("slack", f"C{i:07d}") for i in range(n - discord_n)]
    chat = RemoteStandIn(slack_interval=1.0 * SLACK_SCALE, grace=0.015)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        _setup(url, channels)
        engine = make_engine(url)
        limits = Limits({"slack": 1.0 * SLACK_SCALE}, {"discord": (50, 1.0)})
        senders: dict[str, Sender] = {
            "slack": SlackSender("xoxb", chat.slack_url, httpx.AsyncClient(limits=_pool())),
            "discord": DiscordSender("bot", chat.discord_url, httpx.AsyncClient(limits=_pool())),
        }
        relay = Relay(engine, _charter(), senders, pacer=Pacer(limits), concurrency=CONCURRENCY)
        start = time.monotonic()
        await relay.run_until_idle(600)
        total = time.monotonic() - start
        for s in senders.values():
            await s.aclose()
        engine.dispose()
    seen = chat.finish()
    posted = [tuple(p) for p in seen["posted"]]
    minimum = max(0.0, (discord_n - 50) / 50.0)
    delivered = len(set(posted))
    return {
        "channels": n,
        "delivered": delivered,
        "duplicates": len(posted) - delivered,
        "discord": discord_n,
        "slack": n - discord_n,
        "seconds": round(total, 3),
        "minimum_seconds": minimum,
        "ratio": round(total / minimum, 3) if minimum else float("nan"),
        "stand_in_429s": seen["rejected"],
    }


def _pool() -> httpx.Limits:
    return httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)


async def part2(n: int) -> dict[str, float]:
    channels = [("slack", f"CX{i:06d}") for i in range(n)]
    chat = RemoteStandIn(slack_interval=1e-6)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        _setup(url, channels)
        engine = make_engine(url)
        sender = SlackSender("xoxb", chat.slack_url, httpx.AsyncClient(limits=_pool()))
        relay = Relay(
            engine,
            _charter(),
            {"slack": sender},
            pacer=Pacer(Limits({}, {})),
            concurrency=CONCURRENCY,
        )
        start = time.monotonic()
        await relay.run_until_idle(600)
        relayed = time.monotonic() - start
        await sender.aclose()
        engine.dispose()
    body = {"text": "x" * 200, "unfurl_links": False, "unfurl_media": False}
    slots = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(limits=_pool()) as client:

        async def post(channel: str) -> None:
            async with slots:
                resp = await client.post(
                    chat.slack_url + "chat.postMessage",
                    json={**body, "channel": channel + "b"},
                    headers={"Authorization": "Bearer xoxb"},
                )
                resp.raise_for_status()

        start = time.monotonic()
        await asyncio.gather(*(post(c) for _, c in channels))
        bare = time.monotonic() - start
    chat.finish()
    return {
        "messages": n,
        "relay_seconds": round(relayed, 3),
        "bare_seconds": round(bare, 3),
        "relay_ms_per_message": round(relayed / n * 1000, 3),
        "bare_ms_per_message": round(bare / n * 1000, 3),
        "overhead_ms_per_message": round((relayed - bare) / n * 1000, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--discord-share", type=float, default=0.5)
    parser.add_argument("--overhead-messages", type=int, default=500)
    args = parser.parse_args()
    one = await part1(args.channels, args.discord_share)
    print("fan-out under limits:", json.dumps(one))
    two = await part2(args.overhead_messages)
    print("relay overhead:      ", json.dumps(two))


if __name__ == "__main__":
    asyncio.run(main())
