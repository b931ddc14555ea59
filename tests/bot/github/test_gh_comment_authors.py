"""Only a comment's author speaks through it: an edit or a deletion by someone else (a
collaborator, a moderator) recasts no vote and runs no command; it is audited and answered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from bot.github.edits_by_others import as_written, by_other
from bot.github.events import CommentEvent, comment_event_from_snapshot
from bot.github.handler import encode_polled
from bot.ports import CommentSnapshot
from storage import audit, audit_query
from storage.db import session_scope
from tests.bot.harness import REPO, START, Bot, later
from tests.standins.github_server import GitHubStandin


def _event(action: str, sender: str, previous: str | None = None) -> CommentEvent:
    return CommentEvent(
        action, 7, "c1", "alice-aurora", "/vote reject", START, START, "o/r", sender, previous
    )


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(_event("edited", "mallory"), True, id="edited-by-other"),
        pytest.param(_event("deleted", "mallory"), True, id="deleted-by-other"),
        pytest.param(_event("edited", "alice-aurora"), False, id="edited-by-author"),
        pytest.param(_event("edited", "Alice-Aurora"), False, id="logins-ignore-case"),
        pytest.param(_event("deleted", "alice-aurora"), False, id="deleted-by-author"),
        pytest.param(_event("created", "mallory"), False, id="created"),
        pytest.param(_event("edited", ""), False, id="no-sender"),
        pytest.param(
            comment_event_from_snapshot(
                CommentSnapshot("c1", 7, "alice-aurora", "/vote reject", START, START),
                action="edited",
                repo="o/r",
            ),
            False,
            id="polled: cannot tell",
        ),
    ],
)
def test_by_other(event: CommentEvent, expected: bool) -> None:
    """Someone other than the author edited or deleted it: a webhook's sender says so."""
    assert by_other(event) is expected


@pytest.mark.parametrize(
    ("event", "body"),
    [
        pytest.param(_event("edited", "mallory", "/vote approve"), "/vote approve", id="before"),
        pytest.param(_event("edited", "mallory"), "/vote reject", id="body-unchanged"),
        pytest.param(_event("deleted", "mallory", "/vote approve"), "/vote reject", id="deleted"),
    ],
)
def test_as_written(event: CommentEvent, body: str) -> None:
    """An edit by someone else is read as the text before it."""
    assert as_written(event).body == body


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


def _seat(view: dict[str, Any], label: str = "Aurora") -> tuple[str | None, str | None]:
    [row] = [r for r in view["seat_matrix"] if r["label"] == label]
    return row["choice"], row["reason"]


async def _view(bot: Bot, n: int) -> dict[str, Any]:
    data: dict[str, Any] = (await bot.http.get(f"/api/proposals/{n}")).json()
    return data


async def _change(
    bot: Bot,
    action: str,
    n: int,
    comment_id: int,
    body: str,
    *,
    author: str = "alice-aurora",
    sender: str = "mallory",
    before: str | None = None,
    created: datetime,
) -> None:
    payload = bot.comment_payload(action, n, body, author, comment_id, created)
    payload["sender"]["login"] = sender
    if before is not None:
        payload["changes"] = {"body": {"from": before}}
    assert (await bot.post("issue_comment", payload)).status_code == 202
    await bot.settle()


def _audited(bot: Bot, n: int, kind: str) -> list[dict[str, Any]]:
    with session_scope(bot.rt.engine) as session:
        found = audit_query.entries(session, subject=f"proposal:{n}", kind=kind)
        return [{"actor": e.actor, **audit.payload_of(e.payload)} for e in found]


def _replies(bot: Bot, n: int, to: str) -> list[str]:
    return [c.body for c in bot.issue_comments(n) if c.body.startswith(f"@{to} ")]


async def test_an_edit_by_someone_else_changes_no_vote(bot: Bot) -> None:
    """mallory rewrites alice's vote: it still counts as alice wrote it; the edit is audited
    and mallory is told. alice's own later edit is read against her own text."""
    n = await bot.open_voting()
    created = bot.clock.now()
    alice = await bot.comment(n, "/vote approve ship it", "alice-aurora")
    await bot.settle()
    await bot.advance(later(seconds=30))
    await _change(
        bot, "edited", n, alice, "/vote reject", before="/vote approve ship it", created=created
    )
    assert _seat(await _view(bot, n)) == ("approve", "ship it")
    [entry] = _audited(bot, n, "comment-edited-by-other")
    assert entry == {"actor": "mallory", "comment": str(alice), "author": "alice-aurora",
                     "by": "mallory"}  # fmt: skip
    [reply] = _replies(bot, n, "mallory")
    assert "ignored for voting" in reply and "alice-aurora" in reply

    await bot.advance(later(seconds=30))
    await _change(bot, "edited", n, alice, "/vote abstain", sender="alice-aurora", created=created)
    assert _seat(await _view(bot, n)) == ("abstain", "")


async def test_an_edit_by_someone_else_without_commands_is_only_audited(bot: Bot) -> None:
    """A moderator tidying a discussion comment: recorded, nobody is answered."""
    n = await bot.open_voting()
    created = bot.clock.now()
    note = await bot.comment(n, "I like it", "alice-aurora")
    await bot.settle()
    await bot.advance(later(seconds=30))
    await _change(bot, "edited", n, note, "I like it.", before="I like it", created=created)
    assert len(_audited(bot, n, "comment-edited-by-other")) == 1
    assert _replies(bot, n, "mallory") == []


async def test_a_comment_first_seen_in_someone_elses_edit_is_read_as_written(bot: Bot) -> None:
    """Its ``created`` never arrived: the text before the edit is the author's, and runs."""
    n = await bot.open_voting()
    created = bot.clock.now()
    await bot.advance(later(seconds=30))
    await _change(
        bot, "edited", n, 990001, "/vote reject", before="/vote approve mine", created=created
    )
    assert _seat(await _view(bot, n)) == ("approve", "mine")
    assert len(_audited(bot, n, "comment-edited-by-other")) == 1


async def test_a_deletion_by_someone_else_leaves_the_vote(bot: Bot) -> None:
    """A vote is withdrawn only by its author: a moderator's deletion is audited and
    answered; the author deleting their own comment still withdraws it."""
    n = await bot.open_voting()
    created = bot.clock.now()
    alice = await bot.comment(n, "/vote approve", "alice-aurora")
    note = await bot.comment(n, "me too", "dmitri-borealis")
    await bot.settle()
    await bot.advance(later(seconds=30))
    await _change(bot, "deleted", n, alice, "/vote approve", created=created)
    await _change(bot, "deleted", n, note, "me too", author="dmitri-borealis", created=created)
    assert _seat(await _view(bot, n))[0] == "approve"
    assert len(_audited(bot, n, "comment-deleted-by-other")) == 2
    [reply] = _replies(bot, n, "mallory")  # only the vote's deletion is answered
    assert "its vote still counts" in reply

    await _change(bot, "deleted", n, alice, "/vote approve", sender="alice-aurora", created=created)
    assert _seat(await _view(bot, n))[0] is None


@pytest.mark.parametrize("own_delivery", ["late", "lost"])
async def test_the_authors_edit_is_kept_when_someone_elses_later_edit_arrives_first(
    bot: Bot, own_delivery: str
) -> None:
    """alice edits her approve to a reject; thirty seconds later mallory tidies the comment.
    GitHub delivers mallory's edit first (or alice's never arrives): its ``changes.body.from``
    is alice's text, so her reject is applied then, dated by mallory's edit (no earlier time
    is known). Her own delivery, now older than what is stored, changes nothing more; nor does
    a poll of mallory's version, which it cannot tell from alice's."""
    n = await bot.open_voting()
    created = bot.clock.now()
    alice = await bot.comment(n, "/vote approve", "alice-aurora")
    await bot.settle()
    bot.clock.advance(later(seconds=30))
    own = bot.comment_payload("edited", n, "/vote reject", "alice-aurora", alice, created)
    own["changes"] = {"body": {"from": "/vote approve"}}
    bot.clock.advance(later(seconds=30))
    tidied_at = bot.clock.now()
    await _change(
        bot, "edited", n, alice, "/vote reject (tidied)", before="/vote reject", created=created
    )
    if own_delivery == "late":
        assert (await bot.post("issue_comment", own)).status_code == 202
        await bot.settle()
    snapshot = CommentSnapshot(
        str(alice), n, "alice-aurora", "/vote reject (tidied)", created, tidied_at
    )
    polled = comment_event_from_snapshot(snapshot, action="edited", repo=REPO)
    await bot.rt.store_delivery("poll", f"poll:{alice}", "issue_comment", encode_polled(polled))
    await bot.settle()
    assert _seat(await _view(bot, n)) == ("reject", "")
    stored = bot.gov.load(n)
    assert stored is not None
    [vote] = [v for v in stored.proposal.votes if v.voter == "alice-aurora"]
    assert vote.at == tidied_at
    [reply] = _replies(bot, n, "mallory")
    assert "ignored for voting" in reply


async def test_the_tracking_comment_edited_by_someone_else_is_written_again(bot: Bot) -> None:
    """What GitHub shows must be what the bot wrote: the next sync restores it."""
    n = await bot.open_voting()
    [tracking] = bot.tracking(n)
    written = tracking.body
    forged = written.replace("**voting**", "**accepted**")
    assert forged != written
    bot.standin.store.edit_comment(tracking.id, forged)
    await _change(
        bot, "edited", n, tracking.id, forged, author=bot.standin.bot_login, before=written,
        created=tracking.created_at,
    )  # fmt: skip
    assert bot.standin.store.comments[tracking.id].body == written
    [entry] = _audited(bot, n, "comment-edited-by-other")
    assert entry["tracking"] == "written again"
    assert _replies(bot, n, "mallory") == []


async def test_the_tracking_comment_deleted_by_someone_else_is_posted_again(bot: Bot) -> None:
    n = await bot.open_voting()
    [tracking] = bot.tracking(n)
    del bot.standin.store.comments[tracking.id]
    await _change(
        bot, "deleted", n, tracking.id, tracking.body, author=bot.standin.bot_login,
        created=tracking.created_at,
    )  # fmt: skip
    [again] = bot.tracking(n)
    assert again.id != tracking.id and again.body == tracking.body
    assert [e["by"] for e in _audited(bot, n, "comment-deleted-by-other")] == ["mallory"]
