"""Slack slash commands per second through Bolt's dispatcher: our app against bare Bolt.

Both apps get the same pre-signed ``/charter`` requests through ``app.async_dispatch`` in the
same run. The Web API and response_url go to the Slack stand-in, run in its own process on
127.0.0.1 as Slack's servers would be elsewhere, so its work is not billed to the bot.

Three apps, measured in one run, alternating, after a warm-up round:
- bare Bolt, ``ack("hello")`` — the brief's hello world: it never answers on response_url;
- bare Bolt, ``ack()`` then ``respond("hello")`` on the same pooled session — the least any app
  that answers a slash command must do;
- charterbot with a fake core: ack, identity, core, Block Kit render, answer on response_url.

Modes:
- ``ack`` (production, ``process_before_response=False``): latency until the ack comes back.
  ``-c 1`` shows the ack path alone (Bolt polls for the ack every 10 ms, so expect ~10 ms for
  every app); the default ``-c 50`` saturates the loop, so work done after the ack (answers are
  awaited before the next app is measured) counts against throughput.
- ``full`` (``process_before_response=True``): dispatch returns after the listener finished.

Goal: charterbot / bare ≤ 1.5×. Run: ``.venv/bin/python bench/chat.py [--mode ack -c 1]``.

Where the time goes (cProfile, ``-c 50``): before the ack both apps run the same Bolt code
(body parsing, signature check, authorization, context, kwargs) and our listener acks first, so
``-c 1`` shows parity (~1.1× from Bolt's 10 ms ack poll). At ``-c 50`` the gap against the
ack-only app is the answer itself, run after the ack on the same loop: about three quarters of
our CPU per request is the response_url POST, which the hello-world app never makes. That POST
is a plain ``session.post`` (slack_sdk's webhook client rebuilt proxy and user-agent settings
for every answer). On a loaded 2-core box runs vary by ±30%; compare medians of several rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from slack_bolt.async_app import AsyncApp  # noqa: E402
from slack_bolt.request.async_request import AsyncBoltRequest  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402
from slack_sdk.webhook.async_client import AsyncWebhookClient  # noqa: E402

from bot.messages import Actor, Button, Message  # noqa: E402
from bot.slack.app import build_slack_app  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"

# The header mapping Bolt's request takes (its values may be strings or lists of strings).
Headers = dict[str, str | Sequence[str]]


class BenchCore:
    """A core that answers at once with a typical small message."""

    async def run(self, text: str, actor: Actor) -> Message:
        return Message(title=f"#{text}", lines=(("ok",),), buttons=(Button("A", "vote:1:approve"),))

    async def identity(self, surface: str, surface_id: str, display: str) -> Actor:
        return Actor(login=None, surface=surface, surface_id=surface_id, display=display)

    async def open_proposals(self, prefix: str) -> list[tuple[int, str]]:
        return []


def signed(n: int, response_url: str) -> tuple[str, Headers]:
    body = (
        "token=x&team_id=T0001&channel_id=C1&user_id=U1&user_name=bench&command=%2Fcharter"
        f"&text=show+{n}&response_url={quote(response_url, safe='')}&trigger_id=t{n}"
    )
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers: Headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={sig}",
    }
    return body, headers


def bare_app(
    api_url: str, process_before_response: bool, answer_on: aiohttp.ClientSession | None = None
) -> AsyncApp:
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=TOKEN, base_url=api_url),
        process_before_response=process_before_response,
    )

    @app.command("/charter")
    async def hello(ack: Any, command: dict[str, Any]) -> None:
        if answer_on is None:
            await ack("hello")
            return
        await ack()
        url = command["response_url"]
        await AsyncWebhookClient(url, session=answer_on).send_dict({"text": "hello"})

    return app


BARE = "bare Bolt: ack('hello')"
BARE_RESPOND = "bare Bolt: ack + respond('hello')"
OURS = "charterbot (fake core)"


@dataclass
class Result:
    name: str
    latencies: list[float]
    elapsed: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def measure(name: str, app: AsyncApp, requests: list[tuple[str, Headers]], c: int) -> Result:
    latencies: list[float] = []
    gate = asyncio.Semaphore(c)

    async def one(body: str, headers: Headers) -> None:
        async with gate:
            start = time.perf_counter()
            response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
            latencies.append(time.perf_counter() - start)
            if response.status != 200:
                raise SystemExit(f"{name}: status {response.status} {response.body}")

    start = time.perf_counter()
    await asyncio.gather(*(one(b, h) for b, h in requests))
    return Result(name, latencies, time.perf_counter() - start)


class StandIn:
    """The Slack stand-in in a child process."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.standins.slack_server"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"
        self.api_url = f"{self.url}/api/"

    def count(self, path: str) -> int:
        with urllib.request.urlopen(f"{self.url}/_count?path={quote(path)}") as answer:
            found: int = json.load(answer)["count"]
            return found

    async def drain(self, path: str, expected: int) -> None:
        """Wait until our background answers have all reached the stand-in."""
        deadline = time.monotonic() + 120
        while expected and await asyncio.to_thread(self.count, path) < expected:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {self.count(path)} of {expected} answers arrived")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def run_mode(
    standin: StandIn, mode: str, n: int, c: int, rounds: int, session: aiohttp.ClientSession
) -> list[Result]:
    before = mode == "full"
    apps = {
        BARE: bare_app(standin.api_url, before),
        BARE_RESPOND: bare_app(standin.api_url, before, session),
        OURS: build_slack_app(
            BenchCore(),
            signing_secret=SECRET,
            bot_token=TOKEN,
            api_url=standin.api_url,
            process_before_response=before,
            http_session=session,
        ),
    }
    results: list[Result] = []
    for r in range(rounds + 1):  # round 0 warms up (auth.test, imports, caches)
        for name, app in apps.items():
            path = f"/response/{mode}-{r}-{len(results)}"
            count = n if r else 50
            requests = [signed(i, standin.url + path) for i in range(count)]
            result = await measure(name, app, requests, c)
            await standin.drain(path, 0 if name == BARE else count)
            if r:
                results.append(result)
    return results


def report(mode: str, c: int, results: list[Result]) -> None:
    print(f"\nmode={mode} in-flight={c}")
    print(f"{'app':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    by_name: dict[str, list[Result]] = {}
    for res in results:
        by_name.setdefault(res.name, []).append(res)
        print(f"{res.name:34} {res.rate:9.0f} {res.pct(0.50):8.2f} {res.pct(0.99):8.2f}")
    rate = {name: statistics.median(r.rate for r in rs) for name, rs in by_name.items()}
    p50 = {name: statistics.median(r.pct(0.5) for r in rs) for name, rs in by_name.items()}
    for base in (BARE, BARE_RESPOND):
        print(
            f"ours vs {base}: throughput {rate[base] / rate[OURS]:.2f}x slower, "
            f"p50 {p50[OURS] / p50[base]:.2f}x (goal <= 1.5x)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="requests per app per round")
    parser.add_argument("-c", type=int, default=50, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", choices=["ack", "full", "both"], default="both")
    args = parser.parse_args()
    standin = StandIn()
    try:
        async with aiohttp.ClientSession() as session:
            for mode in ("ack", "full") if args.mode == "both" else (args.mode,):
                results = await run_mode(standin, mode, args.n, args.c, args.rounds, session)
                report(mode, args.c, results)
    finally:
        standin.stop()


if __name__ == "__main__":
    asyncio.run(main())
