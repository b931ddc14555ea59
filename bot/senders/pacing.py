"""Pacing: send no faster than each platform allows, and pause only what was limited.

Rules:
- Per destination: Slack about 1 message per second per channel (``channel_interval``).
- Per platform: a token bucket (GCRA) of ``capacity`` requests per ``period`` — Discord 50/s,
  GitHub 80 content writes per minute. We run it at ``safety`` (98%) of the stated rate so
  network jitter cannot push arrivals over the platform's line.
- A 429 pauses the destination it came from for ``Retry-After``; only a limit the platform
  marks global (Discord ``global: true``) pauses the whole platform. A route bucket that reports
  ``remaining: 0`` pauses that destination until its ``reset_after``.
- Callers take the platform's concurrency slot *before* the bucket token, so requests that were
  waiting for a slot never leave together in a burst.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.senders.base import SendResult

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    channel_interval: Mapping[str, float] = field(default_factory=lambda: {"slack": 1.0})
    platform_rate: Mapping[str, tuple[int, float]] = field(
        default_factory=lambda: {"discord": (50, 1.0), "github": (80, 60.0)}
    )
    safety: float = 0.98

    def scaled(self, factor: float) -> Limits:
        """Every interval and period times ``factor`` (stand-ins run faster than platforms)."""
        return Limits(
            {k: v * factor for k, v in self.channel_interval.items()},
            {k: (n, p * factor) for k, (n, p) in self.platform_rate.items()},
            self.safety,
        )


class _Bucket:
    """GCRA: ``capacity`` requests per ``period``, a burst of up to ``capacity``."""

    def __init__(self, capacity: int, period: float, safety: float) -> None:
        self.step = period / capacity / safety
        self.tolerance = (capacity - 1) * self.step
        self.tat = 0.0

    def reserve(self, now: float) -> float:
        """The time the next request may leave (and book it)."""
        at = max(now, self.tat - self.tolerance)
        self.tat = max(self.tat, at) + self.step
        return at


class Pacer:
    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits = limits or Limits()
        self._clock = clock
        self._sleep = sleep
        self._next_free: dict[str, float] = {}
        self._paused: dict[str, float] = {}
        self._buckets = {
            name: _Bucket(n, period, self.limits.safety)
            for name, (n, period) in self.limits.platform_rate.items()
        }

    def now(self) -> float:
        return self._clock()

    def paused_until(self, key: str) -> float:
        return self._paused.get(key, 0.0)

    async def _until(self, at: float) -> None:
        delay = at - self._clock()
        if delay > 0:
            await self._sleep(delay)

    async def wait_destination(self, platform: str, destination: str) -> None:
        """Hold until this destination may receive again (spacing and pauses)."""
        while True:
            now = self._clock()
            ready = max(
                now,
                self._next_free.get(destination, 0.0),
                self._paused.get(destination, 0.0),
                self._paused.get(platform, 0.0),
            )
            if ready <= now:
                break
            await self._until(ready)

    def sending(self, platform: str, destination: str) -> None:
        """A request to ``destination`` leaves now: the next may leave one interval later.

        Counted from the moment the request leaves, not from when the wait ended, so time
        spent waiting for a concurrency slot cannot squeeze two requests together.
        """
        interval = self.limits.channel_interval.get(platform, 0.0) / self.limits.safety
        self._next_free[destination] = self._clock() + interval

    async def wait_platform(self, platform: str) -> None:
        """Hold for the platform's global bucket (call with the concurrency slot held)."""
        bucket = self._buckets.get(platform)
        if bucket is not None:
            await self._until(bucket.reserve(self._clock()))
        await self._until(self._paused.get(platform, 0.0))

    def observe(self, platform: str, destination: str, result: SendResult) -> None:
        now = self._clock()
        interval = self.limits.channel_interval.get(platform, 0.0)
        if interval:
            # Also count the spacing from the answer: the platform saw the request before it
            # answered, so the next one arrives at least an interval later however the network
            # delayed either of them (counting only from departure lets jitter squeeze them).
            after = now + interval / self.limits.safety
            self._next_free[destination] = max(self._next_free.get(destination, 0.0), after)
        if result.retry_after is not None:
            key = platform if result.global_limit else destination
            self._paused[key] = max(self._paused.get(key, 0.0), now + result.retry_after)
        if result.bucket_remaining == 0 and result.bucket_reset_after is not None:
            until = now + result.bucket_reset_after
            self._paused[destination] = max(self._paused.get(destination, 0.0), until)
