"""When the throttle gives up on a rate limit, the error still says how long GitHub asked us to
wait, so the caller can retry no sooner (instead of its generic 1–2 s backoff)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.github.ratelimit import RateLimitAnswer, RateLimitExhausted
from bot.ports import GitHubRateLimited
from tests.bot.github.test_gh_ratelimit import SECONDARY, Refusals, answer, answer_of


def primary_reset_in(seconds: int) -> Any:
    return lambda now: answer(
        403, x_ratelimit_remaining="0", x_ratelimit_reset=str(int(now) + seconds)
    )


@pytest.mark.parametrize(
    ("refusal", "max_retries", "retry_after"),
    [
        pytest.param(primary_reset_in(3600), 4, 3601.0, id="primary-reset-beyond-max-wait"),
        pytest.param(lambda now: answer(429, retry_after="7200"), 4, 7200.0, id="retry-after"),
        pytest.param(lambda now: answer(403, SECONDARY), 2, 240.0, id="secondary-exhausted"),
    ],
)
async def test_giving_up_carries_the_wait(
    fake_clock: Any,
    make_throttle: Any,
    refusal: Any,
    max_retries: int,
    retry_after: float,
) -> None:
    given: RateLimitAnswer = refusal(fake_clock())
    call = Refusals(fake_clock, [given] * 10)
    throttle = make_throttle(fake_clock, max_retries=max_retries)
    with pytest.raises(GitHubRateLimited) as info:
        await throttle.run(call, write=False, answer_of=answer_of)
    assert isinstance(info.value, RateLimitExhausted)
    assert info.value.retry_after == retry_after
    assert info.value.status == given.status
