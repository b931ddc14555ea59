"""Sanitising user text: invisible characters, whitespace, limits, and GitHub-safe echoes."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, strategies as st

from charter.grammar import parse_comment
from charter.text import (
    clean_user_text,
    escape_markdown_github,
    fold,
    join_and,
    join_or,
    one_line,
    quoted,
    truncate,
)


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        ("plain", 100, "plain"),
        ("zero\u200bwidth\u200c\u200d\u2060\ufeff", 100, "zerowidth"),
        (
            "bidi \u202eevil\u202c and \u2066isolate\u2069 \u200e\u200f\u061c",
            100,
            "bidi evil and isolate",
        ),
        ("soft\u00adhyphen", 100, "softhyphen"),
        ("bell\x07 and nul\x00 and esc\x1b", 100, "bell and nul and esc"),
        ("lone \ud800 surrogate", 100, "lone surrogate"),
        ("  many \t  spaces\u00a0\u2003here  ", 100, "many spaces here"),
        ("crlf\r\nline\rnext\u2028sep\u2029para\x85nel", 100, "crlf\nline\nnext\nsep\npara\nnel"),
        ("a\n\n\n\n\nb", 100, "a\n\nb"),
        ("  a  \n   b  ", 100, "a\nb"),
        ("e\u0301", 100, "\u00e9"),  # NFC: e + combining acute is one é
        ("ＬＧＴＭ ＃１２", 100, "ＬＧＴＭ ＃１２"),  # NFC only: free text keeps full-width forms
        ("abcdefghij", 10, "abcdefghij"),
        ("abcdefghijk", 10, "abcdefghi…"),
        ("abcd efghijk", 6, "abcd…"),  # the cut never leaves a dangling space
        ("abc", 1, "…"),
    ],
)
def test_clean_user_text(raw: str, limit: int, expected: str) -> None:
    """Invisible characters go, whitespace is normalised, and long text ends in "…"."""
    assert clean_user_text(raw, limit) == expected


def test_fold_reads_full_width_forms_as_plain_ones() -> None:
    """Command words, numbers, # and / from phone and IME keyboards fold to ASCII (NFKC)."""
    assert fold("／ＶＯＴＥ ＃１２ ａｐｐｒｏｖｅ") == "/VOTE #12 approve"
    assert fold("١٢") == "١٢"  # other scripts' digits are not folded to 0-9


def test_truncate_rejects_a_limit_below_one() -> None:
    """A limit of zero or less is a programming error, reported clearly."""
    with pytest.raises(ValueError, match="at least 1"):
        truncate("abc", 0)


def test_one_line_collapses_lines() -> None:
    """Titles and log lines are one line."""
    assert one_line(" a \n\n b\u200b c ") == "a b c"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hello @alice and @org/team", "hello @&#8203;alice and @&#8203;org/team"),
        ("mail a@b.example", "mail a@&#8203;b.example"),
        ("lone @ sign", "lone @ sign"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"),
        ("a & b", "a &amp; b"),
        ("> quoted", "&gt; quoted"),
        ("*bold* _it_ `code` ~~s~~", "\\*bold\\* \\_it\\_ \\`code\\` \\~\\~s\\~\\~"),
        ("[link](http://x) ![img](y)", "\\[link\\]\\(http://x\\) \\!\\[img\\]\\(y\\)"),
        ("# heading | table", "\\# heading \\| table"),
        ("back\\slash", "back\\\\slash"),
        ("- item\n+ item\n  = setext", "\\- item\n\\+ item\n  \\= setext"),
        ("1. first\n2) second", "1\\. first\n2\\) second"),
        ("/vote approve\n  /withdraw", "\\/vote approve\n  \\/withdraw"),
        ("a - b / c 1. d", "a - b / c 1. d"),
    ],
)
def test_escape_markdown_github(raw: str, expected: str) -> None:
    """Echoed text renders literally: no HTML, no formatting, no mention, no slash command."""
    assert escape_markdown_github(raw) == expected


def test_escaped_text_never_parses_as_a_command() -> None:
    """The bot's own echo of a malicious reason cannot cast a vote if it is re-read."""
    echoed = escape_markdown_github("/vote approve\n/withdraw\n  /concern x: y")
    assert parse_comment(echoed, issue=1) == []


@given(st.text(), st.integers(min_value=1, max_value=2000))
def test_clean_user_text_never_raises_and_respects_the_limit(raw: str, limit: int) -> None:
    """Whatever is typed, cleaning returns text within the limit and free of invisibles."""
    cleaned = clean_user_text(raw, limit)
    assert len(cleaned) <= limit
    assert not any(unicodedata.category(ch) in ("Cf", "Cs") for ch in cleaned)
    assert all(ch in "\n" or unicodedata.category(ch) != "Cc" for ch in cleaned)
    assert cleaned == cleaned.strip()


@given(st.text())
def test_escape_never_leaves_a_mention_or_tag(raw: str) -> None:
    """No escaped text holds an @mention, an HTML tag or a line starting with a slash."""
    escaped = escape_markdown_github(raw)
    assert "<" not in escaped
    assert ">" not in escaped
    for index, ch in enumerate(escaped):
        if ch == "@" and escaped[index + 1 : index + 2].isascii():
            assert not escaped[index + 1 : index + 2].isalnum()
    assert not any(line.lstrip(" \t").startswith("/") for line in escaped.split("\n"))


@pytest.mark.parametrize(
    ("items", "expected"),
    [([], ""), (["a"], "a"), (["a", "b"], "a and b"), (("a", "b", "c"), "a, b and c")],
)
def test_join_and(items: list[str], expected: str) -> None:
    """Lists inside reply sentences read as English."""
    assert join_and(items) == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [([], ""), (["a"], "a"), (["a", "b"], "a or b"), (("a", "b", "c"), "a, b or c")],
)
def test_join_or(items: list[str], expected: str) -> None:
    """Choices inside reply sentences ("choose a, b or c"): each alone is meant."""
    assert join_or(items) == expected


def test_quoted_is_one_short_line() -> None:
    """Quoted input in a reply is one line, cut to its limit."""
    assert quoted("a\nb") == "'a b'"
    assert quoted("x" * 50, 10) == "'" + "x" * 9 + "…'"
