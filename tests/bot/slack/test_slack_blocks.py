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
    ("lines", "cut"),
    [
        ((("x" * 10_000,),), False),
        ((("&" * 10_000,),), True),
        ((("<" * 4000, When(AT), ">" * 4000),), True),
        (tuple(("y" * 2900,) for _ in range(60)), True),
        (tuple((When(AT),) * 200 for _ in range(5)), True),
    ],
    ids=["10k-plain", "10k-ampersands", "brackets-around-date", "60x2900", "many-dates"],
)
def test_long_content_is_cut_within_limits(lines: tuple[tuple[Any, ...], ...], cut: bool) -> None:
    """Long content: ≤ 50 blocks, ≤ 3000 chars per section, ≤ 12k in total, never cut inside
    an entity or a <!date> token; a cut is marked with "…", and what fits is kept whole."""
    rendered = render_blocks(
        Message(title="T", lines=lines, buttons=(Button("Approve", "vote:1:approve"),))
    )
    sections = section_texts(rendered)
    assert len(rendered.blocks) <= MAX_BLOCKS
    assert all(len(s) <= SECTION_CHARS for s in sections)
    assert sum(len(t) for t in texts(rendered)) <= TOTAL_CHARS + 500  # + fallback and label
    assert sections[-1].endswith("…") == cut
    if not cut:
        assert "".join(sections).replace("\n", "").count("x") == 10_000
    assert rendered.blocks[-1]["type"] == "actions"  # buttons survive the cut
    for text in sections:
        assert not _ENTITY.search(text)
        assert text.count("<") == text.count(">")  # only whole <!date…> tokens


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


@pytest.mark.parametrize(
    ("raw", "escaped"), [("a&b", "a&amp;b"), ("<>", "&lt;&gt;"), ("&lt;", "&amp;lt;")]
)
def test_escape(raw: str, escaped: str) -> None:
    """Slack's three control characters become entities (& first, so nothing double-decodes)."""
    assert escape(raw) == escaped
