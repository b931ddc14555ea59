"""The bot's own backticked commands render as code on Discord and Slack, while people's text
beside them stays inert: a hint read "Run \\`/charter link\\`" on Discord (its backticks
escaped as if someone had typed them), and showed its backticks on Slack too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.discord.render import render
from bot.messages import Actor, Code, Message, ours, plain_text
from bot.slack.blocks import WORD_JOINER, render_blocks
from tests.bot.harness import Bot
from tests.standins.github_server import GitHubStandin

HINT = "Run `/charter link` to prove which login is yours."
# People's text: markdown, a code span, mentions, a mass ping.
TITLE = "**Raise** `rm -rf` <@123456789012345678> @everyone"


def _reply() -> Message:
    return Message(lines=(ours(HINT), ("#42 ", TITLE), ("Concern: ", TITLE, " ", *ours(HINT))))


def _discord(message: Message) -> str:
    reply = render(message)
    allowed = reply.allowed_mentions()
    assert (allowed.everyone, allowed.users, allowed.roles) == (False, False, False)
    return reply.embed.description or ""


def _slack(message: Message) -> str:
    return "\n".join(b["text"]["text"] for b in render_blocks(message).blocks if "text" in b)


@pytest.mark.parametrize(
    ("surface", "code", "inert"),
    [
        (
            _discord,
            "Run `/charter link` to prove",
            [
                "\\*\\*Raise\\*\\*",
                "\\`rm -rf\\`",
                "\\<@\u200b123456789012345678>",
                "@\u200beveryone",
            ],
        ),
        (
            _slack,
            "Run `/charter link` to prove",
            [
                f"{WORD_JOINER}*{WORD_JOINER}{WORD_JOINER}*{WORD_JOINER}Raise",
                f"{WORD_JOINER}`{WORD_JOINER}rm -rf{WORD_JOINER}`{WORD_JOINER}",
                "&lt;@123456789012345678&gt;",
            ],
        ),
    ],
    ids=["discord", "slack"],
)
def test_our_commands_are_code_and_peoples_text_stays_inert(
    surface: object, code: str, inert: list[str]
) -> None:
    shown = surface(_reply())  # type: ignore[operator]
    assert shown.count(code) == 2, shown
    for escaped in inert:
        assert shown.count(escaped) == 2, (escaped, shown)


def test_ours_marks_only_backticked_spans_and_plain_text_is_unchanged() -> None:
    assert ours(HINT) == ("Run ", Code("`/charter link`"), " to prove which login is yours.")
    assert [type(s) for s in ours(HINT)] == [str, Code, str]
    assert ours("no code ` here") == ("no code ` here",)
    assert plain_text(Message(lines=(ours(HINT),))) == HINT


def test_a_code_next_to_text_is_not_merged_into_it() -> None:
    """Discord joins adjacent text before escaping ("@" "here"); a Code must stay apart, and a
    Code a renderer cannot show as one span is escaped like any text."""
    shown = _discord(Message(lines=(("@", Code("`here`"), "`x`"),)))
    assert shown == "@`here`\\`x\\`"
    assert _discord(Message(lines=((Code("`a`b`"),),))) == "\\`a\\`b\\`"


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


@pytest.mark.parametrize("command", ["todo", "whoami"])
async def test_an_unlinked_discord_user_reads_the_link_command_as_code(
    bot: Bot, command: str
) -> None:
    stranger = Actor(None, "discord", "123456789012345678", "stranger")
    shown = _discord(bot.gov.run_sync(command, stranger))
    assert "Run `/charter link` to prove which login is yours." in shown, shown
