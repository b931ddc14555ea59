"""How the words of a command are read and checked (internal to :mod:`charter.grammar`).

Rules: words are separated by whitespace; "…" and “…” group words into one quoted word; a
keyword matches case-insensitively and NFKC-folded (``ＡＰＰＲＯＶＥ`` is ``approve``), quoted or
not (only a quoted incident summary or option is always literal); a command word or vote choice may
end in ``. ! , ; :`` (``/approve.``); a command word or vote choice run into the text after it
by a colon or a dash reads as if spaced (``approve:lgtm`` is ``approve: lgtm``), by other
punctuation it is refused with the spaced form (``approve,lgtm``: :func:`glued`), and a lone
colon or dash before a vote's reason only introduces it (``approve — lgtm``). Numbers are ``42``
or ``#42`` from 1 to 10^9, read NFKC-folded too (``１２``, ``＃12``); names are lowercase
identifiers of at most 64 characters (the charter's own id form); free text is cleaned of
invisible characters and limited in length, and keeps what was typed. In a GitHub comment the
proposal is the issue: a number written anyway must be the issue's (see :meth:`Args.proposal`).
Discord and Slack do not enforce declared option ranges, so these checks are the only ones.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass

from charter.text import fold, normalise, quoted

MAX_NUMBER = 10**9
TEXT_LIMIT = 1000
TITLE_LIMIT = 200

_NUMBER = re.compile(r"#?([0-9]+)")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# GitHub's login rule: at most 39 letters, digits and single hyphens, not first or last
# ("bob-" and "bob--x" are no logins: GitHub would ping @bob for "@bob-").
_LOGIN = re.compile(r"@?((?=[A-Za-z0-9-]{1,39}$)[A-Za-z0-9](?:-?[A-Za-z0-9])*)")
_MENTION = re.compile(r"<@!?[A-Za-z0-9]{1,40}(?:\|[^>\s]{0,80})?>")
_QUOTES = {'"': '"', "“": "”", "„": "“"}
_DASHES = ("—", "–")
_TRAILING = ".!,;:"  # "/approve." "/approve!": punctuation that may end a command word
# Punctuation that introduces the text it runs into ("approve:lgtm", "reject—too risky"), and
# the lone words that introduce a reason ("approve — lgtm").
_INTRODUCERS = (":", *_DASHES)
_LONE_INTRODUCERS = (*_INTRODUCERS, "-", "--")
_WORD_CHARS = re.compile(r"[a-z-]+")


class Fail(Exception):
    """A production's complaint; becomes a ParseError with the command's usage."""


@dataclass(frozen=True)
class Tok:
    text: str
    quoted: bool
    start: int
    end: int

    @property
    def word(self) -> str:
        """The text as a keyword: NFKC-folded and lowercased."""
        return fold(self.text).lower()


def keyword(tok: Tok) -> str:
    """A command word or vote choice: :attr:`Tok.word` without trailing ``. ! , ; :``."""
    return tok.word.rstrip(_TRAILING)


show = quoted  # how a reply sentence quotes what was typed


@dataclass(frozen=True)
class Glued:
    """A known word run into the text after it by punctuation: ``approve:lgtm``."""

    head: str  # the word, as a keyword
    punct: str  # the punctuation between, as typed
    offset: int  # where the text after the punctuation starts in the token

    @property
    def introduces(self) -> bool:
        """Whether the punctuation introduces the text, as one colon or one dash does."""
        return fold(self.punct) in _INTRODUCERS


def glued(tok: Tok, known: Container[str]) -> Glued | None:
    """``tok`` as a word of ``known`` run into more text by ``. ! , ; :`` or a dash
    (``approve:lgtm``, ``reject—too risky``, ``approve,lgtm``); None for any other token, a
    known word as it stands (``approve:``) and a quoted one. A known word ending in ``?``
    (``f?``) is run into text by nothing at all (``f?@bob``)."""
    text = tok.text
    if tok.quoted or keyword(tok) in known:
        return None
    head = 0
    while head < len(text) and _WORD_CHARS.fullmatch(fold(text[head]).lower()):
        head += 1
    asking = fold(text[: head + 1]).lower()  # "f?": the question mark ends the word
    if asking.endswith("?") and asking in known and head + 1 < len(text):
        return Glued(asking, "", head + 1)
    end = head
    while end < len(text) and (text[end] in _DASHES or set(fold(text[end])) <= set(_TRAILING)):
        end += 1
    word = fold(text[:head]).lower()
    if head == end or end == len(text) or word not in known:
        return None
    return Glued(word, text[head:end], end)


@dataclass
class Args:
    """A cursor over the words of one command; tokens are read lazily, so free text at the
    end of a line (which may hold a lone quote) is never tokenised."""

    src: str
    comment: bool
    issue: int | None
    pos: int = 0

    def _scan(self, pos: int) -> tuple[Tok | None, int]:
        src, size = self.src, len(self.src)
        while pos < size and src[pos].isspace():
            pos += 1
        if pos >= size:
            return None, pos
        if src[pos] in _QUOTES:
            close = _QUOTES[src[pos]]
            end = next((k for k in range(pos + 1, size) if src[k] in (close, '"')), -1)
            if end < 0:
                raise Fail(f"The quote that starts {show(src[pos:])} is not closed.")
            return Tok(src[pos + 1 : end], True, pos, end + 1), end + 1
        end = pos
        while end < size and not src[end].isspace():
            end += 1
        return Tok(src[pos:end], False, pos, end), end

    def peek(self) -> Tok | None:
        return self._scan(self.pos)[0]

    def take(self) -> Tok | None:
        tok, self.pos = self._scan(self.pos)
        return tok

    def need(self, what: str) -> Tok:
        tok = self.take()
        if tok is None:
            raise Fail(f"Give the {what}.")
        return tok

    def take_all(self) -> list[Tok]:
        return list(iter(self.take, None))

    def end(self) -> None:
        tok = self.peek()
        if tok is not None:
            raise Fail(f"{show(self.src[tok.start :])} is more than this command takes.")

    def rest(self) -> str:
        raw = self.src[self.pos :].strip()
        self.pos = len(self.src)
        if raw[:1] in _QUOTES:
            try:
                tok, after = Args(raw, self.comment, self.issue)._scan(0)
            except Fail:  # a lone quote in free text is just a character
                return raw
            if tok is not None and after == len(raw):
                return tok.text
        return raw

    def unglue(self, tok: Tok, glue: Glued) -> None:
        """Read on after ``glue``'s punctuation when it introduces the text (``approve:lgtm``
        as ``approve: lgtm``); refuse other punctuation with the form to write, rather than
        read the word as unknown (``approve,lgtm``)."""
        after = tok.start + glue.offset
        if not glue.introduces:
            written = self.src[tok.start : after]
            spaced = f"{written} {self.src[after:].strip()}"
            raise Fail(f"Put a space after {show(written)}, as in {show(spaced)}.")
        self.pos = after

    def skip_introducer(self) -> None:
        """Step over a lone colon or dash that introduces the free text after it
        (``approve — lgtm``). Read from the raw text: free text is never tokenised."""
        words = self.src[self.pos :].split(None, 1)
        if words and fold(words[0]) in _LONE_INTRODUCERS:
            self.pos = self.src.index(words[0], self.pos) + len(words[0])

    def at_end(self) -> bool:
        return not self.src[self.pos :].strip()

    def proposal(self) -> int | None:
        """The proposal number: written out in chat, the issue itself in a comment.

        In a comment a number written anyway (``/approve 2 …``, chat syntax pasted in) must be
        the issue's, and is then dropped; another proposal's is refused, never read as the
        start of a reason."""
        if not self.comment:
            return number(self.need("proposal number").text)
        words = self.src[self.pos :].split(None, 1)
        written = fold(words[0]).rstrip(_TRAILING) if words else ""
        if _NUMBER.fullmatch(written) is None:
            return self.issue
        n = number(written)
        if n != self.issue:
            here = "the issue" if self.issue is None else f"this issue (#{self.issue})"
            raise Fail(
                f"In a comment the proposal is {here}; comment on #{n} or leave out the number."
            )
        self.take()
        return n


def number(text: str, what: str = "proposal number", example: str = "42 or #42") -> int:
    """``text`` as a number from 1 to ``MAX_NUMBER``; a refusal names ``what`` it is and an
    ``example`` of one (a count is no proposal: "a number of calls such as 5")."""
    match = _NUMBER.fullmatch(fold(text))
    if match is None:
        raise Fail(f"{show(text)} is not {_a(what)}; write a whole number such as {example}.")
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > 10 or int(digits) > MAX_NUMBER:
        raise Fail(f"{show(text)} is too large for {_a(what)}; the largest is {MAX_NUMBER}.")
    if int(digits) < 1:
        raise Fail(f"{_a(what).capitalize()} starts at 1; got {show(text)}.")
    return int(digits)


def _a(what: str) -> str:
    return f"{'an' if what[0] in 'aeiou' else 'a'} {what}"


def name(tok: Tok, what: str) -> str:
    value = tok.text.lower()
    if _NAME.fullmatch(value) is None:
        raise Fail(
            f"{show(tok.text)} is not a valid {what}: use at most 64 lowercase letters, digits,"
            " hyphens or underscores, starting with a letter or digit."
        )
    return value


def names(tok: Tok, what: str) -> list[str]:
    parts = [p for p in tok.text.split(",") if p]
    return [name(Tok(p, tok.quoted, tok.start, tok.end), what) for p in parts]


def clean(
    raw: str,
    what: str,
    *,
    limit: int = TEXT_LIMIT,
    required: bool = True,
    named: str | None = None,
) -> str:
    """``raw`` normalised: refused when blank (if ``required``: "Give the <what>.") or longer
    than ``limit`` ("<named> is N characters long"; ``named`` defaults to "The <what>", and is
    given when ``what`` holds an example, which would read as the text measured)."""
    text = normalise(raw)
    if required and not text:
        raise Fail(f"Give the {what}.")
    if len(text) > limit:
        subject = named or f"The {what}"
        raise Fail(f"{subject} is {len(text)} characters long; keep it to {limit}.")
    return text


def match(pattern: re.Pattern[str], tok: Tok, what: str, example: str) -> re.Match[str]:
    found = pattern.fullmatch(tok.text)
    if found is None:
        raise Fail(f"{show(tok.text)} is not a valid {what}; write it like {example}.")
    return found


def user(tok: Tok) -> str:
    if _MENTION.fullmatch(tok.text):
        return tok.text
    return match(_LOGIN, tok, "user", "@alice-aurora").group(1)


def option(tok: Tok | None) -> str:
    """An option word with a typographic dash (Slack turns -- into —) read as --."""
    if tok is None or tok.quoted:
        return ""
    word = tok.word
    return "--" + word[1:] if word.startswith(_DASHES) else word
