"""A comment's live lines: what GitHub shows as its author's own text.

Rules:
- What GitHub shows as code or a quote is not live: fenced code blocks (``` or ~~~), indented
  code (four columns or more, as CommonMark counts them: a tab moves to the next multiple of
  four), ``<pre>`` blocks (up to ``</pre>``), ``<code>`` blocks (up to ``</code>`` or a blank
  line), quoted lines (``>``) and HTML comments.
- Whatever is read from a comment (commands: :func:`charter.grammar.parse_comment`; link codes)
  is read from its live lines only, so quoting or showing someone's command never acts on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from charter.text import normalise

_FENCE = re.compile(r"(`{3,}|~{3,})")
# <pre> and <code> tags, opening or closing; their content renders as code, as a fence's does.
_CODE_TAG = re.compile(r"<(/?)(pre|code)(?=[\s>/])[^>]*>", re.IGNORECASE)
# What ends an open tag's block: its closing tag; a <code> block also ends at a blank line
# (CommonMark's HTML block of any other tag), a <pre> block does not.
_ENDS_AT_BLANK = {"pre": False, "code": True}
MAX_INDENT = 3  # columns before a command's slash; four or more make an indented code block
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_QUOTE = ">"  # a block quote's marker (after at most three spaces, like a command's slash)


def live_lines(body: str) -> Iterator[str]:
    """The lines of a comment that GitHub shows as the author's own text, normalised: not in
    fenced code, ``<pre>``/``<code>`` blocks or HTML comments, not indented as code (four
    columns or more) and not quoted (``>``). Whatever is read from a comment is read from
    these only, so quoting or showing someone's command (or link code) never acts on it."""
    fence, tag = "", ""
    for raw in _HTML_COMMENT.sub("", body.replace("\r\n", "\n").replace("\r", "\n")).split("\n"):
        line = normalise(raw)
        if fence:
            if set(line) == {fence[0]} and len(line) >= len(fence):
                fence = ""  # a closing fence: the opening character only, at least as long
            continue
        if tag:  # code from an earlier line's <pre> or <code>, up to where it ends
            tag = _open_tag(tag, raw)
            continue
        if marker := _FENCE.match(line):
            fence = marker.group(1)
            continue
        tag = _open_tag("", raw)
        if _indent(raw) <= MAX_INDENT and not line.startswith(_QUOTE):
            yield line


def _indent(line: str) -> int:
    """Columns of leading spaces and tabs, as CommonMark counts them (a tab moves to the next
    multiple of four). Other spaces (no-break, full-width) are text, not indentation."""
    columns = 0
    for ch in line[: len(line) - len(line.lstrip(" \t"))]:
        columns += 1 if ch == " " else 4 - columns % 4
    return columns


def _open_tag(tag: str, line: str) -> str:
    """The ``<pre>`` or ``<code>`` still open after ``line`` ("" when none), given the one
    open before it: the last such tag on the line that is not closed on it. A ``<code>`` left
    open ends at a blank line."""
    if tag and _ENDS_AT_BLANK[tag] and not line.strip():
        return ""
    for match in _CODE_TAG.finditer(line):
        name = match.group(2).lower()
        if not match.group(1):
            tag = tag or name  # inside <pre>, a <code> changes nothing
        elif name == tag:
            tag = ""
    return tag
