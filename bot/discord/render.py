"""Render a ``Message`` for Discord: one embed, inert user text, within Discord's limits.

Rules:
- User text is escaped three ways: ``escape_markdown`` (no bold, links, spoilers, headings),
  ``<`` → ``\\<`` (no ``<t:…>``, ``<#…>``, ``<@…>`` tokens of its own) and ``escape_mentions``
  (``@everyone``/``@here``/ids get a zero-width space). And every send carries
  ``AllowedMentions`` that parse nothing, so even a missed case cannot ping.
- The only live markup is ours: ``<t:UNIX:F> (<t:UNIX:R>)`` for a ``When`` (each reader's own
  zone, plus "in 3 days"), ``<@id>`` for a ``Mention`` of a Discord user id, and a ``Code``
  (the bot's own backticked command, as Slack shows it) as the code span it is. Those users are
  the only ones ever pinged: they are listed in ``content`` and allowed by id (≤ 100).
- Limits: content 2,000; embed title 256, description 4,096, 25 fields of 256/1,024, footer
  2,048, and 6,000 across the embed. The lines fill the description, then go on in fields of
  their own (an invisible name), up to the 6,000: whole lines (:func:`bot.messages.fit_lines`),
  and when some do not fit the last are left out and a last line says how many ("… and 41
  more not shown", with the message's ``more`` when given). Only a line longer than its box
  is cut, and a cut title, footer or field: never inside an escape or a ``<…>`` token, and it
  ends with "…".
- Errors (``ok=False``) are always ephemeral.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import discord
from discord.utils import escape_markdown, escape_mentions

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
    parse_vote_action,
)

CONTENT_CHARS = 2000
TITLE_CHARS = 256
DESCRIPTION_CHARS = 4096
MAX_FIELDS = 25
FIELD_NAME_CHARS = 256
FIELD_VALUE_CHARS = 1024
FOOTER_CHARS = 2048
EMBED_TOTAL = 6000
FIELDS_RESERVE = 1500  # of the 6,000, kept for fields when the description is long
FOOTER_USED = 500
MAX_PINGS = 80  # 80 "<@id>" tokens fit in 2,000 characters of content (the API allows 100)
MAX_BUTTONS = 25
BUTTON_LABEL_CHARS = 80
ELLIPSIS = "…"
BLANK = "\u200b"  # a name or value Discord refuses empty: shown as nothing
OK_COLOUR = 0x2EA043
ERROR_COLOUR = 0xD1242F

_DISCORD_ID = re.compile(r"^[0-9]{15,20}$")


def escape(s: str) -> str:
    """User text made inert for Discord markdown (see the module rules)."""
    return escape_mentions(escape_markdown(s).replace("<", "\\<"))


def _safe_cut(s: str, n: int) -> int:
    """The largest cut ≤ n that splits neither a ``\\x`` escape nor a ``<…>`` token."""
    if n >= len(s):
        return len(s)
    lt = s.rfind("<", 0, n)
    if lt != -1 and ">" not in s[lt:n] and (lt == 0 or s[lt - 1] != "\\"):
        n = lt
    backslashes = len(s[:n]) - len(s[:n].rstrip("\\"))
    return n - (backslashes % 2)  # an odd run ends in an escape that lost its character


def truncate(s: str, n: int) -> str:
    """``s`` (already escaped) in at most ``n`` characters, ending in "…" when cut."""
    if len(s) <= n:
        return s
    return s[: _safe_cut(s, n - len(ELLIPSIS))] + ELLIPSIS


def _segment(seg: Segment, pings: list[int]) -> str:
    if isinstance(seg, Code) and CODE_SPAN.fullmatch(seg):
        return str(seg)  # a code span shows its text as typed: no markdown, no mention
    if isinstance(seg, When):
        return f"<t:{seg.unix}:F> (<t:{seg.unix}:R>)"
    if isinstance(seg, Mention):
        if seg.surface == "discord" and _DISCORD_ID.match(seg.who):
            if int(seg.who) not in pings:
                pings.append(int(seg.who))
            return f"<@{seg.who}>"
        return escape("@" + seg.who)  # escaped together: "@" + "everyone" must not ping
    return escape(seg)


def _merge_text(line: Line) -> list[Segment]:
    """Adjacent text segments joined, so escaping sees "@" "here" as the "@here" it shows
    (a ``Code`` stays apart: joined, it would be people's text again)."""
    merged: list[Segment] = []
    for seg in line:
        if type(seg) is str and merged and type(merged[-1]) is str:
            merged[-1] += seg
        else:
            merged.append(seg)
    return merged


def render_line(line: Line, pings: list[int] | None = None) -> str:
    found = pings if pings is not None else []
    return "".join(_segment(s, found) for s in _merge_text(line))


@dataclass(frozen=True)
class VoteButtonSpec:
    number: int
    choice: str
    label: str
    style: str


@dataclass(frozen=True)
class DiscordReply:
    """What to send: ``content`` (pings only), one embed, vote buttons, who may be pinged."""

    content: str
    embed: discord.Embed
    buttons: tuple[VoteButtonSpec, ...]
    pings: tuple[int, ...]
    ephemeral: bool

    def allowed_mentions(self) -> discord.AllowedMentions:
        """Nothing parsed; only the listed users, and never @everyone or roles."""
        if not self.pings:
            return discord.AllowedMentions.none()
        users = [discord.Object(i) for i in self.pings]
        return discord.AllowedMentions(everyone=False, roles=False, users=users, replied_user=False)


def render(message: Message) -> DiscordReply:
    """The Discord form of ``message`` (see the module rules)."""
    pings: list[int] = []
    lines = [render_line(line, pings) for line in message.lines]
    embed = discord.Embed(
        title=truncate(escape(message.title), TITLE_CHARS) or None,
        colour=OK_COLOUR if message.ok else ERROR_COLOUR,
    )
    size = len(embed.title or "")
    if message.footer:  # footers show plain text: no markdown, no mentions, so no escaping
        embed.set_footer(text=truncate(message.footer, FOOTER_USED))
        size += len(embed.footer.text or "")
    room = EMBED_TOTAL - size - (FIELDS_RESERVE if message.fields else 0)
    texts = _fit_description(lines, message, room)
    embed.description = (texts[0] if texts else "") or None
    for text in texts[1:]:
        embed.add_field(name=BLANK, value=text or BLANK, inline=False)
    size += len(embed.description or "") + sum(1 + len(t or BLANK) for t in texts[1:])
    _add_fields(embed, message.fields, EMBED_TOTAL - size)
    if not (embed.title or embed.description or embed.fields):
        embed.description = BLANK  # Discord refuses an empty embed
    pings = pings[:MAX_PINGS]
    return DiscordReply(
        content=" ".join(f"<@{i}>" for i in pings),
        embed=embed,
        buttons=_buttons(message),
        pings=tuple(pings),
        ephemeral=message.ephemeral or not message.ok,
    )


def _fit_description(lines: list[str], message: Message, room: int) -> list[str]:
    """The lines in the description, then in fields of their own while ``room`` and the field
    count allow (fields the message has itself come after them): whole lines, and a last line
    saying how many were left out (see :func:`bot.messages.fit_lines`)."""
    more = f": {message.more}" if message.more else ""
    slots = max(0, MAX_FIELDS - len(message.fields))
    boxes = [(DESCRIPTION_CHARS, 0)] + [(FIELD_VALUE_CHARS, len(BLANK))] * slots
    return fit_lines(lines, boxes, room, _cut, lambda n: escape(left_out(n) + more))


def _cut(line: str, room: int) -> tuple[str, str]:
    """A line longer than its box is cut there, marked "…"; its rest is not shown."""
    if room <= len(ELLIPSIS):
        return "", line  # no room for any of it
    return truncate(line, room), ""


def _add_fields(embed: discord.Embed, fields: tuple[tuple[str, str], ...], room: int) -> None:
    """Fields in order while they fit ``room`` and the field count; a last "…" field says some
    were left out."""
    slots = MAX_FIELDS - len(embed.fields)
    for i, (name, value) in enumerate(fields):
        shown_name = truncate(escape(name), FIELD_NAME_CHARS) or BLANK
        shown_value = truncate(escape(value), FIELD_VALUE_CHARS) or BLANK
        cost = len(shown_name) + len(shown_value)
        if (i == slots - 1 and len(fields) > slots) or i >= slots or cost > room - 2:
            if room >= 2 and i < slots:
                embed.add_field(name=ELLIPSIS, value=ELLIPSIS, inline=False)
            return
        embed.add_field(name=shown_name, value=shown_value, inline=len(shown_value) <= 40)
        room -= cost


def _buttons(message: Message) -> tuple[VoteButtonSpec, ...]:
    """Vote buttons only: they are the ones the bot can answer after a restart."""
    specs: list[VoteButtonSpec] = []
    for button in message.buttons[:MAX_BUTTONS]:
        parsed = parse_vote_action(button.action_id)
        if parsed is not None:
            label = button.label[:BUTTON_LABEL_CHARS] or parsed[1]
            specs.append(VoteButtonSpec(parsed[0], parsed[1], label, button.style))
    return tuple(specs)
