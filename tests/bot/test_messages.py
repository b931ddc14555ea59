"""The message model, the console renderer, and every renderer against hostile text.

The injection corpus and the property test render the same Message three ways (Slack Block
Kit, Discord embed, console) and check each stays inert and within its platform's limits.
"""

from __future__ import annotations

import os
import re
import subprocess
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings, strategies as st

from bot.discord.render import EMBED_TOTAL, render
from bot.messages import (
    Button,
    Mention,
    Message,
    When,
    answer_then_close,
    fit_lines,
    parse_vote_action,
    plain_text,
    vote_action_id,
)
from bot.slack.blocks import MAX_BLOCKS, SECTION_CHARS, SlackMessage, render_blocks

AT = datetime(2025, 3, 30, 8, 0, tzinfo=UTC)

CORPUS = [
    "@everyone",
    "@here",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<@&123>",
    "<@&123456789012345678>",
    "@\u200beveryone and @\u2060here",
    "**bold** _it_ ~~s~~ ||spoiler|| `code` ```block```",
    "[click me](https://evil.example) <https://evil.example|here>",
    "\u200b" * 10_000,
    "x" * 10_240,
    '"; rm -rf / #',
    "$(id)",
    "`id`",
    "${{ github.event.comment.body }}",
    "\x1b[2J\x1b[31mred\x1b[0m\x07",
    "\u202egnp.exe\u202c",
    "line1\nline2\r\nline3",
]
SHELL = ['"; rm -rf / #', "$(id)", "`id`", "${{ github.event.comment.body }}"]


def hostile_message(text: str) -> Message:
    """``text`` in every slot a Message has."""
    return Message(
        title=text,
        lines=((text,), ("before ", text, " ", When(AT), " after"), (Mention(text, "discord"),)),
        fields=((text, text), ("Proposal", text)),
        buttons=(Button(text, "vote:42:approve"),),
        footer=text,
    )


def slack_texts(rendered: SlackMessage) -> list[str]:
    found = [rendered.text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.extend(v for k, v in node.items() if k == "text" and isinstance(v, str))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(rendered.blocks)
    return found


_OWN_SLACK_MENTION = r"<@[UW][A-Z0-9]{2,20}>"


def check_slack(message: Message) -> None:
    rendered = render_blocks(message)
    assert len(rendered.blocks) <= MAX_BLOCKS
    for block in rendered.blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_CHARS
    for text in slack_texts(rendered):
        # the only live tokens are our <!date^…> ones and <@U…> for a Mention of a well-formed
        # Slack user id (as Discord's <@digits>); user text never has a raw < or >
        stripped = re.sub(r"<!date\^-?\d+\^\{date_short_pretty\} \{time\}\|[^<>]*>", "", text)
        stripped = re.sub(_OWN_SLACK_MENTION, "", stripped)
        assert "<" not in stripped, text
        assert ">" not in stripped, text


def check_discord(message: Message) -> None:
    reply = render(message)
    embed = reply.embed
    assert len(embed) <= EMBED_TOTAL
    assert len(reply.content) <= 2000
    assert reply.allowed_mentions().to_dict()["parse"] == []
    texts = [embed.title or "", embed.description or "", reply.content]
    texts += [f.name or "" for f in embed.fields] + [f.value or "" for f in embed.fields]
    for text in texts:
        assert not re.search(r"@(everyone|here)", text), text
        assert not re.search(r"(?<!\\)<(?!t:-?\d+:[FR]>|@\d{15,20}>)", text), text


def check_console(message: Message) -> str:
    shown = plain_text(message)
    for ch in shown:
        assert ch in "\n\t" or unicodedata.category(ch) != "Cc", repr(ch)
        assert not "\u202a" <= ch <= "\u202e", repr(ch)
        assert not "\u2066" <= ch <= "\u2069", repr(ch)
    return shown


@pytest.fixture
def no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering must never start a process; any attempt fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args!r}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(os, "system", refuse)


@pytest.mark.usefixtures("no_subprocess")
@pytest.mark.parametrize("text", CORPUS, ids=lambda t: repr(t[:24]))
def test_injection_corpus_is_inert_everywhere(text: str) -> None:
    """Hostile text in every slot stays inert (no ping, no link, no markup, no terminal control)
    and within limits on Slack, Discord and the console, and starts no process."""
    message = hostile_message(text)
    check_slack(message)
    check_discord(message)
    shown = check_console(message)
    if text in SHELL:
        assert text in shown  # echoed verbatim, as inert text


segments = st.one_of(
    st.text(max_size=300),
    st.builds(
        When,
        st.datetimes(
            min_value=datetime(1970, 1, 2),
            max_value=datetime(2200, 1, 1),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7)), ZoneInfo("Asia/Tokyo")]),
        ),
    ),
    st.builds(Mention, st.text(max_size=40), st.sampled_from(["slack", "discord", "github"])),
)
messages = st.builds(
    Message,
    title=st.text(max_size=400),
    lines=st.lists(st.lists(segments, max_size=6).map(tuple), max_size=40).map(tuple),
    fields=st.lists(st.tuples(st.text(max_size=300), st.text(max_size=1500)), max_size=30).map(
        tuple
    ),
    buttons=st.lists(
        st.builds(
            Button,
            st.text(max_size=100),
            st.one_of(
                st.text(max_size=30),
                st.builds(
                    vote_action_id,
                    st.integers(0, 10**12),
                    st.sampled_from(["approve", "reject", "abstain"]),
                ),
            ),
            st.sampled_from(["primary", "danger", "default"]),
        ),
        max_size=30,
    ).map(tuple),
    ok=st.booleans(),
    ephemeral=st.booleans(),
    footer=st.text(max_size=3000),
)


@settings(max_examples=150, deadline=None)
@given(messages)
@example(Message(title="", lines=((Mention("U00", "slack"),),)))  # our own Slack mention
def test_no_message_breaks_a_renderer(message: Message) -> None:
    """For any Message, all three renderers return output that is inert and within limits."""
    check_slack(message)
    check_discord(message)
    check_console(message)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (None, "due 2025-03-30T08:00Z"),
        (ZoneInfo("Europe/Berlin"), "due 2025-03-30T08:00Z (2025-03-30 10:00 Europe/Berlin)"),
        (
            ZoneInfo("America/Los_Angeles"),
            "due 2025-03-30T08:00Z (2025-03-30 01:00 America/Los_Angeles)",
        ),
    ],
)
def test_console_when(zone: ZoneInfo | None, expected: str) -> None:
    """On the console a When is ISO UTC, plus the local time of the given zone (here across
    Berlin's DST change on 2025-03-30)."""
    assert plain_text(Message(lines=(("due ", When(AT)),)), zone) == expected


def test_console_layout() -> None:
    """Console text: title, lines, "name: value" fields, the command that votes in place of the
    vote buttons (other buttons left out), footer; errors say so."""
    message = Message(
        title="Proposal #42",
        lines=(("by ", Mention("octocat")),),
        fields=(("State", "voting"),),
        buttons=(
            Button("Approve", "vote:42:approve"),
            Button("Reject", "vote:42:reject"),
            Button("Open", "open:42"),
        ),
        footer="charter v1",
    )
    assert plain_text(message) == (
        "Proposal #42\nby @octocat\nState: voting\n"
        "Vote by typing: /charter vote 42 approve|reject|abstain [reason]\ncharter v1"
    )
    assert plain_text(Message(title="t", buttons=(Button("Open", "open:42"),))) == "t"
    assert plain_text(Message.text_only("no such proposal", ok=False)) == "error: no such proposal"


def test_text_only_splits_lines() -> None:
    """Message.text_only makes one line per input line and keeps ok."""
    message = Message.text_only("a\nb", ok=False)
    assert message.lines == (("a",), ("b",))
    assert message.ok is False
    assert message.ephemeral is True


def test_when_needs_a_zone() -> None:
    """A naive datetime is refused: nobody could tell which instant it means."""
    with pytest.raises(ValueError, match="timezone-aware"):
        When(datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("action_id", "parsed"),
    [
        ("vote:42:approve", (42, "approve")),
        ("vote:7:abstain", (7, "abstain")),
        ("vote:42:maybe", None),
        ("vote:-1:approve", None),
        ("vote:٤٢:approve", None),
        ("vote:42:approve\n", None),
        ("xvote:42:approve", None),
    ],
)
def test_parse_vote_action(action_id: str, parsed: tuple[int, str] | None) -> None:
    """Only vote:<ascii digits>:<approve|reject|abstain> is a vote."""
    assert parse_vote_action(action_id) == parsed


def test_vote_action_id_rejects_bad_choice() -> None:
    """Building a vote id with an unknown choice names the valid ones."""
    assert vote_action_id(42, "reject") == "vote:42:reject"
    with pytest.raises(ValueError, match="approve, reject, abstain"):
        vote_action_id(42, "maybe")


class _Journal:
    """The narrowest interface the transports use to close a journalled command."""

    def __init__(self) -> None:
        self.closed: list[tuple[str, str, str | None]] = []

    async def record(self, surface: str, key: str, entry: dict[str, str]) -> bool:
        return True

    async def done(self, surface: str, key: str, error: str | None = None) -> None:
        self.closed.append((surface, key, error))


async def _sent() -> None:
    return None


async def _refused() -> None:
    raise RuntimeError("Discord said 503")


@pytest.mark.parametrize(
    ("send", "closed_with"),
    [
        (_sent, None),
        (_refused, "answer not delivered: RuntimeError: Discord said 503"),
    ],
)
async def test_a_journalled_command_is_closed_once_its_answer_is_tried(
    send: Any, closed_with: str | None
) -> None:
    """Delivered or not, the entry is closed (a replay would run the command twice); a failed
    delivery is recorded as the entry's error and still raised for the transport's log."""
    journal = _Journal()
    if closed_with is None:
        await answer_then_close(journal, "discord", "k1", send())
    else:
        with pytest.raises(RuntimeError, match="503"):
            await answer_then_close(journal, "discord", "k1", send())
    assert journal.closed == [("discord", "k1", closed_with)]
    await answer_then_close(None, "slack", "k2", _sent())  # no journal: just the answer


# -- the When of an announcement's notice -----------------------------------------------------

ANNOUNCED = "2026-06-10T13:00:30+00:00"
CALL_START = "2026-06-11T13:00:00+00:00"  # 15:00 in Berlin (CEST)


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        ("meeting", {"starts_at": CALL_START}, "11.06.2026, 15:00:00 (Europe/Berlin)"),
        ("meeting", {}, "10.06.2026, 15:00:30 (Europe/Berlin)"),  # no call start: the sending
        ("meeting", {"starts_at": "soon"}, "10.06.2026, 15:00:30 (Europe/Berlin)"),
        ("meeting", {"starts_at": "2026-06-11T13:00:00"}, "11.06.2026, 15:00:00 (Europe/Berlin)"),
        ("decision", {"starts_at": CALL_START}, "10.06.2026, 15:00:30 (Europe/Berlin)"),
        ("meeting", None, "10.06.2026, 15:00:30 (Europe/Berlin)"),
    ],
    ids=["call-start", "no-start", "unreadable", "naive-is-utc", "other-kind", "no-data"],
)
def test_a_meeting_notice_says_when_the_call_starts(
    kind: str, data: dict[str, str] | None, expected: str
) -> None:
    """A meeting announcement's When is its call's start, in the reader's zone (a reader in
    Berlin sees 15:00 on the 11th, not the UTC time nor the day the reminder went out); every
    other announcement's When stays the time it was made, as does the notice's own ``when``."""
    from bot.render.model import build_notice

    payload: dict[str, Any] = {"kind": kind, "title": "Reminder", "text": "x", "at": ANNOUNCED}
    if data is not None:
        payload["data"] = data
    notice = build_notice(payload, lang="de", zone="Europe/Berlin")
    assert notice.facts[-1][1] == expected  # the When fact comes last
    assert notice.when == "10.06.2026, 15:00:30 (Europe/Berlin)"


def _split(line: str, room: int) -> tuple[str, str]:
    return line[:room], line[room:]


def _note(count: int) -> str:
    return f"+{count}"


@pytest.mark.parametrize(
    ("lines", "boxes", "budget", "packed"),
    [
        (["aa", "bb", "cc"], [(10, 0)], 100, ["aa\nbb\ncc"]),  # fits: untouched
        (["aa", "bb", "cc"], [(5, 0), (5, 0)], 100, ["aa\nbb", "cc"]),  # next box, whole
        (["aaaa", "bbbb", "cccc"], [(9, 0)], 100, ["aaaa\n+2"]),  # whole lines, then the count
        (["aaaa", "bbbb", "cccc"], [(9, 0), (9, 0)], 11, ["aaaa", "bbbb\n+1"]),  # budget ends
        (["aa", "bb", "cc", "dd"], [(5, 0), (8, 1)], 11, ["aa\nbb", "cc\ndd"]),  # exactly fits
        (["aa", "bb", "cc", "dd"], [(5, 0), (8, 1)], 10, ["aa\nbb", "+2"]),  # a box of its own
        (["x" * 12], [(5, 0), (5, 0), (5, 0)], 100, ["xxxx", "xxxx", "xxxx"]),  # split, kept
        (["x" * 20], [(5, 0), (5, 0)], 100, ["xxxx", "x…"]),  # split, rest left out
        (["x" * 20, "y"], [(5, 0), (9, 0)], 100, ["xxxx", "xxxxx…\n+1"]),
        ([], [(5, 0)], 100, []),
        (["aa"], [], 100, []),
    ],
)
def test_fit_lines(
    lines: list[str], boxes: list[tuple[int, int]], budget: int, packed: list[str]
) -> None:
    """Whole lines fill boxes in order; a line longer than a box is split; what does not fit is
    left out from the end and counted on a last line (in the last box, or one of its own)."""
    assert fit_lines(lines, boxes, budget, _split, _note) == packed
