"""The go/no-go call's decide hint is the bot's own wording: its commands render as code on
Discord and Slack, while the call's title beside it (people's text) stays inert (before: the
whole reply was plain text, so Discord showed "\\`go\\`" with escaped backticks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.discord.render import render
from bot.messages import Code, Message
from bot.slack.blocks import WORD_JOINER, render_blocks
from storage.db import session_scope
from storage.models.meetings import AdhocMeetingRow
from tests.bot.meetings.conftest import COORDINATOR, charter_with, make_gov
from tests.bot.meetings.test_go_no_go import SOAK_END, on_canary

TITLE = "**Gate** `rm -rf` @everyone"


def _discord(message: Message) -> str:
    return render(message).embed.description or ""


def _slack(message: Message) -> str:
    return "\n".join(b["text"]["text"] for b in render_blocks(message).blocks if "text" in b)


def _hint(db_url: str) -> Message:
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov)
    gov.tick(now)
    with session_scope(gov.engine) as session:
        row = session.get(AdhocMeetingRow, "go-no-go-7-production")
        assert row is not None
        row.title = TITLE
    during = datetime(2026, 6, 15, 10, 20, tzinfo=UTC)
    reply = gov.run_sync("meeting decide later", COORDINATOR, during)
    gov.engine.dispose()
    return reply


@pytest.mark.parametrize(
    ("surface", "inert"),
    [
        (_discord, ["\\*\\*Gate\\*\\*", "\\`rm -rf\\`", "@\u200beveryone"]),
        (
            _slack,
            [
                f"{WORD_JOINER}*{WORD_JOINER}{WORD_JOINER}*{WORD_JOINER}Gate",
                f"{WORD_JOINER}`{WORD_JOINER}rm -rf{WORD_JOINER}`{WORD_JOINER}",
            ],
        ),
    ],
    ids=["discord", "slack"],
)
def test_the_decide_hint_is_code_and_the_title_stays_text(
    db_url: str, surface: Callable[[Message], str], inert: list[str]
) -> None:
    reply = _hint(db_url)
    assert reply.ok
    assert Code("`/charter meeting decide go, all green`") in reply.lines[0]
    assert not isinstance(reply.lines[0][0], Code) and TITLE in reply.lines[0][0]
    shown = surface(reply)
    for code in ("`go`", "`no-go`", "`/charter meeting decide go, all green`"):
        assert code in shown, (code, shown)
    for escaped in inert:
        assert escaped in shown, (escaped, shown)
