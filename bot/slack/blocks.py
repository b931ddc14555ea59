"""Render a ``Message`` as Slack Block Kit, inert and within Slack's limits.

Rules:
- Every string from the message is escaped (``&`` ``<`` ``>`` → entities), so echoed text such as
  ``<!channel>``, ``<!here>``, ``<@U123>`` or ``<http://x|y>`` shows literally and never pings or
  links. mrkdwn objects are ``verbatim`` so Slack does not auto-parse ``@here`` or bare URLs either.
- The only live markup is what we emit on purpose: ``<!date^…>`` for a ``When`` (each reader sees
  their own zone) and ``<@U…>`` for a ``Mention`` of a well-formed Slack user id.
- Limits: ≤ 50 blocks, ≤ 3000 characters per section, ≤ ~12,000 characters in total (Slack
  rejects larger messages with ``msg_blocks_too_long`` near 13.2k). Longer content is cut at a
  safe point (never inside an entity or a ``<…>`` token) and marked with "…".
- Errors (``ok=False``) are always ephemeral.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.messages import Line, Mention, Message, Segment, When

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

Block = dict[str, Any]


def escape(s: str) -> str:
    """Slack's three control characters as entities; nothing else is markup then."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_cut(s: str, n: int) -> int:
    """The largest cut ≤ n that splits neither an ``&…;`` entity nor a ``<…>`` token."""
    if n >= len(s):
        return len(s)
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
    if isinstance(seg, When):
        return _when(seg)
    if isinstance(seg, Mention):
        return _mention(seg)
    return escape(seg)


def render_line(line: Line) -> str:
    """One line as mrkdwn: user text escaped, times and mentions as Slack tokens."""
    return "".join(_segment(s) for s in line)


def _chunks(text: str, size: int) -> list[str]:
    out: list[str] = []
    while len(text) > size:
        cut = _safe_cut(text, size) or size  # a single token longer than size: hard cut
        out.append(text[:cut])
        text = text[cut:]
    out.append(text)
    return out


def _sections_text(lines: tuple[Line, ...]) -> list[str]:
    """Lines packed into section texts of at most SECTION_CHARS each."""
    texts: list[str] = []
    current = ""
    for line in lines:
        rendered = render_line(line) or " "
        for piece in _chunks(rendered, SECTION_CHARS):
            joined = f"{current}\n{piece}" if current else piece
            if len(joined) <= SECTION_CHARS:
                current = joined
            else:
                texts.append(current)
                current = piece
    if current:
        texts.append(current)
    return texts


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
        "text": {"type": "plain_text", "text": truncate(escape(label), BUTTON_LABEL_CHARS)},
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


def _fit_lines(texts: list[str], max_blocks: int, max_chars: int) -> list[Block]:
    """As many line sections as the budgets allow; when anything is dropped the last kept
    section ends with "…" so the reader knows the message was cut."""
    kept: list[Block] = []
    used = 0
    for i, text in enumerate(texts):
        room = min(max_chars - used, SECTION_CHARS)
        more_after = i < len(texts) - 1
        if (len(kept) == max_blocks - 1 and more_after) or len(text) > room:
            if room > len(ELLIPSIS) + 1:
                kept.append(_section(text[: _safe_cut(text, room - 2)] + " " + ELLIPSIS))
            break
        kept.append(_section(text))
        used += len(text)
    return kept


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
        _sections_text(message.lines),
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
