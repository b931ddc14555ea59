"""Recovering webhook deliveries GitHub failed to make: which attempts count as missed, and the
gateway's reading of GitHub's hook-delivery endpoints (cursor pages, newest first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot.github.gateway import PyGithubGateway
from bot.github.reconcile import MAX_TRIES, WATERMARK, Reconciler, missed
from bot.ports import GitHubError, GitHubNotFound, HookDelivery, HookDeliverySummary
from bot.runtime import paced
from storage import state
from storage.db import read_scope
from tests.standins.github_server import GitHubStandin

T = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def attempt(id_: int, guid: str, status: int) -> HookDeliverySummary:
    return HookDeliverySummary(id_, guid, "issues", status, T)


@pytest.mark.parametrize(
    ("listed", "stored", "expected"),
    [
        ([], set(), []),
        ([attempt(1, "a", 502)], set(), [1]),  # failed, never stored: missed
        ([attempt(1, "a", 0)], set(), [1]),  # could not connect at all
        ([attempt(1, "a", 200)], set(), []),  # delivered
        ([attempt(1, "a", 502)], {"a"}, []),  # stored, but the answer was too late for GitHub
        ([attempt(2, "a", 200), attempt(1, "a", 502)], set(), []),  # redelivered since
        ([attempt(2, "a", 502), attempt(1, "a", 502)], set(), [1]),  # one fetch per event
        ([attempt(3, "c", 502), attempt(2, "b", 201), attempt(1, "a", 504)], set(), [1, 3]),
    ],
    ids=[
        "nothing",
        "failed",
        "unreachable",
        "delivered",
        "stored-late",
        "redelivered",
        "failed-twice",
        "oldest-first",
    ],
)
def test_missed(listed: list[HookDeliverySummary], stored: set[str], expected: list[int]) -> None:
    assert [d.id for d in missed(listed, stored)] == expected


async def test_deliveries_are_listed_newest_first_across_pages(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    store = github_standin.store
    recs = [store.add_delivery("issues", {"action": "opened", "n": i}) for i in range(150)]
    listed = await gateway.list_hook_deliveries(store.hook_id, 0)
    assert [d.id for d in listed] == [r.id for r in reversed(recs)]  # two pages of 100 and 50
    pages = [r for r in github_standin.requests if "/deliveries" in r.path]
    assert len(pages) == 2

    since = await gateway.list_hook_deliveries(store.hook_id, recs[139].id)
    assert [d.id for d in since] == [r.id for r in reversed(recs[140:])]
    assert (since[0].guid, since[0].event, since[0].status_code) == (recs[149].guid, "issues", 502)


async def test_a_delivery_carries_the_payload_github_tried_to_send(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    store = github_standin.store
    rec = store.add_delivery("issue_comment", {"action": "created", "comment": {"id": 7}}, 0)
    delivery = await gateway.get_hook_delivery(store.hook_id, rec.id)
    assert (delivery.guid, delivery.event) == (rec.guid, "issue_comment")
    assert delivery.payload == {"action": "created", "comment": {"id": 7}}


async def test_an_unknown_hook_is_not_found(
    github_standin: GitHubStandin, gateway: PyGithubGateway
) -> None:
    with pytest.raises(GitHubNotFound):
        await gateway.list_hook_deliveries(github_standin.store.hook_id + 1, 0)


class FakeGateway:
    """The two hook-delivery methods of the GitHub port, scripted."""

    def __init__(self, listed: list[HookDeliverySummary]) -> None:
        self.listed = listed
        self.failures: dict[int, list[Exception]] = {}
        self.fetched: list[int] = []

    async def list_hook_deliveries(self, hook_id: int, after_id: int) -> list[HookDeliverySummary]:
        return [d for d in sorted(self.listed, key=lambda d: -d.id) if d.id > after_id]

    async def get_hook_delivery(self, hook_id: int, delivery_id: int) -> HookDelivery:
        self.fetched.append(delivery_id)
        pending = self.failures.get(delivery_id)
        if pending:
            raise pending.pop(0)
        found = next(d for d in self.listed if d.id == delivery_id)
        return HookDelivery(found.guid, found.event, {"action": "created", "n": delivery_id})


async def test_a_gone_delivery_is_skipped_and_a_failed_fetch_is_retried(
    sqlite_engine: Engine,
) -> None:
    """A delivery GitHub no longer has cannot hold up the others; one whose fetch failed for a
    passing reason holds the watermark below it, so the next check (not before its interval)
    fetches it again."""
    gone, flaky, fine = attempt(1, "a", 502), attempt(2, "b", 502), attempt(3, "c", 0)
    gateway = FakeGateway([gone, flaky, fine])
    gateway.failures = {
        1: [GitHubNotFound("gone", status=404)],
        2: [GitHubError("busy", status=502)],
    }
    stored: list[str] = []

    async def store(source: str, key: str, event: str, body: bytes) -> bool:
        stored.append(key)
        return True

    later = T + timedelta(hours=1)
    reconciler = Reconciler(sqlite_engine, gateway, 42, store)  # type: ignore[arg-type]
    check = paced(reconciler.run_once, timedelta(minutes=5))  # as the leader runs it
    assert await check(later) == 0
    assert gateway.fetched == [1, 2] and stored == []
    with read_scope(sqlite_engine) as session:
        assert state.get(session, WATERMARK) == 1  # below the one to retry
    assert await check(later + timedelta(minutes=1)) == 0  # not yet: the interval
    assert gateway.fetched == [1, 2]
    assert await check(later + timedelta(minutes=5)) == 2
    assert gateway.fetched == [1, 2, 2, 3] and stored == ["b", "c"]
    with read_scope(sqlite_engine) as session:
        assert state.get(session, WATERMARK) == 3


async def test_the_watermark_stays_behind_attempts_still_settling(sqlite_engine: Engine) -> None:
    """Deliveries of the last few minutes are checked again next time (an attempt in progress
    may be listed later with a lower id); older ones are not."""
    now = T + timedelta(hours=1)
    recent = HookDeliverySummary(9, "z", "issues", 200, now - timedelta(minutes=1))
    gateway = FakeGateway([attempt(4, "d", 200), recent])

    async def store(source: str, key: str, event: str, body: bytes) -> bool:
        return True

    reconciler = Reconciler(sqlite_engine, gateway, 42, store)  # type: ignore[arg-type]
    assert await reconciler.run_once(now) == 0
    with read_scope(sqlite_engine) as session:
        assert state.get(session, WATERMARK) == 4


async def test_a_refused_or_always_failing_fetch_is_given_up(sqlite_engine: Engine) -> None:
    """A 4xx is not going to pass: skipped at once. A server error is retried on the next
    checks, and skipped after MAX_TRIES, so one bad delivery cannot hold up newer ones."""
    refused, failing, fine = attempt(1, "a", 502), attempt(2, "b", 502), attempt(3, "c", 502)
    gateway = FakeGateway([refused, failing, fine])
    gateway.failures = {
        1: [GitHubError("unprocessable", status=422)],
        2: [GitHubError("bad gateway", status=502) for _ in range(MAX_TRIES)],
    }
    stored: list[str] = []

    async def store(source: str, key: str, event: str, body: bytes) -> bool:
        stored.append(key)
        return True

    reconciler = Reconciler(sqlite_engine, gateway, 42, store)  # type: ignore[arg-type]
    check = paced(reconciler.run_once, timedelta(minutes=5))
    at = T + timedelta(hours=1)
    for _ in range(MAX_TRIES - 1):
        assert await check(at) == 0
        at += timedelta(minutes=5)
    assert await check(at) == 1  # the fifth failure gives up on #2
    assert stored == ["c"] and gateway.fetched.count(1) == 1 and gateway.fetched.count(2) == 5
