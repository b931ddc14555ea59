"""A comment's commands run once, when the comment is first stored, whatever the delivery order.

GitHub does not order webhook deliveries: a comment's ``edited`` may be processed before its
``created`` (an out-of-order delivery, or the reconciler recovering a failed ``created`` minutes
later), and poll mode reports a comment it first sees after an edit as ``edited``. Signed
deliveries built from the real payloads in shared/fixtures go into the running app; the poll
test runs the runtime's poll step against the GitHub stand-in.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.bot.harness import Bot, later, slack_settings, valid_body
from tests.bot.test_chat_identity import linked_login, slash
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn

View = dict[str, Any]


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def view_of(bot: Bot, n: int) -> View:
    data: View = (await bot.http.get(f"/api/proposals/{n}")).json()
    return data


def replies_to(bot: Bot, n: int, login: str) -> list[str]:
    return [c.body for c in bot.issue_comments(n) if c.body.startswith(f"@{login} ")]


async def deliver(bot: Bot, payload: dict[str, Any]) -> None:
    assert (await bot.post("issue_comment", payload)).status_code == 202
    await bot.settle()


async def edited_before_created(bot: Bot, n: int, first: str, edited: str, login: str) -> int:
    """A comment written as ``first`` and edited to ``edited`` 20 s later; the ``edited``
    delivery is processed first, the ``created`` one after it. Returns the comment id."""
    created_at = bot.clock.now()
    created = bot.comment_payload("created", n, first, login, created=created_at)
    comment_id = int(created["comment"]["id"])
    bot.clock.advance(timedelta(seconds=20))
    await deliver(bot, bot.comment_payload("edited", n, edited, login, comment_id, created_at))
    await deliver(bot, created)
    return comment_id


def concerns(view: View) -> list[tuple[str, bool]]:
    return [(c["name"], c["resolved"]) for c in view["concerns"]]


# (command, who writes it, what the proposal shows once it ran)
COMMANDS: list[tuple[str, str, Callable[[View], bool]]] = [
    ("/concern gas: the target is too high", "bob-aurora", lambda v: ("gas", False) in concerns(v)),
    ("/resolve fee", "bob-aurora", lambda v: ("fee", True) in concerns(v)),
    ("/withdraw", "alice-aurora", lambda v: v["state"] == "withdrawn"),
]


@pytest.mark.parametrize(
    ("command", "login", "ran"), COMMANDS, ids=["concern", "resolve", "withdraw"]
)
async def test_commands_run_when_the_edit_is_processed_before_the_creation(
    bot: Bot, command: str, login: str, ran: Callable[[View], bool]
) -> None:
    """The edited body's commands run when the ``edited`` delivery stores the comment; the late
    ``created`` is then a version already seen and runs nothing again."""
    n = await bot.open_voting()
    await bot.comment(n, "/concern fee: fees too high", "bob-aurora")  # for /resolve
    await bot.settle()
    before = await view_of(bot, n)
    assert not ran(before)
    await edited_before_created(bot, n, f"{command} (typo", command, login)
    after = await view_of(bot, n)
    assert ran(after), after


async def test_status_is_answered_once_whatever_the_order(bot: Bot) -> None:
    """``/status`` in a comment whose edit arrives first is answered once: not again for the
    late ``created``, nor for a later edit of the stored comment."""
    n = await bot.open_voting()
    comment_id = await edited_before_created(bot, n, "/statsu", "/status", "bob-aurora")
    assert len(replies_to(bot, n, "bob-aurora")) == 1
    bot.clock.advance(timedelta(seconds=20))
    await deliver(bot, bot.comment_payload("edited", n, "/status\n", "bob-aurora", comment_id))
    assert len(replies_to(bot, n, "bob-aurora")) == 1


async def test_an_edit_of_a_stored_comment_still_runs_no_commands(bot: Bot) -> None:
    """Unchanged: once a comment is stored, its edits only count through its votes — a
    ``/concern`` added by an edit is not raised, the vote it changed is recast."""
    n = await bot.open_voting()
    created_at = bot.clock.now()
    comment_id = await bot.comment(n, "/vote reject", "bob-aurora")
    await bot.settle()
    bot.clock.advance(timedelta(seconds=20))
    body = "/vote approve\n/concern gas: the target is too high"
    await deliver(bot, bot.comment_payload("edited", n, body, "bob-aurora", comment_id, created_at))
    view = await view_of(bot, n)
    assert concerns(view) == []
    assert {s["label"]: s["choice"] for s in view["seat_matrix"]}["Aurora"] == "approve"


async def test_a_comment_first_seen_deleted_runs_nothing(bot: Bot) -> None:
    """A comment deleted before its ``created`` is processed never runs its commands."""
    n = await bot.open_voting()
    body = "/concern gas: the target is too high"
    created = bot.comment_payload("created", n, body, "bob-aurora")
    comment_id = int(created["comment"]["id"])
    await deliver(bot, bot.comment_payload("deleted", n, body, "bob-aurora", comment_id))
    await deliver(bot, created)
    assert concerns(await view_of(bot, n)) == []


async def test_a_link_code_in_a_comment_whose_edit_arrives_first_is_claimed(
    sqlite_url: str, github: GitHubStandin, slack: SlackStandIn
) -> None:
    """A ``charterbot link`` code is claimed when the comment is first stored, ``edited`` or not."""
    bot = Bot.fresh(sqlite_url, github, **slack_settings(slack))
    try:
        n = await bot.open_voting()
        answer = await slash(bot, slack, "link", "U0CARMEN")
        code = re.search(r"charterbot link (\S{4}-\S{4})", answer)
        assert code is not None, answer
        line = f"charterbot link {code.group(1)}"
        await edited_before_created(bot, n, "charterbot link", line, "carmen-borealis")
        assert linked_login(bot, "U0CARMEN") == "carmen-borealis"
    finally:
        await bot.close()


async def test_poll_mode_runs_the_commands_of_a_comment_first_seen_edited(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """A comment created and edited between two polls is reported ``edited``: its commands run."""
    bot = Bot.fresh(sqlite_url, github, github_mode="poll")
    try:
        store = bot.standin.store
        n = store.add_issue("Raise", valid_body(), "alice-aurora", ("upgrade-proposal",)).number
        await bot.rt._poll(bot.clock.now())
        await bot.advance(later(days=7, seconds=1))
        await bot.rt._poll(bot.clock.now())
        await bot.settle()
        comment = store.add_comment(n, "/concern gas: too hgih", "bob-aurora")
        store.advance(20)
        store.edit_comment(comment.id, "/concern gas: too high")
        bot.clock.advance(timedelta(seconds=20))
        await bot.rt._poll(bot.clock.now())
        await bot.settle()
        assert concerns(await view_of(bot, n)) == [("gas", False)]
    finally:
        await bot.close()
