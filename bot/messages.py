"""The transport-neutral message model every chat surface renders, and the core they call.

Rules:
- The application answers with a ``Message``; each transport (Slack, Discord, console) renders
  it. Nothing in a ``Message`` is markup: every ``str`` — title, line segments, field names and
  values, footer, button labels — is user-safe-NOT-assumed, and each renderer escapes it for its
  own surface so echoed text can never ping, link or format.
- A ``When`` is an instant, shown to each reader in their own zone where the surface can do
  that (Slack ``<!date…>``, Discord ``<t:…>``), as ISO UTC on the console.
- A ``Mention`` is a deliberate reference to a person: a platform user id on the surface it
  belongs to (a real ping there), or a GitHub login (plain text everywhere).
- A ``Code`` is the bot's own command text, backticks included (`` `/charter link` ``), made by
  :func:`ours` from the bot's own wording, never from people's text: Slack and Discord show it
  as code; a renderer that does not know it shows it as any other text (escaped: safe).
- Vote buttons carry ``vote:<n>:<choice>`` as their action id; ``parse_vote_action`` is the one
  parser both transports use.
- An answer too long for its surface keeps whole lines (:func:`fit_lines`): lines are left out
  from the end, and a last line says how many (:func:`left_out`) and, when the ``Message`` has
  one, where the whole answer is (``more``). A line is cut only when it cannot fit a box whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from charter.actors import Actor

__all__ = [
    "VOTE_ACTION",
    "Actor",
    "Button",
    "Code",
    "CommandCore",
    "CommandJournal",
    "Line",
    "Mention",
    "Message",
    "Segment",
    "When",
    "answer_then_close",
    "fit_lines",
    "left_out",
    "ours",
    "parse_vote_action",
    "plain_text",
    "vote_action_id",
]

VOTE_ACTION = re.compile(r"^vote:(?P<n>[0-9]+):(?P<choice>approve|reject|abstain)\Z")
CHOICES: tuple[str, ...] = ("approve", "reject", "abstain")


@dataclass(frozen=True)
class When:
    """An instant; ``at`` must be timezone-aware (it is shown in each reader's zone)."""

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"When needs a timezone-aware datetime, got naive {self.at!r}")

    @property
    def unix(self) -> int:
        return int(self.at.timestamp())

    def iso_utc(self) -> str:
        return self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True)
class Mention:
    """A person: ``who`` is a platform user id on ``surface`` (slack/discord) or a GitHub login."""

    who: str
    surface: str = "github"


class Code(str):
    """The bot's own backticked command (see the module rules); a ``str``, so every renderer
    can at least show it as text."""


# A code span of the bot's wording: one backtick each side, none inside, on one line.
CODE_SPAN = re.compile(r"`[^`\n]+`")


def ours(text: str) -> tuple[str, ...]:
    """A line of the bot's own wording (never with people's text in it) whose backticked
    spans are :class:`Code`: ``"Run `/charter link`."`` → ``("Run ", Code("`/charter link`"),
    ".")``."""
    parts: list[str] = []
    end = 0
    for span in CODE_SPAN.finditer(text):
        parts += [text[end : span.start()], Code(span.group())]
        end = span.end()
    parts.append(text[end:])
    return tuple(part for part in parts if part)


Segment = str | When | Mention
Line = tuple[Segment, ...]
ButtonStyle = Literal["primary", "danger", "default"]


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str
    style: ButtonStyle = "default"


def vote_action_id(number: int, choice: str) -> str:
    """The action id of a vote button; rejects what ``parse_vote_action`` would not accept."""
    action_id = f"vote:{number}:{choice}"
    if not VOTE_ACTION.match(action_id):
        raise ValueError(f"not a vote action: {action_id!r} (choices: {', '.join(CHOICES)})")
    return action_id


def parse_vote_action(action_id: str) -> tuple[int, str] | None:
    """``vote:42:approve`` → ``(42, "approve")``; anything else → None."""
    match = VOTE_ACTION.match(action_id)
    if match is None:
        return None
    return int(match["n"]), match["choice"]


@dataclass(frozen=True)
class Message:
    """What the application says; ephemeral (only the asker sees it) unless an announcement."""

    title: str = ""
    lines: tuple[Line, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    ok: bool = True
    ephemeral: bool = True
    footer: str = ""
    more: str = ""  # where the whole answer can be read (a URL), named when lines are left out

    @classmethod
    def text_only(cls, s: str, ok: bool = True) -> Message:
        """One message of plain text, one line per input line."""
        return cls(lines=tuple((line,) for line in s.splitlines() or [""]), ok=ok)


# -- long answers -----------------------------------------------------------------------------

ELLIPSIS = "…"
Box = tuple[int, int]  # (capacity of its text, what the box costs besides: a field's name)
Split = Callable[[str, int], tuple[str, str]]  # (line, room) -> (what fits, the rest)


def left_out(count: int) -> str:
    """The last line of an answer shortened to fit: how many of its lines are not shown."""
    return f"{ELLIPSIS} and {count} more not shown"


def fit_lines(
    lines: Sequence[str],
    boxes: Sequence[Box],
    budget: int,
    split: Split,
    note: Callable[[int], str],
) -> list[str]:
    """Rendered ``lines``, in order, packed into ``boxes`` (sections, a description, fields)
    within ``budget`` characters in all (overheads included): the texts of the boxes used.

    Rules:
    - Lines are kept whole, joined by newlines; a line that does not fit what is left of a box
      goes to the next box.
    - Only a line longer than its box can ever hold is split, at the top of the box (``split``
      gives the part that fits the room it is given and the rest, which goes on in the next
      box); the room it is given leaves one character, for a "…" should the rest not fit.
    - When not everything fits, lines are left out from the end and the answer ends with
      ``note(count)`` on a line of its own (in the last box, or a box of its own when that one
      is full); a line whose rest was left out ends with "…". Room for that ending is kept
      only then, so an answer that fits is never shortened.
    """
    texts, shown, rest = _pack(lines, boxes, budget, split)
    if (shown == len(lines) and not rest) or not boxes:
        return texts
    overhead = max(over for _, over in boxes)
    reserve = 1 + len(note(len(lines))) + overhead
    last_cap, last_over = boxes[-1]
    smaller = [*boxes[:-1], (last_cap - reserve, last_over)]
    texts, shown, rest = _pack(lines, smaller, budget - reserve, split)
    if rest:
        texts[-1] += ELLIPSIS
    dropped = len(lines) - shown
    if not dropped:
        return texts
    if texts and len(texts[-1]) + 1 + len(note(dropped)) <= boxes[len(texts) - 1][0]:
        texts[-1] += f"\n{note(dropped)}"
    elif len(texts) < len(boxes) and len(note(dropped)) <= boxes[len(texts)][0]:
        texts.append(note(dropped))
    return texts


def _pack(
    lines: Sequence[str], boxes: Sequence[Box], budget: int, split: Split
) -> tuple[list[str], int, str]:
    """Greedy packing (see :func:`fit_lines`): the box texts, how many lines were begun, and
    what is left of the last one begun when it did not fit whole ("" when it did)."""
    texts: list[str] = []
    i, rest = 0, ""
    for cap, over in boxes:
        room = min(cap, budget - over)
        text: str | None = None
        while i < len(lines) and room > 0:
            line = rest or lines[i]
            joined = line if text is None else f"{text}\n{line}"
            if len(joined) <= room:
                text, rest, i = joined, "", i + 1
                continue
            if text is None and len(line) > cap:  # never fits whole: show what fits
                head, tail = split(line, room - len(ELLIPSIS))
                if head:
                    text, rest = head, tail
                    i += 0 if tail else 1
            break
        if text is None:
            break
        texts.append(text)
        budget -= over + len(text)
        if i == len(lines):
            break
    return texts, i + (1 if rest else 0), rest


class CommandJournal(Protocol):
    """Chat commands are recorded before they are acknowledged, and marked done after."""

    async def record(self, surface: str, key: str, entry: dict[str, str]) -> bool:
        """Store the command durably; False when ``key`` was already recorded (a repeat)."""
        ...

    async def done(self, surface: str, key: str, error: str | None = None) -> None:
        """The command ran and was answered; or ran and its answer failed (``error``)."""
        ...


async def answer_then_close(
    journal: CommandJournal | None, surface: str, key: str, send: Awaitable[None]
) -> None:
    """Deliver a journalled command's answer, then close its journal entry.

    The command has run by now, so an answer that fails closes the entry too (with the error,
    and the exception goes on to the transport's log): replaying the entry would run the
    command a second time. Only a crash before this point leaves the entry for the replay.
    """
    try:
        await send
    except Exception as exc:
        if journal is not None:
            why = f"answer not delivered: {type(exc).__name__}: {exc}"
            await journal.done(surface, key, why[:500])
        raise
    if journal is not None:
        await journal.done(surface, key)


class CommandCore(Protocol):
    """What chat transports call. The lead's application implements it."""

    async def run(self, text: str, actor: Actor) -> Message:
        """Run the command ``text`` (what follows ``/charter``) for ``actor``."""
        ...

    async def identity(self, surface: str, surface_id: str, display: str) -> Actor:
        """The linked Actor of a chat user, or an anonymous one when not linked."""
        ...

    async def open_proposals(self, prefix: str) -> list[tuple[int, str]]:
        """(number, title) of proposals matching ``prefix``, open ones first (autocomplete)."""
        ...


# Control characters (ANSI escapes, backspace, bell…) would act on a terminal; show them as
# escapes instead. Newline and tab are layout, so they stay.
_KEEP = frozenset("\n\t")


def inert_console(s: str) -> str:
    """``s`` with every control/format-override character shown as a visible ``\\xNN`` escape."""
    if s.isprintable():
        return s
    out: list[str] = []
    for ch in s:
        category = unicodedata.category(ch)
        if ch in _KEEP or not (category == "Cc" or _is_bidi_override(ch)):
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def _is_bidi_override(ch: str) -> bool:
    # These reorder the rest of a terminal line (trojan-source style); printing them is unsafe.
    return "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069"


def _when_console(when: When, zone: ZoneInfo | None) -> str:
    text = when.iso_utc()
    if zone is not None:
        local = when.at.astimezone(zone)
        text += f" ({local:%Y-%m-%d %H:%M} {zone.key})"
    return text


def plain_text(message: Message, zone: ZoneInfo | None = None) -> str:
    """Console rendering: When as ISO UTC (plus ``zone`` local time), control chars escaped,
    vote buttons as the command that votes."""

    def seg(s: Segment) -> str:
        if isinstance(s, When):
            return _when_console(s, zone)
        if isinstance(s, Mention):
            return "@" + inert_console(s.who)
        return inert_console(s)

    parts: list[str] = []
    if message.title:
        parts.append(("" if message.ok else "error: ") + inert_console(message.title))
    parts.extend("".join(seg(s) for s in line) for line in message.lines)
    parts.extend(f"{inert_console(k)}: {inert_console(v)}" for k, v in message.fields)
    # A terminal has no buttons: vote buttons become the command that votes, others are left out.
    voting = sorted({v[0] for b in message.buttons if (v := parse_vote_action(b.action_id))})
    parts.extend(
        f"Vote by typing: /charter vote {n} approve|reject|abstain [reason]" for n in voting
    )
    if message.footer:
        parts.append(inert_console(message.footer))
    if not message.ok and not message.title and parts:
        parts[0] = "error: " + parts[0]
    return "\n".join(parts)
