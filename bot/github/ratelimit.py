"""Rate limits: when to retry a refused GitHub call, and how fast to write.

Rules (GitHub REST docs, "Rate limits" and "Best practices"):
- On 403 or 429: if `retry-after` is present, wait that many seconds; else if
  `x-ratelimit-remaining` is 0, wait until `x-ratelimit-reset` (UTC epoch seconds); else, for a
  secondary limit, wait at least one minute, then back off exponentially and give up after N.
  A 403 that is none of these (a permission problem) is not retried.
- Giving up keeps the wait GitHub asked for: the error (:class:`RateLimitExhausted`) carries it
  as ``retry_after``, so a relay retries no sooner instead of calling again while limited.
- The throttle is shared by everything that calls GitHub with the same token (the relays, the
  reconciler, the poller), and so is GitHub's "not before": every refusal holds the throttle
  until the time GitHub gave, read from the throttle's own clock when the refusal is handled
  (a caller's idea of "now" may be minutes old by then). Until it passes, no call is made at
  all, reads included: a new call is refused at once with :class:`RateLimitHeld`, which says
  how long is left; a call already waiting out a refusal in-call waits for the hold instead.
- Content-creating requests: at most 80 per minute and 500 per hour, at least 1 s apart.
  Continuing while limited can get the integration banned, so we pace ourselves up front.

Clocks and sleep are injected so tests run on a fake clock in no time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from bot.ports import GitHubRateLimited

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")

SECONDARY_MARKERS = (
    "secondary rate limit",
    "please retry your request again later",
    "please wait a few minutes before you try again",
    "abuse detection",
)


@dataclass(frozen=True)
class RateLimitAnswer:
    """What GitHub answered: HTTP status, headers (lowercase names) and the body's message."""

    status: int
    headers: Mapping[str, str]
    message: str = ""


@dataclass(frozen=True)
class Retry:
    wait: float
    reason: str


@dataclass(frozen=True)
class GiveUp:
    reason: str
    wait: float = 0.0  # how long GitHub still asks us to wait


class RateLimitExhausted(GitHubRateLimited):
    """The policy gave up; ``retry_after``: seconds until GitHub should accept the call again."""

    def __init__(self, message: str, *, status: int, retry_after: float) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class RateLimitHeld(RateLimitExhausted):
    """Not called at all: an earlier refusal still holds for ``retry_after`` seconds."""


@dataclass(frozen=True)
class RetryPolicy:
    """Pure decision table for refused calls; see the module docstring for the rules."""

    max_retries: int = 4
    secondary_floor: float = 60.0
    backoff: float = 2.0
    max_wait: float = 3600.0

    def decide(self, answer: RateLimitAnswer, *, retries: int, now: float) -> Retry | GiveUp | None:
        """None: not a rate limit (let the error through). `retries` = retries already made;
        `now` = wall-clock epoch seconds (to compare with `x-ratelimit-reset`)."""
        if answer.status not in (403, 429):
            return None
        wait, reason = self._wait(answer, retries, now)
        if wait is None:
            return None
        if retries >= self.max_retries:
            return GiveUp(f"{reason}; gave up after {retries} retries", wait)
        if wait > self.max_wait:
            return GiveUp(f"{reason}; the wait of {wait:.0f} s exceeds {self.max_wait:.0f} s", wait)
        return Retry(wait, reason)

    def _wait(self, answer: RateLimitAnswer, retries: int, now: float) -> tuple[float | None, str]:
        headers = {k.lower(): v for k, v in answer.headers.items()}
        retry_after = _number(headers.get("retry-after"))
        if retry_after is not None:
            return max(retry_after, 0.0), f"HTTP {answer.status} with retry-after {retry_after:g}"
        reset = _number(headers.get("x-ratelimit-reset"))
        if headers.get("x-ratelimit-remaining") == "0" and reset is not None:
            # +1: the reset second itself may still be inside the exhausted window.
            return max(reset - now, 0.0) + 1.0, f"primary rate limit, resets at {reset:.0f}"
        if answer.status == 429 or _is_secondary(answer.message):
            wait = self.secondary_floor * self.backoff**retries
            return wait, f"secondary rate limit (HTTP {answer.status})"
        return None, ""


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _is_secondary(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in SECONDARY_MARKERS)


class WritePacer:
    """Admits one write at a time: ≥ `min_interval` s apart and ≤ `limit` per rolling `window`."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        min_interval: float = 1.0,
        windows: tuple[tuple[int, float], ...] = ((80, 60.0), (500, 3600.0)),
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._min_interval = min_interval
        self._windows = windows
        self._longest = max((w for _, w in windows), default=0.0)
        self._history: deque[float] = deque()
        self._lock = asyncio.Lock()

    def delay(self, now: float) -> float:
        """Seconds until the next write may start (0 if it may start now)."""
        waits = [0.0]
        if self._history:
            waits.append(self._history[-1] + self._min_interval - now)
        for limit, window in self._windows:
            recent = [t for t in self._history if t > now - window]
            if len(recent) >= limit:
                waits.append(recent[-limit] + window - now)
        return max(waits)

    async def acquire(self) -> None:
        """Wait until a write is allowed, then record it as started now."""
        async with self._lock:
            while (wait := self.delay(self._clock())) > 0:
                await self._sleep(wait)
            now = self._clock()
            self._history.append(now)
            while self._history and self._history[0] <= now - self._longest:
                self._history.popleft()


class Throttle:
    """Runs calls under the pacer (writes) and the retry policy (all calls)."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        pacer: WritePacer | None = None,
        *,
        wall_clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.pacer = pacer or WritePacer(sleep=sleep)
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._blocked_until = 0.0  # wall-clock epoch seconds: no call before (GitHub's word)
        self._blocked_by = (429, "")  # the refusal that set it: status and reason

    def blocked_for(self) -> float:
        """Seconds until GitHub accepts calls again, by its last refusal (0: calls may go)."""
        return max(self._blocked_until - self._wall_clock(), 0.0)

    def _block(self, wait: float, status: int, reason: str) -> None:
        """Hold every caller for ``wait`` seconds from now; a hold is never shortened."""
        until = self._wall_clock() + wait
        if until > self._blocked_until:
            self._blocked_until, self._blocked_by = until, (status, reason)

    def _held(self) -> RateLimitHeld:
        status, reason = self._blocked_by
        left = self.blocked_for()
        return RateLimitHeld(
            f"GitHub rate limit: not called, {left:.0f} s of GitHub's wait left ({reason})",
            status=status,
            retry_after=left,
        )

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        write: bool,
        answer_of: Callable[[BaseException], RateLimitAnswer | None],
    ) -> T:
        """Await `call()`, retrying rate-limit refusals as the policy says; other errors pass.
        While GitHub's last refusal holds, nothing is called: :class:`RateLimitHeld`."""
        if self.blocked_for() > 0:
            raise self._held()
        retries = 0
        while True:
            if write:
                await self.pacer.acquire()
            try:
                return await call()
            except Exception as exc:
                answer = answer_of(exc)
                if answer is None:
                    raise
                decision = self.policy.decide(answer, retries=retries, now=self._wall_clock())
                if decision is None:
                    raise
                self._block(decision.wait, answer.status, decision.reason)
                if isinstance(decision, GiveUp):
                    raise RateLimitExhausted(
                        f"GitHub rate limit: {decision.reason}",
                        status=answer.status,
                        retry_after=decision.wait,
                    ) from exc
                await self._wait_out(decision.wait)
                retries += 1

    async def _wait_out(self, wait: float) -> None:
        """Sleep out a refusal in-call, and then any hold another caller's refusal set meanwhile
        (or that the sleep fell short of); a hold longer than the policy waits in-call ends
        the call with :class:`RateLimitHeld`."""
        await self._sleep(wait)
        while (left := self.blocked_for()) > 0:
            if left > self.policy.max_wait:
                raise self._held()
            await self._sleep(left)
