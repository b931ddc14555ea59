"""Making user text safe to keep and to echo.

Rules:

- Invisible characters are removed from everything a person types: format characters
  (Unicode category Cf: zero-width space/joiner, word joiner, BOM, soft hyphen, the bidi
  embeddings, overrides and isolates used in "Trojan Source" tricks), control characters other
  than newline and tab (Cc), and lone surrogates (Cs, which cannot be encoded as UTF-8).
- Whitespace is normalised: every run of horizontal space becomes one space, lines are
  trimmed, at most one blank line is kept in a row, and the text is NFC-normalised.
- Command words, numbers and ids are also read NFKC-folded (:func:`fold`), so the full-width
  forms phone and IME keyboards type (``／approve``, ``１２``, ``＃12``) mean the plain ones.
  Free text (reasons, concern text) is never folded: it keeps what was typed.
- Text longer than its limit is cut and ends in "…", so the result is never longer than the
  limit.
- Text echoed into a GitHub comment is escaped so that it renders as the literal characters
  the person typed and never pings anyone, never renders HTML, and never starts a line with a
  slash command the bot could mistake for its own grammar (see :func:`escape_markdown_github`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

ELLIPSIS = "…"
_DROPPED_CATEGORIES = frozenset({"Cf", "Cs"})
_KEPT_CONTROLS = frozenset({"\n", "\t"})
_LINE_SEPARATORS = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"})
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def strip_invisible(s: str) -> str:
    """Remove format, control (except newline and tab) and surrogate code points."""
    return "".join(ch for ch in s if not _invisible(ch))


def _invisible(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cc":
        return ch not in _KEPT_CONTROLS
    return category in _DROPPED_CATEGORIES


def normalise(s: str) -> str:
    """Strip invisible characters and normalise whitespace; no length limit."""
    text = s.replace("\r\n", "\n").translate(_LINE_SEPARATORS)
    text = unicodedata.normalize("NFC", strip_invisible(text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def fold(s: str) -> str:
    """NFKC: compatibility forms as their plain characters (``１`` → ``1``, ``＃`` → ``#``,
    ``／`` → ``/``, ``ａｐｐｒｏｖｅ`` → ``approve``). For command words, numbers and ids only."""
    return unicodedata.normalize("NFKC", s)


def truncate(s: str, limit: int) -> str:
    """Cut ``s`` to at most ``limit`` characters, ending in "…" when something was cut."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1; got {limit}")
    if len(s) <= limit:
        return s
    return s[: limit - 1].rstrip() + ELLIPSIS


def clean_user_text(s: str, limit: int) -> str:
    """Normalise user text and cut it to ``limit`` characters (see the module rules)."""
    return truncate(normalise(s), limit)


def one_line(s: str) -> str:
    """Collapse text onto one line (for titles and log lines)."""
    return " ".join(normalise(s).split())


def quoted(s: str, limit: int = 40) -> str:
    """User input quoted inside a reply sentence: one line, cut to ``limit``, in '…'."""
    return f"'{truncate(one_line(s), limit)}'"


def join_and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: a list inside a sentence."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def join_or(items: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: choices inside a sentence, each alone is meant."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


# GitHub Markdown: characters that can start emphasis, code, links, tables, strikethrough,
# headings or HTML. Escaping them with a backslash makes GitHub render the character itself.
_MARKDOWN_PUNCT = re.compile(r"([\\`*_\[\]()~|#!])")
_LINE_START = re.compile(r"^([ \t]*)([-+=/]|[0-9]+(?=[.)]))", re.MULTILINE)
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
_ZERO_WIDTH_ENTITY = "&#8203;"


def escape_markdown_github(s: str) -> str:
    """Escape user text for a GitHub comment body (not inside a code span).

    - ``&``, ``<`` and ``>`` become entities, so no HTML, no ``<details>`` and no block quote.
    - Markdown punctuation gets a backslash, so no emphasis, links, images, tables or headings;
      a list marker, setext underline or ``/`` at the start of a line is escaped too, so echoed
      text never looks like a list or a slash command.
    - ``@name`` becomes ``@&#8203;name`` (a zero-width space between), the approach Renovate
      uses: GitHub shows ``@name`` but creates no mention and sends no notification.
    """
    text = s.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_PUNCT.sub(r"\\\1", text)
    text = _LINE_START.sub(_escape_line_start, text)
    return _MENTION.sub("@" + _ZERO_WIDTH_ENTITY, text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():
        return f"{indent}{marker}\\"  # "1." → "1\." (the dot follows the match)
    return f"{indent}\\{marker}"
