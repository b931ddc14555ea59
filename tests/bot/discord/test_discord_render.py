"""Discord rendering: inert user text, deliberate times and pings, Discord's size limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.discord.render import (
    CONTENT_CHARS,
    DESCRIPTION_CHARS,
    EMBED_TOTAL,
    ERROR_COLOUR,
    FIELD_NAME_CHARS,
    FIELD_VALUE_CHARS,
    MAX_FIELDS,
    TITLE_CHARS,
    DiscordReply,
    escape,
    render,
)
from bot.messages import Button, Mention, Message, When

AT = datetime(2025, 3, 30, 8, 0, tzinfo=UTC)
# A '<' that is not escaped and does not start one of our own tokens.
_LIVE_TOKEN = re.compile(r"(?<!\\)<(?!t:\d+:[FR]>|@\d{15,20}>)")
_MASS = re.compile(r"@(everyone|here)")


def all_text(message: Message) -> list[str]:
    reply = render(message)
    embed = reply.embed
    found = [reply.content, embed.title or "", embed.description or "", embed.footer.text or ""]
    return found + [f.name or "" for f in embed.fields] + [f.value or "" for f in embed.fields]


@pytest.mark.parametrize(
    "hostile",
    [
        "@everyone",
        "@here",
        "<@&123456789012345678>",
        "<@123456789012345678>",
        "<#123456789012345678>",
        "<t:0:R>",
        "[click](https://evil.example)",
        "**bold** __u__ ~~s~~ ||spoiler|| `code`",
        "# heading",
        "> quote",
    ],
)
def test_user_text_is_inert(hostile: str) -> None:
    """User text in title, lines and fields cannot mass-mention, mention, link or open any
    <…> token: mentions get a zero-width space, markdown and < are backslash-escaped."""
    message = Message(
        title=hostile, lines=((hostile,), ("a ", hostile)), fields=((hostile, hostile),)
    )
    for text in all_text(message):
        assert not _MASS.search(text), text
        assert not _LIVE_TOKEN.search(text), text
        assert "](" not in text or "\\[" in text
    assert render(message).pings == ()
    assert render(message).allowed_mentions().to_dict() == {"parse": []}


@pytest.mark.parametrize(
    ("segment", "expected", "pings"),
    [
        (When(AT), "<t:1743321600:F> (<t:1743321600:R>)", ()),
        (Mention("123456789012345678", "discord"), "<@123456789012345678>", (123456789012345678,)),
        (Mention("octocat", "github"), "@octocat", ()),
        (Mention("123456789012345678", "slack"), "@\u200b123456789012345678", ()),
        (Mention("everyone", "discord"), "@\u200beveryone", ()),
    ],
)
def test_deliberate_tokens(segment: When | Mention, expected: str, pings: tuple[int, ...]) -> None:
    """A When shows in each reader's zone (absolute and relative); only a Discord user id on
    the discord surface becomes a ping, and only that user is allowed to be pinged."""
    reply = render(Message(lines=((segment,),)))
    assert reply.embed.description == expected
    assert reply.pings == pings
    allowed = reply.allowed_mentions().to_dict()
    assert allowed["parse"] == []
    assert allowed.get("users", []) == list(pings)


@pytest.mark.parametrize(
    "message",
    [
        Message(title="t" * 1000, lines=(("x" * 10_000,),)),
        Message(lines=(("*" * 10_000,),)),  # every char escaped: doubles in length
        Message(lines=tuple(("<" * 50, When(AT)) for _ in range(200))),
        Message(fields=tuple((f"n{i}" * 100, "v" * 2000) for i in range(30))),
        Message(lines=(("y" * 5000,),), fields=tuple(("k", "v" * 900) for _ in range(25))),
        Message(footer="f" * 5000, lines=(("z" * 5000,),)),
    ],
    ids=["10k", "10k-escaped", "dates", "30-fields", "long-and-fields", "footer"],
)
def test_within_discord_limits(message: Message) -> None:
    """Whatever the size: title ≤ 256, description ≤ 4096, ≤ 25 fields of 256/1024, 6000 in
    total, content ≤ 2000; a cut never splits an escape or a <t:…> token and ends with "…"."""
    reply = render(message)
    embed = reply.embed
    assert len(embed.title or "") <= TITLE_CHARS
    assert len(embed.description or "") <= DESCRIPTION_CHARS
    assert len(embed.fields) <= MAX_FIELDS
    assert all(len(f.name or "") <= FIELD_NAME_CHARS for f in embed.fields)
    assert all(len(f.value or "") <= FIELD_VALUE_CHARS for f in embed.fields)
    assert len(embed) <= EMBED_TOTAL
    assert len(reply.content) <= CONTENT_CHARS
    description = embed.description or ""
    assert not description.endswith("\\…")
    if len(description) >= DESCRIPTION_CHARS - 1:
        assert description.endswith("…")


def test_dates_are_never_split() -> None:
    """A line too long for the description is cut between tokens, never inside <t:…>."""
    reply = render(Message(lines=(("<" * 50, When(AT)) * 200,)))
    description = reply.embed.description or ""
    assert description.endswith("…")
    assert description.count("<t:") == len(re.findall(r"<t:\d+:[FR]>", description))


_LEFT_OUT = re.compile(r"\n… and (\d+) more not shown(: \S+)?$")


def shown_text(reply: DiscordReply) -> str:
    """The description and the fields that go on with it (an invisible name), as one text."""
    embed = reply.embed
    rest = [f.value or "" for f in embed.fields if f.name == "\u200b"]
    return "\n".join([embed.description or "", *rest])


@pytest.mark.parametrize("more", ["", "https://gov.example.org/proposals"])
@pytest.mark.parametrize(
    ("count", "width", "fields"),
    [(120, 60, 0), (60, 200, 0), (1000, 5, 0), (120, 60, 3)],
    ids=["120x60", "60x200", "1000x5", "with-fields"],
)
def test_many_lines_keep_whole_lines_and_count_the_rest(
    count: int, width: int, fields: int, more: str
) -> None:
    """Many lines fill the description and then fields of their own, up to the 6,000 of an
    embed: every shown line whole and in order, and a last line saying how many were left out
    (and where the whole answer is, when the message says). The message's own fields follow."""
    lines = tuple((f"p{i:04d} " + "t" * width,) for i in range(count))
    own = tuple((f"k{i}", "v") for i in range(fields))
    reply = render(Message(title="Open proposals", lines=lines, fields=own, more=more))
    embed = reply.embed
    assert len(embed) <= EMBED_TOTAL
    assert len(embed.description or "") <= DESCRIPTION_CHARS
    assert len(embed.fields) <= MAX_FIELDS
    assert all(0 < len(f.value or "") <= FIELD_VALUE_CHARS for f in embed.fields)
    assert [(f.name, f.value) for f in embed.fields if f.name != "\u200b"] == list(own)
    text = shown_text(reply)
    match = _LEFT_OUT.search(text)
    assert match is not None, text[-80:]
    shown = text[: match.start()].split("\n")
    assert shown == [f"p{i:04d} " + "t" * width for i in range(len(shown))]  # whole, in order
    assert int(match.group(1)) == count - len(shown)
    assert match.group(2) == (f": {more}" if more else None)
    assert len(embed) > EMBED_TOTAL - 2 * (width + 7) - 200 - (1500 if fields else 0)  # room used


def test_what_fits_is_not_shortened() -> None:
    """Lines that fit are all shown, with no note."""
    lines = tuple((f"line {i}",) for i in range(100))
    text = shown_text(render(Message(lines=lines)))
    assert text == "\n".join(f"line {i}" for i in range(100))


def test_many_pings_fit_in_content() -> None:
    """At most 80 users are pinged, and all their tokens fit in the 2,000-char content."""
    people = tuple((Mention(str(10**17 + i), "discord"),) for i in range(150))
    reply = render(Message(lines=people))
    assert len(reply.pings) == 80
    assert len(reply.content) <= CONTENT_CHARS
    assert reply.content.count("<@") == 80


def test_errors_are_ephemeral_and_red() -> None:
    """A failed command is shown only to the asker, marked in the error colour."""
    reply = render(Message(title="No such proposal", ok=False, ephemeral=False))
    assert reply.ephemeral is True
    assert reply.embed.colour is not None
    assert reply.embed.colour.value == ERROR_COLOUR


def test_only_vote_buttons_are_rendered() -> None:
    """Buttons become vote buttons when their id is vote:<n>:<choice>; others are dropped
    (the bot could not answer them after a restart)."""
    reply = render(
        Message(
            buttons=(
                Button("Approve", "vote:42:approve", "primary"),
                Button("Open", "open:42"),
                Button("", "vote:42:abstain"),
            )
        )
    )
    assert [(b.number, b.choice, b.label) for b in reply.buttons] == [
        (42, "approve", "Approve"),
        (42, "abstain", "abstain"),
    ]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a_b", "a\\_b"),
        ("<x>", "\\<x>"),
        ("@everyone", "@\u200beveryone"),
        ("plain words", "plain words"),
    ],
)
def test_escape(raw: str, shown: str) -> None:
    """The escape of user text, spelled out."""
    assert escape(raw) == shown
