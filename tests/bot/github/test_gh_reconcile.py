"""Recovering webhook deliveries GitHub failed to make: which attempts count as missed, and the
gateway's reading of GitHub's hook-delivery endpoints (cursor pages, newest first)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.github.gateway import PyGithubGateway
from bot.github.reconcile import missed
from bot.ports import GitHubNotFound, HookDeliverySummary
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
