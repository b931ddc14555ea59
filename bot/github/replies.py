"""A reply to a comment, as the markdown of a GitHub comment.

Rules:
- Everything that comes from a user or the store (titles, reasons, names, quoted input) is
  escaped with :func:`charter.text.escape_markdown_github`: no mention, HTML, link or slash
  command survives. Only the bot's own structure is markdown: a field's name in bold, and the
  usage of a command in a code block.
- Times are ISO UTC (GitHub shows the same text to every reader, whatever their zone).
- Buttons do not exist on GitHub: vote buttons become one line saying which comment votes;
  other buttons are left out.
"""

from __future__ import annotations

from bot.messages import Mention, Message, Segment, When, parse_vote_action
from charter.text import escape_markdown_github as escape

_VOTE_HINT = "Vote by commenting `/approve`, `/reject` or `/abstain` (a reason may follow)."


def _segment(s: Segment) -> str:
    if isinstance(s, When):
        return s.iso_utc()
    if isinstance(s, Mention):
        return escape("@" + s.who)
    return escape(s)


def reply_markdown(message: Message) -> str:
    """The comment body answering with ``message`` (without the leading ``@author``)."""
    parts: list[str] = []
    if message.title:
        parts.append(("" if message.ok else "error: ") + escape(message.title))
    parts.extend("".join(_segment(s) for s in line) for line in message.lines)
    parts.extend(f"**{escape(name)}**: {escape(value)}" for name, value in message.fields)
    if any(parse_vote_action(b.action_id) is not None for b in message.buttons):
        parts.append(_VOTE_HINT)
    if message.footer:
        parts.append(escape(message.footer))
    if not message.ok and not message.title and parts:
        parts[0] = "error: " + parts[0]
    return "\n".join(parts)


def parse_error_markdown(message: str, usage: str) -> str:
    """A command that did not parse: why (escaped: it quotes the input) and the command's usage
    in a code block (the grammar's own text, which holds no backtick)."""
    fence = "```"
    return f"{escape(message)}\n\nUsage:\n{fence}\n{usage.replace(fence, '')}\n{fence}"
