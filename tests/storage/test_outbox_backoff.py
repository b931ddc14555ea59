"""The outbox retry wait (storage.outbox.backoff): 2^n seconds, at most ``MAX_WAIT``, times a
jitter factor in [0.5, 1); a platform's Retry-After wins (never negative)."""

from __future__ import annotations

import random

import pytest

from storage import outbox

LOWEST = 0.0  # what random() can return: [0, 1)
HIGHEST = 1.0 - 2.0**-53


class Fixed(random.Random):
    """An rng whose random() always returns ``value`` (the jitter at one extreme)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(
    ("attempts", "base"),
    [(0, 1.0), (1, 2.0), (3, 8.0), (11, 2048.0), (12, outbox.MAX_WAIT), (1000, outbox.MAX_WAIT)],
)
def test_the_wait_is_2_to_the_n_capped_times_a_jitter_of_half_to_one(
    attempts: int, base: float
) -> None:
    assert outbox.backoff(attempts, rng=Fixed(LOWEST)) == base / 2
    highest = outbox.backoff(attempts, rng=Fixed(HIGHEST))  # rounds to base at most
    assert highest <= base
    assert highest == pytest.approx(base, rel=1e-9)


@pytest.mark.parametrize(("retry_after", "wait"), [(90.0, 90.0), (0.0, 0.0), (-5.0, 0.0)])
def test_retry_after_wins(retry_after: float, wait: float) -> None:
    assert outbox.backoff(30, retry_after, rng=Fixed(HIGHEST)) == wait
