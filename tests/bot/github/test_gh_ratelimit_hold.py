"""GitHub's "not before" is the throttle's, shared by every caller of the token: once GitHub
refused, nothing is called (reads included) until the wait it gave is over, counted from when
the refusal was handled by the throttle's own clock, not from when the call began."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.github.ratelimit import RateLimitAnswer, RateLimitExhausted, RateLimitHeld
from tests.bot.github.test_gh_ratelimit import SECONDARY, Refusals, Refused, answer, answer_of


class Counted:
    """A call that always succeeds and counts how often it was made."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        return "ok"


@pytest.mark.parametrize(
    ("refusals", "max_retries", "in_call", "wait"),
    [
        pytest.param([answer(429, retry_after="7200")], 4, 0.0, 7200.0, id="beyond-max-wait"),
        pytest.param([answer(429, retry_after="60")] * 5, 4, 240.0, 60.0, id="after-4-waits"),
        pytest.param([answer(403, SECONDARY)] * 3, 2, 180.0, 240.0, id="secondary-backoff"),
    ],
)
@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
async def test_after_giving_up_nothing_is_called_until_githubs_wait_is_over(
    fake_clock: Any,
    make_throttle: Any,
    refusals: list[RateLimitAnswer],
    max_retries: int,
    in_call: float,
    wait: float,
    write: bool,
) -> None:
    """The hold starts when the throttle gives up (after its in-call waits), lasts the wait
    GitHub gave, and refuses every call meanwhile without making it."""
    throttle = make_throttle(fake_clock, max_retries=max_retries)
    start = fake_clock()
    with pytest.raises(RateLimitExhausted) as info:
        await throttle.run(Refusals(fake_clock, refusals), write=False, answer_of=answer_of)
    assert not isinstance(info.value, RateLimitHeld) and info.value.retry_after == wait
    refused_at = fake_clock()
    assert refused_at - start == in_call
    call = Counted()
    fake_clock.now = refused_at + wait - 1
    with pytest.raises(RateLimitHeld) as held:
        await throttle.run(call, write=write, answer_of=answer_of)
    assert call.calls == 0
    assert held.value.retry_after == 1.0 and held.value.status == refusals[-1].status
    fake_clock.now = refused_at + wait
    assert await throttle.run(call, write=write, answer_of=answer_of) == "ok"
    assert call.calls == 1


class Gate:
    """A sleep that waits for the test: the clock moves on only when the gate opens."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.sleeping = asyncio.Event()
        self.open = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeping.set()
        await self.open.wait()
        self.clock.now += seconds


async def test_a_refusal_waited_out_in_call_holds_every_other_caller(
    fake_clock: Any, make_throttle: Any
) -> None:
    """While one call waits out GitHub's 7 s in-call, another caller is refused at once, with
    what is left of the 7 s; the waiting call then goes, and so do the others."""
    throttle = make_throttle(fake_clock)
    gate = Gate(fake_clock)
    throttle._sleep = gate.sleep
    first = Refusals(fake_clock, [answer(429, retry_after="7")])
    waiting = asyncio.create_task(throttle.run(first, write=False, answer_of=answer_of))
    await asyncio.wait_for(gate.sleeping.wait(), 5)
    other = Counted()
    for elapsed, left in ((0.0, 7.0), (3.0, 4.0)):
        fake_clock.now = first.attempts[0] + elapsed
        with pytest.raises(RateLimitHeld) as held:
            await throttle.run(other, write=True, answer_of=answer_of)
        assert held.value.retry_after == left
    assert other.calls == 0
    fake_clock.now = first.attempts[0]
    gate.open.set()
    assert await waiting == "ok"
    assert first.attempts[1] - first.attempts[0] == 7.0
    assert await throttle.run(other, write=False, answer_of=answer_of) == "ok"


async def test_a_call_in_flight_when_the_hold_began_does_not_retry_inside_it(
    fake_clock: Any, make_throttle: Any
) -> None:
    """A call already on its way when another caller's refusal set a 7200 s hold is refused
    too (429, retry-after 5): it does not retry after its own 5 s, a hold is never shortened,
    and the hold is longer than the throttle waits in-call, so the call ends, held."""
    throttle = make_throttle(fake_clock)
    answered = asyncio.Event()

    async def in_flight() -> str:
        await answered.wait()
        raise Refused(answer(429, retry_after="5"))

    slow = asyncio.create_task(throttle.run(in_flight, write=False, answer_of=answer_of))
    await asyncio.sleep(0)
    long = Refusals(fake_clock, [answer(429, retry_after="7200")])
    with pytest.raises(RateLimitExhausted):
        await throttle.run(long, write=False, answer_of=answer_of)
    answered.set()
    with pytest.raises(RateLimitHeld) as held:
        await slow
    assert held.value.retry_after == 7200 - 5
    assert fake_clock.sleeps == [5.0]
    assert throttle.blocked_for() == 7200 - 5
