"""Rate limits: the retry decision table, the write pacer and the throttle, on a fake clock."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import pytest

from bot.github.ratelimit import (
    GiveUp,
    RateLimitAnswer,
    Retry,
    RetryPolicy,
    Throttle,
    WritePacer,
)
from bot.ports import GitHubRateLimited

NOW = 1_800_000_000.0
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes."


def answer(status: int, message: str = "", **headers: str) -> RateLimitAnswer:
    return RateLimitAnswer(status, {k.replace("_", "-"): v for k, v in headers.items()}, message)


@pytest.mark.parametrize(
    ("given", "retries", "expected"),
    [
        pytest.param(answer(403, retry_after="7"), 0, Retry(7.0, ""), id="retry-after-403"),
        pytest.param(answer(429, retry_after="7"), 0, Retry(7.0, ""), id="retry-after-429"),
        pytest.param(
            answer(403, x_ratelimit_remaining="0", x_ratelimit_reset=str(int(NOW) + 90)),
            0, Retry(91.0, ""), id="primary-waits-past-reset",
        ),
        pytest.param(
            answer(403, retry_after="5", x_ratelimit_remaining="0",
                   x_ratelimit_reset=str(int(NOW) + 90)),
            0, Retry(5.0, ""), id="retry-after-wins-over-reset",
        ),
        pytest.param(
            answer(403, x_ratelimit_remaining="0", x_ratelimit_reset=str(int(NOW) - 10)),
            0, Retry(1.0, ""), id="reset-already-past",
        ),
        pytest.param(answer(403, SECONDARY), 0, Retry(60.0, ""), id="secondary-first-60s"),
        pytest.param(answer(403, SECONDARY), 1, Retry(120.0, ""), id="secondary-backoff-1"),
        pytest.param(answer(403, SECONDARY), 2, Retry(240.0, ""), id="secondary-backoff-2"),
        pytest.param(answer(429), 0, Retry(60.0, ""), id="429-without-headers"),
        pytest.param(answer(403, SECONDARY), 4, GiveUp(""), id="secondary-gives-up-after-N"),
        pytest.param(answer(403, retry_after="7"), 4, GiveUp(""), id="retry-after-gives-up-too"),
        pytest.param(answer(403, retry_after="7200"), 0, GiveUp(""), id="wait-beyond-max"),
        pytest.param(
            answer(403, "Resource not accessible by integration"), 0, None, id="permission-403"
        ),
        pytest.param(answer(404, retry_after="7"), 0, None, id="not-a-limit-status"),
        pytest.param(answer(500), 0, None, id="server-error"),
        pytest.param(answer(403, SECONDARY, retry_after="soon"), 0, Retry(60.0, ""),
                     id="unparseable-retry-after-falls-back"),
    ],
)  # fmt: skip
def test_decision_table(given: RateLimitAnswer, retries: int, expected: Any) -> None:
    """GitHub's rules: retry-after → that; remaining 0 → until reset; secondary → ≥ 60 s,
    doubling; give up after N retries; anything that is not a rate limit is not retried."""
    decision = RetryPolicy(max_retries=4).decide(given, retries=retries, now=NOW)
    if expected is None:
        assert decision is None
    elif isinstance(expected, Retry):
        assert isinstance(decision, Retry)
        assert decision.wait == expected.wait
    else:
        assert isinstance(decision, GiveUp)


class Refusals:
    """A call that fails with given answers first, then succeeds; records attempt times."""

    def __init__(self, clock: Any, answers: list[RateLimitAnswer]) -> None:
        self.clock = clock
        self.answers = list(answers)
        self.attempts: list[float] = []

    async def __call__(self) -> str:
        self.attempts.append(self.clock())
        if self.answers:
            raise Refused(self.answers.pop(0))
        return "ok"


class Refused(Exception):
    def __init__(self, given: RateLimitAnswer) -> None:
        super().__init__(given.status)
        self.given = given


def answer_of(exc: BaseException) -> RateLimitAnswer | None:
    return exc.given if isinstance(exc, Refused) else None


@pytest.mark.parametrize(
    ("refusals", "earliest_retry"),
    [
        pytest.param(lambda start: [answer(403, retry_after="7")], [7.0], id="retry-after-7"),
        pytest.param(
            lambda start: [
                answer(403, x_ratelimit_remaining="0", x_ratelimit_reset=str(int(start) + 90))
            ],
            [90.0],
            id="remaining-0-reset-in-90",
        ),
        pytest.param(
            lambda start: [answer(403, SECONDARY)] * 3,
            [60.0, 60.0 + 120.0, 60.0 + 120.0 + 240.0],
            id="secondary-backoff",
        ),
    ],
)
async def test_throttle_never_retries_early(
    fake_clock: Any,
    make_throttle: Any,
    refusals: Callable[[float], list[RateLimitAnswer]],
    earliest_retry: list[float],
) -> None:
    """No retry is attempted before the wait GitHub asked for has passed."""
    start = fake_clock()
    call = Refusals(fake_clock, refusals(start))
    result = await make_throttle(fake_clock).run(call, write=False, answer_of=answer_of)
    assert result == "ok"
    retries = [t - start for t in call.attempts[1:]]
    assert len(retries) == len(earliest_retry)
    assert all(got >= want for got, want in zip(retries, earliest_retry, strict=True))


async def test_throttle_gives_up_with_a_terminal_error(fake_clock: Any, make_throttle: Any) -> None:
    """After N retries of a secondary limit the caller gets GitHubRateLimited (status kept)."""
    call = Refusals(fake_clock, [answer(403, SECONDARY)] * 10)
    with pytest.raises(GitHubRateLimited, match="gave up after 3 retries") as info:
        await make_throttle(fake_clock, max_retries=3).run(call, write=False, answer_of=answer_of)
    assert info.value.status == 403
    assert len(call.attempts) == 4
    assert fake_clock.sleeps == [60.0, 120.0, 240.0]


async def test_throttle_passes_other_errors_through(fake_clock: Any, make_throttle: Any) -> None:
    """Errors that are not rate limits are raised at once, without sleeping."""

    async def boom() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        await make_throttle(fake_clock).run(boom, write=True, answer_of=answer_of)
    assert fake_clock.sleeps == []


def _max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


@pytest.mark.parametrize(
    ("min_interval", "windows", "writes", "check"),
    [
        pytest.param(1.0, ((80, 60.0), (500, 3600.0)), 200, (80, 60.0), id="default-200-writes"),
        pytest.param(0.0, ((80, 60.0),), 200, (80, 60.0), id="80-per-minute-binds"),
        pytest.param(0.0, ((80, 60.0), (500, 3600.0)), 600, (500, 3600.0), id="500-per-hour"),
    ],
)
async def test_write_pacer_limits(
    fake_clock: Any,
    min_interval: float,
    windows: tuple[tuple[int, float], ...],
    writes: int,
    check: tuple[int, float],
) -> None:
    """Queued writes start ≥ min_interval apart and never exceed a window's limit."""
    pacer = WritePacer(
        clock=fake_clock, sleep=fake_clock.sleep, min_interval=min_interval, windows=windows
    )
    started: list[float] = []

    async def write() -> None:
        await pacer.acquire()
        started.append(fake_clock())

    await asyncio.gather(*(write() for _ in range(writes)))
    assert len(started) == writes
    gaps = [b - a for a, b in itertools.pairwise(started)]
    assert min(gaps) >= min_interval
    limit, window = check
    assert _max_in_window(started, window) <= limit
    if min_interval == 0.0:  # the window limit is what binds: it must be reached, not undershot
        assert _max_in_window(started, window) == limit


async def test_throttle_paces_writes_but_not_reads(fake_clock: Any) -> None:
    """Only writes go through the pacer: reads are never delayed by it."""
    throttle = Throttle(
        RetryPolicy(),
        WritePacer(clock=fake_clock, sleep=fake_clock.sleep),
        wall_clock=fake_clock,
        sleep=fake_clock.sleep,
    )

    async def ok() -> str:
        return "ok"

    for _ in range(3):
        await throttle.run(ok, write=False, answer_of=answer_of)
    assert fake_clock.sleeps == []
    for _ in range(3):
        await throttle.run(ok, write=True, answer_of=answer_of)
    assert fake_clock.sleeps == [1.0, 1.0]
