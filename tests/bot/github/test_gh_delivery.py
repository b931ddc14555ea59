"""The GitHub relays' shared delivery (``bot.github.delivery``): how a rate limit holds a relay
(extended, never shortened, dated after the call), what a failed call does to the item
(permanent or retried, attempts counted once, coordinators told), and posting a comment once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.clock import FixedClock
from bot.github.delivery import GitHubDelivery, comment_once
from bot.github.ratelimit import RateLimitExhausted, RateLimitHeld
from bot.notify_plan import failure_audience
from bot.ports import CommentSnapshot, GitHubError, GitHubGateway, GitHubRateLimited
from charter.load import load_charter
from storage import outbox
from storage.db import session_scope
from storage.models.core import OutboxRow
from storage.times import aware
from tests.paths import reference_charter_text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def limited(wait: float) -> RateLimitExhausted:
    return RateLimitExhausted("GitHub rate limit: gave up", status=429, retry_after=wait)


def held_back(wait: float) -> RateLimitHeld:
    return RateLimitHeld("GitHub rate limit: not called", status=403, retry_after=wait)


def answered(status: int) -> GitHubError:
    return GitHubError(f"GitHub answered {status}", status=status)


def queue(engine: Engine, count: int) -> list[int]:
    """``count`` fresh ``comment`` items; their ids, in order."""
    with session_scope(engine) as session:
        for n in range(count):
            outbox.enqueue(session, kind="comment", payload={"n": n}, now=T0)
        return [r.id for r in session.exec(select(OutboxRow).order_by(col(OutboxRow.id))) if r.id]


def item(engine: Engine, row_id: int) -> tuple[str, int, datetime | None, str | None]:
    with session_scope(engine) as session:
        row = session.get(OutboxRow, row_id)
        assert row is not None
        due = aware(row.next_attempt_at) if row.next_attempt_at else None
        return row.status, row.attempts, due, row.last_error


def notices(engine: Engine) -> list[tuple[str | None, dict[str, object]]]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxRow).where(OutboxRow.kind == "notify")).all()
        return [(r.key, json.loads(r.payload)) for r in rows]


@pytest.mark.parametrize(
    ("refusals", "lag", "until"),
    [
        ([(0, limited(60))], 0, 60),
        ([(0, limited(60)), (10, limited(300))], 0, 310),
        ([(0, limited(600)), (10, limited(60))], 0, 600),
        ([(0, limited(600)), (10, held_back(5))], 0, 600),
        ([(0, held_back(30))], 0, 30),
        ([(0, limited(60))], 240, 300),  # the throttle waited 240 s in-call
        ([(0, limited(60))], -100, 60),  # a clock behind the step's now is not believed
        ([(0, limited(60))], None, 60),  # no clock: the step's now
        ([(0, answered(502))], 0, None),
        ([(0, answered(404))], 0, None),
        ([(0, GitHubRateLimited("limited", status=403))], 0, None),  # no known wait
        ([(0, OSError("unreachable"))], 0, None),
    ],
    ids=[
        "one-refusal",
        "a-longer-wait-extends",
        "a-shorter-wait-never-shortens",
        "a-held-call-never-shortens",
        "a-held-call-holds",
        "dated-after-the-call",
        "clock-behind",
        "no-clock",
        "5xx-holds-nothing",
        "permanent-holds-nothing",
        "no-known-wait",
        "no-answer",
    ],
)
def test_a_rate_limit_holds_the_relay_from_after_the_call_and_is_never_shortened(
    sqlite_engine: Engine,
    refusals: list[tuple[float, BaseException]],
    lag: float | None,
    until: float | None,
) -> None:
    clock = FixedClock(T0)
    delivery = GitHubDelivery(sqlite_engine, None if lag is None else clock)
    ids = queue(sqlite_engine, len(refusals))
    for row_id, (at, exc) in zip(ids, refusals, strict=True):
        now = T0 + at * S
        clock.set(now + (lag or 0) * S)
        delivery.failed(row_id, now, exc, counted=True)
    last = T0 + refusals[-1][0] * S
    if until is None:
        assert not delivery.held(last)
    else:
        assert (delivery.held(T0 + until * S - S), delivery.held(T0 + until * S)) == (True, False)


LAG = 240  # seconds the call took (the throttle's in-call waits)


@pytest.mark.parametrize(
    ("exc", "counted", "status", "attempts", "wait"),
    [
        (answered(404), True, "failed", 1, None),
        (answered(404), False, "failed", 1, None),
        (answered(422), True, "failed", 1, None),
        (answered(401), False, "failed", 1, None),
        (answered(408), True, "pending", 1, 2.0),
        (answered(429), False, "pending", 1, 2.0),
        (answered(502), True, "pending", 1, 2.0),
        (answered(502), False, "pending", 1, 2.0),
        (OSError("unreachable"), True, "pending", 1, 2.0),
        (GitHubRateLimited("limited", status=403), False, "pending", 1, 2.0),
        (limited(60), True, "pending", 1, 60),
        (limited(60), False, "pending", 1, 60),
        (held_back(30), True, "pending", 0, 30),  # never called: no try, the attempt given back
        (held_back(30), False, "pending", 0, 30),
    ],
    ids=[
        "404-counted",
        "404-not-counted",
        "422",
        "401-not-counted",
        "408-timeout",
        "429-without-verdict",
        "5xx-counted",
        "5xx-not-counted",
        "no-answer",
        "rate-limit-without-wait",
        "limit-counted",
        "limit-not-counted",
        "held-counted",
        "held-not-counted",
    ],
)
def test_a_failed_call_fails_the_item_or_retries_it_counting_the_try_once(
    sqlite_engine: Engine,
    exc: BaseException,
    counted: bool,
    status: str,
    attempts: int,
    wait: float | None,
) -> None:
    """``counted``: the relay counted the try before calling out (``begin_attempt``); else the
    failure counts it. A transient failure without a known wait backs off 2^1 s (± jitter)."""
    [row_id] = queue(sqlite_engine, 1)
    if counted:
        with session_scope(sqlite_engine) as session:
            outbox.begin_attempt(session, row_id)
    delivery = GitHubDelivery(sqlite_engine, FixedClock(T0 + LAG * S))
    delivery.failed(row_id, T0, exc, counted=counted)
    got_status, got_attempts, due, error = item(sqlite_engine, row_id)
    assert (got_status, got_attempts) == (status, attempts)
    if wait is None:
        assert (due, error) == (None, f"permanent: {exc}")
    else:
        assert error == str(exc) and due is not None
        assert (due - (T0 + LAG * S)).total_seconds() == pytest.approx(wait, abs=1.0)


CHARTER = load_charter(reference_charter_text(), "reference-charter.yaml").charter


@pytest.mark.parametrize(
    ("exc", "tell", "what", "told"),
    [
        (answered(404), True, "", "GitHub delivery o{id} failed and will not be retried: "),
        (answered(410), True, " (audit head)", "GitHub delivery o{id} (audit head) failed and "),
        (answered(404), False, "", None),
        (answered(502), True, "", None),
        (limited(60), True, "", None),
    ],
    ids=["told", "told-what", "nobody-to-tell", "retried-not-told", "limited-not-told"],
)
def test_the_coordinators_hear_of_an_item_failed_for_good_in_its_transaction(
    sqlite_engine: Engine, exc: BaseException, tell: bool, what: str, told: str | None
) -> None:
    [row_id] = queue(sqlite_engine, 1)
    delivery = GitHubDelivery(sqlite_engine, None, tell=CHARTER if tell else None, what=what)
    delivery.failed(row_id, T0, exc, counted=False)
    if told is None:
        assert notices(sqlite_engine) == []
        return
    [(key, payload)] = notices(sqlite_engine)
    assert key == f"notify:github-failed:{row_id}"
    assert payload["roles"] == list(failure_audience(CHARTER))
    text = str(payload["text"])
    assert text.startswith(told.format(id=row_id)) and text.endswith(f"permanent: {exc}")


async def test_a_run_reads_nothing_while_held_and_stops_at_the_item_that_brings_a_hold(
    sqlite_engine: Engine,
) -> None:
    """The second of three items is refused with "wait 60 s": the third is not tried; nothing
    is even read until the 60 s are over; then both go."""
    ids = queue(sqlite_engine, 3)
    delivery = GitHubDelivery(sqlite_engine, None)
    reads: list[datetime] = []
    refuse = {ids[1]}

    def due(now: datetime) -> list[int]:
        reads.append(now)
        with session_scope(sqlite_engine) as session:
            return [r.id for r in outbox.due(session, now=now, limit=10) if r.id]

    async def deliver(row_id: int, now: datetime) -> int:
        if row_id in refuse:
            refuse.discard(row_id)
            delivery.failed(row_id, now, limited(60), counted=False)
            return 0
        delivery.sent(row_id, now, f"c{row_id}")
        return 1

    def states() -> list[tuple[str, int]]:
        return [item(sqlite_engine, i)[:2] for i in ids]

    assert await delivery.run(T0, due, deliver) == 1
    assert states() == [("sent", 0), ("pending", 1), ("pending", 0)]
    assert await delivery.run(T0 + 59 * S, due, deliver) == 0
    assert reads == [T0]
    assert await delivery.run(T0 + 60 * S, due, deliver) == 2
    assert states() == [("sent", 0), ("sent", 1), ("sent", 0)]
    with session_scope(sqlite_engine) as session:
        posted = session.exec(select(OutboxRow.platform_message_id).order_by(col(OutboxRow.id)))
        assert list(posted) == [f"c{i}" for i in ids]


@dataclass
class Comments:
    """Just enough of a gateway for ``comment_once``: one issue's comments."""

    bodies: dict[str, str] = field(default_factory=dict)
    looked: int = 0

    async def find_comment_with_marker(self, number: int, marker: str) -> CommentSnapshot | None:
        self.looked += 1
        for comment_id, body in self.bodies.items():
            if marker in body:
                return CommentSnapshot(comment_id, number, "charterbot", body, T0, T0)
        return None

    async def create_comment(self, number: int, body: str) -> str:
        comment_id = f"c{len(self.bodies) + 1}"
        self.bodies[comment_id] = body
        return comment_id


@pytest.mark.parametrize(
    ("earlier", "attempts", "posted", "looked"),
    [
        ({}, 0, "c1", 0),  # a first try does not look
        ({}, 1, "c1", 1),
        ({"c1": "hi\n\n<!-- charterbot:outbox:7 -->"}, 1, "c1", 1),  # found: not posted again
        ({"c1": "hi\n\n<!-- charterbot:outbox:70 -->"}, 1, "c2", 1),  # another item's marker
    ],
    ids=["first-try", "retry-nothing-found", "retry-found", "retry-other-item"],
)
async def test_a_comment_carries_its_item_marker_and_a_retry_posts_it_once(
    earlier: dict[str, str], attempts: int, posted: str, looked: int
) -> None:
    gateway = Comments(dict(earlier))
    got = await comment_once(cast(GitHubGateway, gateway), 7, 12, "hi", attempts)
    assert (got, gateway.looked) == (posted, looked)
    assert gateway.bodies[posted] == "hi\n\n<!-- charterbot:outbox:7 -->"
    assert len(gateway.bodies) == len(earlier) + (posted not in earlier)
