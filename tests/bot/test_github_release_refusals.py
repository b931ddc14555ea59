"""A release line that did not count reaches the releasing client's maintainers, over the wire
stand-in: on the proposal's issue, or privately while the proposal is confidential.

Before, a release whose notes said ``charterbot: ready 1 prodution`` (a typo), or one of a
client outside the rollout, got 202 and a ``release-report-refused`` audit entry, and nothing
else: no comment, no message, nothing in the outbox, so nobody learnt the release did not count.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.github.wire import format_time
from charter.lifecycle import State
from charter.proposal import Decision
from storage import rollout_reports as store
from storage.db import session_scope
from storage.models.audit import AuditEntry
from storage.models.core import OutboxRow
from tests.bot.harness import Bot, open_issue
from tests.bot.rollouts.conftest import form, webhook
from tests.standins.github_server import GitHubStandin

M = timedelta(minutes=1)
# The release page on the GitHub the bot talks to (the stand-in's web host, bot.github_web).
URL = "{}/meridian-net/{}/releases/tag/v4.2.0"


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


def accept(bot: Bot, clients: tuple[str, ...], track: str = "protocol-change") -> None:
    """Proposal #1 accepted for ``clients``: its rollout starts now, nothing reported."""
    body = form(track=track, clients=clients, likelihood=1, impact=1)
    issue = bot.standin.store.add_issue("Raise the gas target", body, "alice-aurora", ())
    assert issue.number == 1  # where the bot's comments on #1 go
    open_issue(bot.rt, 1, body)
    stored = bot.gov.load(1)
    assert stored is not None
    now = bot.clock.now()
    with session_scope(bot.rt.engine) as session:
        moved = replace(stored.proposal, state=State.ACCEPTED, decided_at=now)
        bot.gov.apply(session, Decision(moved), "charterbot", now)


def release(bot: Bot, client: str, body: str, action: str = "published") -> dict[str, Any]:
    data = copy.deepcopy(webhook("release", "published"))
    data["action"] = action
    data["repository"]["full_name"] = f"meridian-net/{client}"
    data["release"].update(tag_name="v4.2.0", body=body, published_at=format_time(bot.clock.now()))
    data["release"]["author"]["login"] = "github-actions[bot]"
    if action == "edited":
        data["changes"] = {"body": {"from": ""}}
    return data


async def send(bot: Bot, data: dict[str, Any]) -> None:
    assert (await bot.post("release", data)).status_code == 202
    await bot.settle()


def refused(bot: Bot) -> list[dict[str, Any]]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.kind) == "release-report-refused")
            .order_by(col(AuditEntry.seq))
        ).all()
        return [{"subject": r.subject, **json.loads(r.payload)} for r in rows]


def items(bot: Bot, kind: str) -> list[dict[str, Any]]:
    with session_scope(bot.rt.engine) as session:
        rows = session.exec(select(OutboxRow).where(col(OutboxRow.kind) == kind)).all()
        return [json.loads(r.payload) for r in rows]


def unescaped(bot: Bot, n: int) -> list[str]:
    """The bot's comments on issue ``n`` but the tracking one, Markdown escapes removed."""
    bodies = [c.body for c in bot.issue_comments(n) if "charterbot:tracking" not in c.body]
    return [b.replace("\\", "") for b in bodies]


async def test_a_misspelt_stage_is_answered_once_on_the_issue_with_what_to_write(
    bot: Bot,
) -> None:
    accept(bot, ("eridanus",))
    await bot.advance(M)
    data = release(bot, "eridanus", "Notes.\ncharterbot: ready 1 prodution\n")
    await send(bot, data)
    (said,) = unescaped(bot, 1)
    assert said.startswith("@hana-eridanus The release [v4.2.0 in meridian-net/eridanus](")
    assert f"]({URL.format(bot.standin.base_url, 'eridanus')})" in said
    assert "says `charterbot: ready 1 prodution`, which did not count for #1: unknown stage" in said
    assert "Did you mean `charterbot: ready 1 production`?" in said
    assert "`/ready eridanus production v4.2.0`" in said
    (audited,) = refused(bot)
    assert audited["subject"] == "proposal:1" and audited["told"] == "issue"
    # Redelivered (another delivery id), and the line taken out and put back by edits: the
    # refusal is audited again, but said once.
    await send(bot, data)
    await send(bot, release(bot, "eridanus", "Notes.\ncharterbot: ready 1 prodution\n", "edited"))
    assert len(unescaped(bot, 1)) == 1 and len(items(bot, "comment")) == 1
    assert len(refused(bot)) == 3


async def test_a_client_outside_the_rollout_is_told_the_line_names_another_proposal(
    bot: Bot,
) -> None:
    accept(bot, ("aurora", "borealis"))
    await bot.advance(M)
    await send(bot, release(bot, "dorado", "charterbot: ready 1 staging\n"))
    (said,) = unescaped(bot, 1)
    assert said.startswith("@fatima-dorado @gustav-dorado The release [v4.2.0 in meridian-net/")
    assert "dorado is not in the rollout of #1 (aurora, borealis)" in said
    assert "edit the release to name that one" in said
    with session_scope(bot.rt.engine) as session:
        assert store.ready_reports(session, proposal=1) == []


async def test_a_release_for_a_number_no_proposal_has_is_only_audited(bot: Bot) -> None:
    accept(bot, ("aurora",))
    await bot.advance(M)
    await send(bot, release(bot, "aurora", "charterbot: ready 7 staging\n"))
    (audited,) = refused(bot)
    assert audited["subject"] == "proposal:7" and audited["told"] == "nobody"
    assert items(bot, "comment") == [] and items(bot, "direct-message") == []


async def test_a_confidential_proposal_is_told_only_to_maintainers_who_may_see_it(
    bot: Bot,
) -> None:
    """Security patch #1 (aurora only, undisclosed): aurora's misspelt line goes to aurora's
    maintainers as direct messages, once; dorado's line, which would reveal #1 to dorado,
    reaches nobody but the audit log. Nothing is commented on the issue."""
    accept(bot, ("aurora",), track="security-patch")
    await bot.advance(M)
    data = release(bot, "aurora", "charterbot: ready 1 stagin\n")
    await send(bot, data)
    await send(bot, data)
    sent = items(bot, "direct-message")
    assert sorted(m["login"] for m in sent) == ["alice-aurora", "bob-aurora"]
    text = sent[0]["text"]
    assert text.startswith(
        f"The release v4.2.0 in meridian-net/aurora ({URL.format(bot.standin.base_url, 'aurora')})"
    )
    assert "Did you mean `charterbot: ready 1 staging`?" in text
    await send(bot, release(bot, "dorado", "charterbot: ready 1 staging\n"))
    assert len(items(bot, "direct-message")) == 2
    assert [a["told"] for a in refused(bot)] == ["maintainers", "maintainers", "nobody"]
    assert unescaped(bot, 1) == [] and items(bot, "comment") == []


async def test_a_polled_release_is_answered_once_however_often_it_is_read(
    sqlite_url: str, github: GitHubStandin
) -> None:
    """Without webhooks: the poll reads the release, then its notes edited elsewhere and a
    restarted reader: one comment."""
    bot = Bot.fresh(sqlite_url, github, github_mode="poll")
    try:
        accept(bot, ("eridanus",))
        await bot.advance(M)
        record = bot.standin.store.add_release(
            "meridian-net/eridanus", "v4.2.0", "charterbot: ready 1 prodution\n", "hana-eridanus"
        )
        await bot.advance(M)
        await bot.rt._poll(bot.clock.now())
        await bot.settle()
        record.body += "More notes.\n"
        await bot.advance(M)
        await bot.rt._poll(bot.clock.now())
        await bot.settle()
        (said,) = unescaped(bot, 1)
        assert "`charterbot: ready 1 prodution`" in said
        assert len(items(bot, "comment")) == 1 and [a["told"] for a in refused(bot)] == ["issue"]
    finally:
        await bot.close()
