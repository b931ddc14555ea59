"""Block Kit rendering: inert user text, deliberate times and mentions, Slack's size limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.messages import Button, Mention, Message, When
from bot.slack.blocks import (
    MAX_BLOCKS,
    SECTION_CHARS,
    TOTAL_CHARS,
    SlackMessage,
    escape,
    escape_entities,
    render_blocks,
)

AT = datetime(2025, 3, 30, 8, 0, tzinfo=UTC)
_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def texts(rendered: SlackMessage) -> list[str]:
    """Every text string Slack will parse in the rendered message, fallback included."""
    found: list[str] = [rendered.text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(rendered.blocks)
    return found


def section_texts(rendered: SlackMessage) -> list[str]:
    return [b["text"]["text"] for b in rendered.blocks if b["type"] == "section" and "text" in b]


@pytest.mark.parametrize(
    "hostile",
    [
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<@U123>",
        "<@U123|boss>",
        "<#C123>",
        "<!subteam^S123>",
        "<http://evil.example|click me>",
        "&lt;!channel&gt;",
        "a > b & c < d",
    ],
)
def test_user_text_never_becomes_markup(hostile: str) -> None:
    """User text in every slot (title, lines, fields, footer, button label) is escaped: no raw
    < or > reaches Slack, and every & starts an entity, so nothing pings or links."""
    message = Message(
        title=hostile,
        lines=((hostile,), ("x", hostile, "y")),
        fields=((hostile, hostile),),
        footer=hostile,
        buttons=(Button(hostile, "vote:1:approve"),),
    )
    for text in texts(render_blocks(message)):
        assert "<" not in text
        assert ">" not in text
        assert not _ENTITY.search(text), text


def test_mrkdwn_is_verbatim() -> None:
    """mrkdwn objects are verbatim, so Slack does not auto-parse @here or bare URLs."""
    rendered = render_blocks(Message(title="t", lines=(("@here http://x.example",),), footer="f"))
    objects = [b["text"] for b in rendered.blocks if "text" in b]
    objects += [e for b in rendered.blocks for e in b.get("elements", ())]
    assert objects
    assert all(o["verbatim"] is True for o in objects if o["type"] == "mrkdwn")


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        (When(AT), "<!date^1743321600^{date_short_pretty} {time}|2025-03-30 08:00 UTC>"),
        (Mention("U0ABC123", "slack"), "<@U0ABC123>"),
        (Mention("W0ABC123", "slack"), "<@W0ABC123>"),
        (Mention("octocat", "github"), "@octocat"),
        (Mention("U0ABC123", "discord"), "@U0ABC123"),
        (Mention("U1> <!channel", "slack"), "@U1&gt; &lt;!channel"),
    ],
)
def test_deliberate_tokens(segment: When | Mention, expected: str) -> None:
    """A When becomes a <!date> token (each reader's zone); only a well-formed Slack user id on
    the slack surface becomes a real mention; anything else is escaped text."""
    [line_section] = section_texts(render_blocks(Message(lines=((segment,),))))
    assert line_section == expected


def test_sixty_lines_fit() -> None:
    """60 short lines stay within 50 blocks and lose nothing."""
    rendered = render_blocks(Message(lines=tuple((f"line {i}",) for i in range(60))))
    assert len(rendered.blocks) <= MAX_BLOCKS
    joined = "\n".join(section_texts(rendered))
    assert all(f"line {i}" in joined for i in range(60))


@pytest.mark.parametrize(
    ("lines", "end"),
    [
        ((("x" * 10_000,),), ""),
        ((("&" * 10_000,),), "…"),
        ((("<" * 4000, When(AT), ">" * 4000),), "…"),
        (tuple(("y" * 2900,) for _ in range(60)), "y\n… and 56 more not shown"),
        (tuple((When(AT),) * 200 for _ in range(5)), ">…\n… and 4 more not shown"),
    ],
    ids=["10k-plain", "10k-ampersands", "brackets-around-date", "60x2900", "many-dates"],
)
def test_long_content_is_cut_within_limits(lines: tuple[tuple[Any, ...], ...], end: str) -> None:
    """Long content: ≤ 50 blocks, ≤ 3000 chars per section, ≤ 12k in total, never cut inside
    an entity or a <!date> token; a line cut is marked with "…", lines left out are counted on
    a last line, and what fits is kept whole."""
    rendered = render_blocks(
        Message(title="T", lines=lines, buttons=(Button("Approve", "vote:1:approve"),))
    )
    sections = section_texts(rendered)
    assert len(rendered.blocks) <= MAX_BLOCKS
    assert all(len(s) <= SECTION_CHARS for s in sections)
    assert sum(len(t) for t in texts(rendered)) <= TOTAL_CHARS + 500  # + fallback and label
    if end:
        assert sections[-1].endswith(end)
    else:
        assert not sections[-1].endswith("…")
        assert "".join(sections).replace("\n", "").count("x") == 10_000
    assert rendered.blocks[-1]["type"] == "actions"  # buttons survive the cut
    for text in sections:
        assert not _ENTITY.search(text)
        assert text.count("<") == text.count(">")  # only whole <!date…> tokens


_LEFT_OUT = re.compile(r"\n… and (\d+) more not shown(: .*)?$")


@pytest.mark.parametrize("more", ["", "https://gov.example.org/proposals"])
@pytest.mark.parametrize(("count", "width"), [(120, 120), (60, 250), (800, 20)])
def test_many_lines_keep_whole_lines_and_count_the_rest(count: int, width: int, more: str) -> None:
    """Many lines: within every limit, each shown line whole, and a last line saying how many
    were left out (and where the whole answer is, as a link, when the message says)."""
    lines = tuple((f"#{i:04d} " + "t" * width,) for i in range(count))
    rendered = render_blocks(Message(title="Open proposals", lines=lines, more=more))
    assert len(rendered.blocks) <= MAX_BLOCKS
    sections = section_texts(rendered)
    assert all(len(s) <= SECTION_CHARS for s in sections)
    assert sum(len(t) for t in texts(rendered)) <= TOTAL_CHARS + 500
    match = _LEFT_OUT.search(sections[-1])
    assert match is not None, sections[-1][-80:]
    shown = "\n".join(sections)[: -len(match.group(0))].split("\n")[1:]  # after the title
    assert shown == [f"#{i:04d} " + "t" * width for i in range(len(shown))]  # whole, in order
    assert int(match.group(1)) == count - len(shown)
    assert match.group(2) == (f": <{more}>" if more else None)


def test_a_more_that_is_no_url_stays_text() -> None:
    """``more`` becomes a link only when it is a well-formed http(s) URL; else inert text."""
    lines = tuple(("x" * 100,) for _ in range(200))
    rendered = render_blocks(Message(lines=lines, more="<!channel|x>"))
    assert section_texts(rendered)[-1].endswith("more not shown: &lt;!channel|x&gt;")


def test_buttons_and_fields() -> None:
    """Buttons become one actions block (style kept for primary/danger); fields a section."""
    message = Message(
        fields=(("Track", "standard"), ("State", "voting")),
        buttons=(
            Button("Approve", "vote:42:approve", "primary"),
            Button("Reject", "vote:42:reject", "danger"),
            Button("Abstain", "vote:42:abstain"),
        ),
    )
    rendered = render_blocks(message)
    actions = rendered.blocks[-1]
    assert [e["action_id"] for e in actions["elements"]] == [
        "vote:42:approve",
        "vote:42:reject",
        "vote:42:abstain",
    ]
    assert [e.get("style") for e in actions["elements"]] == ["primary", "danger", None]
    [fields] = [b for b in rendered.blocks if "fields" in b]
    assert [f["text"] for f in fields["fields"]] == ["*Track*\nstandard", "*State*\nvoting"]


@pytest.mark.parametrize(
    ("message", "response_type"),
    [(Message(title="a"), "ephemeral"), (Message(title="a", ephemeral=False), "in_channel")],
)
def test_response_type(message: Message, response_type: str) -> None:
    """Ephemeral messages are answered only to the asker; announcements in the channel."""
    assert render_blocks(message).for_respond()["response_type"] == response_type


def test_error_is_marked() -> None:
    """A failed command (ok=False) is visibly marked as an error."""
    rendered = render_blocks(Message.text_only("No such proposal #9", ok=False))
    assert rendered.blocks[0]["text"]["text"].startswith(":warning:")
    assert json.dumps(rendered.blocks).count("No such proposal #9") == 1


W = "\u2060"  # the word joiner that keeps a formatting character inside a word


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a&b", "a&amp;b"),
        ("<>", "&lt;&gt;"),
        ("&lt;", "&amp;lt;"),
        ("*bold*", f"{W}*{W}bold{W}*{W}"),
        ("_it_ ~s~ `c`", f"{W}_{W}it{W}_{W} {W}~{W}s{W}~{W} {W}`{W}c{W}`{W}"),
        ("snake_case", f"snake{W}_{W}case"),
        ("> quote", f"{W}&gt; quote"),
        ("a\n&gt; typed", "a\n&amp;gt; typed"),  # shows "&gt;" as typed: no quote
        ("a\n  >>> all", f"a\n  {W}&gt;&gt;&gt; all"),
        ("a > b", "a &gt; b"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    """Slack's three control characters become entities (& first, so nothing double-decodes);
    formatting characters get a word joiner on each side, a line's leading > one before it."""
    assert escape(raw) == escaped


_FORMATTING = re.compile(r"[*_~`]")


@pytest.mark.parametrize(
    "hostile",
    [
        "Harmless *ALL CLIENTS MUST UPGRADE NOW* ~withdrawn~ ```",
        "_quietly_ `rm -rf` **twice** __under__",
        "> quoted\n>>> all the rest\n &gt; typed",
        "a*b_c~d`e",
    ],
)
def test_user_text_never_formats(hostile: str) -> None:
    """Each formatting character of people's text stands between word joiners and no line
    starts with a quote's >: Slack, which has no escape character, then opens no bold, italics,
    strike-through, code or quote. That escape is what every mrkdwn slot shows, with only our
    own bold around the title and field names; the text reads the same without the joiners."""
    shown = escape(hostile)
    for m in _FORMATTING.finditer(shown):
        assert shown[m.start() - 1 : m.end() + 1] == f"{W}{m.group()}{W}", shown
    assert not re.search(r"(^|\n)[ \t]*&gt;", shown), shown
    assert shown.replace(W, "") == escape_entities(hostile)
    message = Message(
        title=hostile, lines=((hostile,), ("x ", hostile)), fields=((hostile, hostile),),
        footer=hostile,
    )  # fmt: skip
    blocks = render_blocks(message).blocks
    assert blocks[0]["text"]["text"] == f"*{shown}*"
    assert blocks[1]["text"]["text"] == f"{shown}\nx {shown}"
    assert blocks[2]["fields"][0]["text"] == f"*{shown}*\n{shown}"
    assert blocks[3]["elements"][0]["text"] == shown


def test_our_own_links_keep_their_characters() -> None:
    """A ``more`` link is ours: its URL keeps its _ and ~, only entities escaped."""
    url = "https://gov.example.org/~ops/open_proposals?a=1&b=2"
    lines = tuple(("x" * 100,) for _ in range(200))
    last = section_texts(render_blocks(Message(lines=lines, more=url)))[-1]
    assert last.endswith(": <https://gov.example.org/~ops/open_proposals?a=1&amp;b=2>")
