"""Render a ``Message`` as Slack Block Kit, inert and within Slack's limits.

Rules:
- Every string from the message is escaped (``&`` ``<`` ``>`` → entities), so echoed text such as
  ``<!channel>``, ``<!here>``, ``<@U123>`` or ``<http://x|y>`` shows literally and never pings or
  links. mrkdwn objects are ``verbatim`` so Slack does not auto-parse ``@here`` or bare URLs either.
- mrkdwn has no escape character, so its formatting characters in people's text (``*`` ``_``
  ``~`` and the backtick) get a word joiner (U+2060, invisible) on each side and a ``>`` that
  starts a line one before it: a formatting character then stands inside a word, where Slack
  neither opens nor closes bold, italics, strike-through, code or a quote. A ``*`` in a title
  can then not end our own ``*title*`` either.
- The only live markup is what we emit on purpose: ``<!date^…>`` for a ``When`` (each reader sees
  their own zone), ``<@U…>`` for a ``Mention`` of a well-formed Slack user id, a ``Code`` (the
  bot's own backticked command) as code, ``*…*`` around a title or field name, and ``<URL>``
  for a message's ``more`` when it is a well-formed http(s) URL.
- Limits: ≤ 50 blocks, ≤ 3000 characters per section, ≤ ~12,000 characters in total (Slack
  rejects larger messages with ``msg_blocks_too_long`` near 13.2k). Lines are kept whole
  (:func:`bot.messages.fit_lines`): when some do not fit, the last are left out and a last
  line says how many ("… and 41 more not shown", with ``more`` when given). A line longer
  than a section goes on in the next one; a cut (a line, a title) falls at a safe point
  (never inside an entity, a ``<…>`` token or a joiner pair) and is marked with "…".
- Errors (``ok=False``) are always ephemeral.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.messages import (
    CODE_SPAN,
    Code,
    Line,
    Mention,
    Message,
    Segment,
    When,
    fit_lines,
    left_out,
)

MAX_BLOCKS = 50
SECTION_CHARS = 3000
TOTAL_CHARS = 12_000
TITLE_CHARS = 300
FIELD_CHARS = 500
MAX_FIELDS = 10  # one section; with title and footer at most ~5.8k of the 12k budget
FOOTER_CHARS = 500
BUTTON_LABEL_CHARS = 75
MAX_BUTTONS = 25
FALLBACK_CHARS = 300
ELLIPSIS = "…"

_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
WORD_JOINER = "\u2060"
MRKDWN_CHARS = "*_~`"
_MRKDWN = re.compile(r"([*_~`])")
_QUOTE = re.compile(r"^([ \t]*)&gt;", re.MULTILINE)
_LINK = re.compile(r"^https?://[^\s<>|]+$")

Block = dict[str, Any]


def escape_entities(s: str) -> str:
    """Slack's three control characters as entities (``&`` first: nothing double-decodes).
    Enough where Slack formats nothing: plain_text, and inside our own ``<URL>`` token."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(s: str) -> str:
    """People's text made inert as mrkdwn: entities, then word joiners around formatting
    characters and before a quote's ``>`` (see the module rules)."""
    joined = _MRKDWN.sub(f"{WORD_JOINER}\\1{WORD_JOINER}", escape_entities(s))
    return _QUOTE.sub(f"\\1{WORD_JOINER}&gt;", joined)


def _safe_cut(s: str, n: int) -> int:
    """The largest cut ≤ n that splits no ``&…;`` entity, no ``<…>`` token and no joiner pair
    around a formatting character (half a pair could let that character format again)."""
    if n >= len(s):
        return len(s)
    if n >= 1 and s[n - 1] == WORD_JOINER and s[n] in MRKDWN_CHARS:
        n -= 1
    elif n >= 2 and s[n] == WORD_JOINER and s[n - 1] in MRKDWN_CHARS and s[n - 2] == WORD_JOINER:
        n -= 2
    amp = s.rfind("&", max(0, n - 5), n)
    if amp != -1 and ";" not in s[amp:n]:
        n = amp
    lt = s.rfind("<", 0, n)
    if lt != -1 and ">" not in s[lt:n]:
        n = lt
    return n


def truncate(s: str, n: int) -> str:
    """``s`` (already escaped) cut to at most ``n`` characters, ending in "…" when cut."""
    if len(s) <= n:
        return s
    return s[: _safe_cut(s, n - len(ELLIPSIS))] + ELLIPSIS


def _when(when: When) -> str:
    fallback = when.iso_utc().replace("T", " ").replace("Z", " UTC")
    return f"<!date^{when.unix}^{{date_short_pretty}} {{time}}|{fallback}>"


def _mention(mention: Mention) -> str:
    if mention.surface == "slack" and _SLACK_USER_ID.match(mention.who):
        return f"<@{mention.who}>"
    return "@" + escape(mention.who)


def _segment(seg: Segment) -> str:
    if isinstance(seg, Code) and CODE_SPAN.fullmatch(seg):
        return escape_entities(seg)  # the bot's own command, shown as code
    if isinstance(seg, When):
        return _when(seg)
    if isinstance(seg, Mention):
        return _mention(seg)
    return escape(seg)


def render_line(line: Line) -> str:
    """One line as mrkdwn: user text escaped, times and mentions as Slack tokens."""
    return "".join(_segment(s) for s in line)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _field_blocks(fields: tuple[tuple[str, str], ...]) -> list[Block]:
    items = [
        _mrkdwn(truncate(f"*{escape(k)}*\n{escape(v)}", FIELD_CHARS))
        for k, v in fields[:MAX_FIELDS]
    ]
    return [{"type": "section", "fields": items[i : i + 10]} for i in range(0, len(items), 10)]


def _button(label: str, action_id: str, style: str) -> Block:
    button: Block = {
        "type": "button",
        "text": {
            "type": "plain_text",
            "text": truncate(escape_entities(label), BUTTON_LABEL_CHARS),
        },
        "action_id": action_id[:255],
        "value": action_id[:2000],
    }
    if style in ("primary", "danger"):
        button["style"] = style
    return button


def _chars(block: Block) -> int:
    """Characters of text a block carries (what Slack's total-size check counts)."""
    if "text" in block and isinstance(block["text"], dict):
        return len(block["text"]["text"])
    total = sum(len(f["text"]) for f in block.get("fields", ()))
    total += sum(len(e.get("text", "")) for e in block.get("elements", ()) if e["type"] == "mrkdwn")
    return total


@dataclass(frozen=True)
class SlackMessage:
    """A rendered message: ``text`` is the notification fallback, ``blocks`` the body."""

    text: str
    blocks: list[Block]
    ephemeral: bool

    def for_respond(self) -> dict[str, Any]:
        """Arguments for Bolt's ``respond()`` (response_url)."""
        kind = "ephemeral" if self.ephemeral else "in_channel"
        return {"text": self.text, "blocks": self.blocks, "response_type": kind}

    def for_post(self) -> dict[str, Any]:
        """Arguments for ``chat.postMessage`` / ``say()``."""
        return {"text": self.text, "blocks": self.blocks}


def _split(text: str, room: int) -> tuple[str, str]:
    """A line too long for a section: the part that fits ``room``, cut at a safe point, and the
    rest (for the next section)."""
    cut = _safe_cut(text, room)
    return text[:cut], text[cut:]


def _note(more: str) -> Callable[[int], str]:
    """The last line of a shortened answer: how many lines are left out, and ``more`` (a link
    when it is a well-formed http(s) URL, else escaped text)."""
    where = ""
    if _LINK.match(more):
        where = f": <{escape_entities(more)}>"
    elif more:
        where = f": {escape(more)}"
    return lambda count: escape(left_out(count)) + where


def _fit_lines(message: Message, max_blocks: int, max_chars: int) -> list[Block]:
    """The message's lines as sections within the budgets, whole lines first (see
    :func:`bot.messages.fit_lines`)."""
    texts = [render_line(line) or " " for line in message.lines]  # Slack refuses empty text
    boxes = [(SECTION_CHARS, 0)] * max(0, max_blocks)
    return [_section(t) for t in fit_lines(texts, boxes, max_chars, _split, _note(message.more))]


def render_blocks(message: Message) -> SlackMessage:
    """The Block Kit form of ``message``: escaped, ≤ 50 blocks, ≤ 3000 per section."""
    head: list[Block] = []
    if message.title or not message.ok:
        mark = "" if message.ok else ":warning: "
        title = truncate(escape(message.title), TITLE_CHARS)
        head.append(_section(f"{mark}*{title}*" if title else f"{mark}*Error*"))
    tail = _field_blocks(message.fields)
    if message.footer:
        footer = truncate(escape(message.footer), FOOTER_CHARS)
        tail.append({"type": "context", "elements": [_mrkdwn(footer)]})
    buttons = [_button(b.label, b.action_id, b.style) for b in message.buttons[:MAX_BUTTONS]]
    if buttons:
        tail.append({"type": "actions", "elements": buttons})
    fixed = head + tail
    body = _fit_lines(
        message,
        MAX_BLOCKS - len(fixed),
        TOTAL_CHARS - sum(_chars(b) for b in fixed),
    )
    return SlackMessage(
        text=_fallback(message),
        blocks=head + body + tail,
        ephemeral=message.ephemeral or not message.ok,  # errors only to the asker
    )


def _fallback(message: Message) -> str:
    """Notification text: the title, else the first line, escaped and short."""
    first = message.title or (render_line(message.lines[0]) if message.lines else "")
    text = escape(message.title) if message.title else first
    return truncate(text, FALLBACK_CHARS) or ("charterbot" if message.ok else "error")
