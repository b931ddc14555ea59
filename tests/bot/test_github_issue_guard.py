"""What the issue itself does to a proposal: deleted or transferred away, closed before it was
ever a proposal, the proposal label removed (or spelt in another case), state labels removed by
hand, the tracking comment deleted, and text no database can store.

Signed webhook deliveries go into the running app; what GitHub holds is read back from the
stand-in, as a reader on GitHub would see it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.ports import GitHubError
from storage import audit, audit_query
from storage.db import session_scope
from tests.bot.harness import Bot, later, valid_body
from tests.bot.test_github_intake import api, deliver, open_issue
from tests.bot.test_github_poll import poll_until_quiet
from tests.standins.github_server import GitHubStandin

BAD = valid_body(**{"### Rollback plan": "### Rollback planX"})  # a draft: no rollback plan


@pytest.fixture
async def bot(engine_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    """A bot on SQLite and on PostgreSQL."""
    b = Bot.fresh(engine_url, github)
    yield b
    await b.close()


@pytest.fixture
async def lite(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


@pytest.fixture
async def polled(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, github_mode="poll")
    yield b
    await b.close()


async def status(bot: Bot, n: int) -> int:
    return (await bot.http.get(f"/api/proposals/{n}")).status_code


def audit_payloads(bot: Bot, n: int, kind: str) -> list[dict[str, Any]]:
    with session_scope(bot.rt.engine) as session:
        found = audit_query.entries(session, subject=f"proposal:{n}", kind=kind)
        return [audit.payload_of(e.payload) for e in found]


def replies(bot: Bot, n: int, words: str) -> list[str]:
    return [c.body for c in bot.issue_comments(n) if words in c.body]


def unlabelled(bot: Bot, n: int, removed: str, body: str = "", **issue: Any) -> dict[str, Any]:
    """The ``unlabeled`` delivery after ``removed`` was taken off issue ``n`` on the stand-in."""
    store = bot.standin.store
    left = [x for x in store.issues[n].labels if x != removed]
    store.edit_issue(n, labels=left)
    payload = bot.issue_payload("unlabeled", n, body or store.issues[n].body)
    payload["issue"]["labels"] = [{"name": x, "id": i} for i, x in enumerate(left)]
    payload["issue"].update(issue)
    payload["label"] = {"name": removed}
    return payload


# -- deleted and transferred issues ----------------------------------------------------------


async def test_a_deleted_issue_withdraws_its_draft_and_reads_nothing(bot: Bot) -> None:
    """The ``deleted`` delivery carries a body that would pass intake: it is not read. The
    proposal is withdrawn, the audit says why, and nothing is posted to the gone issue."""
    n = await open_issue(bot, BAD)
    assert (await api(bot, n))["state"] == "draft"
    comments = len(bot.issue_comments(n))
    payload = bot.issue_payload("deleted", n, valid_body())
    payload["sender"]["login"] = "ines-coord"
    await deliver(bot, "issues", payload)
    view = await api(bot, n)
    assert view["state"] == "withdrawn"
    assert view["fields"]["rollback"] is None  # the deleted issue's body was never read
    assert audit_payloads(bot, n, "proposal-issue-gone") == [
        {"action": "deleted", "by": "ines-coord", "why": "its issue was deleted"}
    ]
    assert len(bot.issue_comments(n)) == comments


async def test_a_transferred_issue_withdraws_its_open_proposal(bot: Bot) -> None:
    n = await open_issue(bot, valid_body())
    assert (await api(bot, n))["state"] == "review"
    payload = bot.issue_payload("transferred", n, valid_body())
    payload["changes"] = {
        "new_issue": {"number": 77, "title": "x"},
        "new_repository": {"full_name": "meridian-net/other"},
    }
    await deliver(bot, "issues", payload)
    assert (await api(bot, n))["state"] == "withdrawn"
    [gone] = audit_payloads(bot, n, "proposal-issue-gone")
    assert gone["action"] == "transferred"
    assert "transferred to another repository" in gone["why"]
    # Voting never opens for it.
    await bot.advance(later(days=8))
    assert (await api(bot, n))["state"] == "withdrawn"


async def test_a_deleted_issue_leaves_a_decided_proposal_and_opens_nothing(lite: Bot) -> None:
    bot = lite
    n = await open_issue(bot, valid_body())
    await deliver(bot, "issues", bot.issue_payload("deleted", n, valid_body()))
    await deliver(bot, "issues", bot.issue_payload("deleted", n, valid_body()))  # redelivered
    assert len(audit_payloads(bot, n, "proposal-issue-gone")) == 1
    other = bot.standin.store.add_issue("t", valid_body(), "alice-aurora", ("upgrade-proposal",))
    await deliver(bot, "issues", bot.issue_payload("deleted", other.number, valid_body()))
    assert await status(bot, other.number) == 404


# -- closed issues ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["labeled", "edited", "opened"])
async def test_a_closed_issue_never_becomes_a_proposal(lite: Bot, action: str) -> None:
    bot = lite
    body = valid_body()
    store = bot.standin.store
    n = store.add_issue("old idea", body, "alice-aurora", ("upgrade-proposal",)).number
    store.edit_issue(n, state="closed")
    payload = bot.issue_payload(action, n, body)
    payload["issue"]["state"] = "closed"
    await deliver(bot, "issues", payload)
    assert await status(bot, n) == 404
    assert bot.issue_comments(n) == []


async def test_poll_mode_an_old_closed_issue_edited_is_not_a_proposal(polled: Bot) -> None:
    bot = polled
    store = bot.standin.store
    n = store.add_issue("2025, settled", valid_body(), "alice-aurora", ("upgrade-proposal",))
    store.edit_issue(n.number, state="closed")
    await bot.advance(later(hours=1))
    await poll_until_quiet(bot)
    store.edit_issue(n.number, title="2025, settled (archived)")
    await bot.advance(later(seconds=60))
    await poll_until_quiet(bot)
    assert await status(bot, n.number) == 404


# -- the proposal label ------------------------------------------------------------------------


async def test_a_draft_without_the_proposal_label_is_not_read(bot: Bot) -> None:
    """Removing the label stops intake: a fixed body is not read until the label is back; the
    author is told once how to restore it."""
    n = await open_issue(bot, BAD)
    bot.standin.store.edit_issue(n, body=valid_body())
    await deliver(bot, "issues", unlabelled(bot, n, "upgrade-proposal", valid_body()))
    assert (await api(bot, n))["state"] == "draft"
    told = replies(bot, n, "no longer has the upgrade-proposal label")
    assert len(told) == 1 and told[0].startswith("@alice-aurora ")
    # Another event while it is still missing: still not read, not told again.
    await bot.advance(later(seconds=60))
    payload = bot.issue_payload("edited", n, valid_body(), changes={"body": {"from": BAD}})
    payload["issue"]["labels"] = []
    await deliver(bot, "issues", payload)
    assert (await api(bot, n))["state"] == "draft"
    assert len(replies(bot, n, "no longer has the upgrade-proposal label")) == 1
    # The label back: the form is read again and the proposal enters review.
    await bot.advance(later(seconds=60))
    bot.standin.store.edit_issue(n, labels=["upgrade-proposal"])
    await deliver(bot, "issues", bot.issue_payload("labeled", n, valid_body()))
    assert (await api(bot, n))["state"] == "review"


async def test_a_label_removed_in_review_freezes_the_form_until_it_is_back(lite: Bot) -> None:
    bot = lite
    n = await open_issue(bot, valid_body())
    await deliver(bot, "issues", unlabelled(bot, n, "upgrade-proposal"))
    [told] = replies(bot, n, "no longer has the upgrade-proposal label")
    assert "stays in review" in told
    assert (await api(bot, n))["state"] == "review"


async def test_a_label_removed_in_voting_ends_nothing(lite: Bot) -> None:
    """From voting on the label cannot end the vote; the author is told once."""
    bot = lite
    n = await bot.open_voting()
    await deliver(bot, "issues", unlabelled(bot, n, "upgrade-proposal"))
    await bot.comment(n, "/vote approve fine", "alice-aurora")
    await bot.settle()
    view = await api(bot, n)
    assert view["state"] == "voting"
    assert [v["voter"] for v in view["votes"]] == ["alice-aurora"]
    [told] = replies(bot, n, "a label cannot end it")
    assert "/withdraw" in told


async def test_the_proposal_label_matches_in_any_case(lite: Bot) -> None:
    """GitHub label names ignore case: ``Upgrade-Proposal`` is the proposal label."""
    bot = lite
    body = valid_body()
    n = bot.standin.store.add_issue("t", body, "alice-aurora", ("Upgrade-Proposal",)).number
    payload = bot.issue_payload("opened", n, body)
    payload["issue"]["labels"] = [{"name": "Upgrade-Proposal", "id": 1}]
    await deliver(bot, "issues", payload)
    assert (await api(bot, n))["state"] == "review"
    assert bot.issue_comments(n) and not replies(bot, n, "label")


# -- state labels and the tracking comment ------------------------------------------------------


async def test_a_state_label_removed_by_hand_in_voting_is_restored(lite: Bot) -> None:
    bot = lite
    n = await bot.open_voting()
    assert "charter:voting" in bot.labels(n)
    await deliver(bot, "issues", unlabelled(bot, n, "charter:voting"))
    assert bot.labels(n) == {"upgrade-proposal", "charter:voting"}


async def test_a_deleted_tracking_comment_is_posted_again(lite: Bot) -> None:
    bot = lite
    n = await open_issue(bot, valid_body())
    [tracking] = bot.tracking(n)
    bot.standin.store.comments.pop(tracking.id)
    payload = bot.comment_payload(
        "deleted", n, tracking.body, "charterbot[bot]", comment_id=tracking.id
    )
    await deliver(bot, "issue_comment", payload)
    await bot.advance(later(days=7, seconds=1))
    assert (await api(bot, n))["state"] == "voting"
    [again] = bot.tracking(n)
    assert again.id != tracking.id and "voting" in again.body.lower()
    assert bot.labels(n) == {"upgrade-proposal", "charter:voting"}
    # The new comment is the one kept: the next change edits it in place.
    await bot.comment(n, "/vote approve fine", "alice-aurora")
    await bot.settle()
    assert [c.id for c in bot.tracking(n)] == [again.id]


async def test_labels_follow_the_state_when_the_comment_step_fails(
    lite: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = lite
    n = await open_issue(bot, valid_body())

    async def refused(*args: Any) -> Any:
        raise GitHubError("comment: GitHub answered 422: locked", status=422)

    monkeypatch.setattr(bot.gateway, "edit_comment", refused)
    await bot.advance(later(days=7, seconds=1))
    assert (await api(bot, n))["state"] == "voting"
    assert bot.labels(n) == {"upgrade-proposal", "charter:voting"}


# -- text no database stores ----------------------------------------------------------------


@pytest.mark.parametrize("odd", ["\ud83d", "\x00"], ids=["lone-surrogate", "nul"])
async def test_unstorable_characters_in_an_issue_are_dropped(bot: Bot, odd: str) -> None:
    body = valid_body(**{"Operators need": f"Operators {odd}need"})
    n = bot.standin.store.add_issue("t", body, "alice-aurora", ("upgrade-proposal",)).number
    payload = bot.issue_payload("opened", n, body, title=f"Raise {odd}the gas target")
    await deliver(bot, "issues", payload)
    view = await api(bot, n)
    assert view["state"] == "review"
    assert view["title"] == "Raise the gas target"
    assert "Operators need to upgrade" in view["fields"]["summary"]


@pytest.mark.parametrize("odd", ["\ud83d", "\x00"], ids=["lone-surrogate", "nul"])
async def test_unstorable_characters_in_a_vote_comment_are_dropped(bot: Bot, odd: str) -> None:
    n = await bot.open_voting()
    await bot.comment(n, f"/vote approve looks {odd}fine", "alice-aurora")
    await bot.settle()
    [vote] = (await api(bot, n))["votes"]
    assert (vote["voter"], vote["choice"], vote["reason"]) == (
        "alice-aurora",
        "approve",
        "looks fine",
    )
