"""bot.github.replies: a Message as the markdown of a GitHub comment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.github.replies import parse_error_markdown, reply_markdown
from bot.messages import Button, Mention, Message, When

AT = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("message", "markdown"),
    [
        (Message(title="#7 Raise", lines=(("state: voting",),)), "\\#7 Raise\nstate: voting"),
        (Message(title="no", ok=False), "error: no"),
        (Message(lines=(("not yet",),), ok=False), "error: not yet"),
        (Message(lines=(("closes ", When(AT)),)), "closes 2026-03-05T15:00Z"),
        (Message(lines=((Mention("carmen", "github"),),)), "@&#8203;carmen"),
        (Message(fields=(("Seats", "*5*"),)), "**Seats**: \\*5\\*"),
        (
            Message(buttons=(Button("Approve", "vote:7:approve"),)),
            "Vote by commenting `/approve`, `/reject` or `/abstain` (a reason may follow).",
        ),
        (Message(title="t", buttons=(Button("Open", "open:7"),)), "t"),
        (Message(title="t", footer="<script>"), "t\n&lt;script&gt;"),
    ],
    ids=[
        "title-and-line",
        "refusal-title",
        "refusal-line",
        "when-utc",
        "mention-inert",
        "field",
        "vote-buttons",
        "other-buttons",
        "footer",
    ],
)
def test_reply_markdown(message: Message, markdown: str) -> None:
    assert reply_markdown(message) == markdown


@pytest.mark.parametrize(
    ("message", "usage", "markdown"),
    [
        ("'x' is not one.", "/vote approve", "'x' is not one.\n\nUsage:\n```\n/vote approve\n```"),
        ("[a](b)", "/status", "\\[a\\]\\(b\\)\n\nUsage:\n```\n/status\n```"),
        ("m", "a```b", "m\n\nUsage:\n```\nab\n```"),
    ],
    ids=["plain", "input-escaped", "fence-in-usage"],
)
def test_parse_error_markdown(message: str, usage: str, markdown: str) -> None:
    assert parse_error_markdown(message, usage) == markdown
