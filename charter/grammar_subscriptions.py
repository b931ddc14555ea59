"""Productions of the subscription commands (the top-level grammar, and ``n``, ``name``:
:mod:`charter.grammar`). Each function reads the words after its command key from a
:class:`charter.grammar_tokens.Args` cursor.

Grammar::

    subscription-command = "subscribe" [ target ] { filter } | "unsubscribe" [ n | "all" ]
                         | "subscriptions" ;
    target   = "here" | "me" | "email" address | "webhook" url ;
    filter   = kind | "track" name | "client" name | "proposal" n | "label" label
             | "not" "label" label | "severity" ( ">=" | "≥" ) name | "lang" code
             | "digest" "daily" HH ":" MM ;
    kind     = "proposal-opened" | "voting-opened" | "vote" | "decision" | "rollout"
             | "incident" | "meeting" ;
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from charter import commands as c, grammar_tokens as t
from charter.model import ANNOUNCE_KINDS
from charter.validate import suggest

_EMAIL = re.compile(r"[^@\s<>]{1,64}@[^@\s<>]+\.[^@\s<>]+")
_URL = re.compile(r"https?://[^\s<>|]+")
_SLACK_LINK = re.compile(r"<(?:mailto:)?([^|>]+)(?:\|[^>]*)?>")
_LANG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}")
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_TARGETS: dict[str, c.SubscribeTarget] = {
    "here": "here",
    "me": "me",
    "email": "email",
    "webhook": "webhook",
}


def unsubscribe(a: t.Args) -> c.Unsubscribe:
    tok = a.take()
    a.end()
    if tok is not None and tok.word == "all":
        return c.Unsubscribe(every=True)
    return c.Unsubscribe(None if tok is None else t.number(tok.text, "subscription id"))


# -- subscriptions --------------------------------------------------------------------------


@dataclass
class _Filters:
    kinds: list[str] = field(default_factory=list)
    tracks: list[str] = field(default_factory=list)
    clients: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    not_labels: list[str] = field(default_factory=list)
    proposal: int | None = None
    severity: str | None = None
    lang: str | None = None
    digest: str | None = None


def _once(current: object, key: str) -> None:
    if current is not None:
        raise t.Fail(f"Give {key} only once.")


# The words a filter starts with, for a "did you mean" on a misspelt one ("decisoin").
_FILTER_WORDS = (
    *ANNOUNCE_KINDS,
    "track",
    "client",
    "proposal",
    "severity",
    "label",
    "not",
    "lang",
    "digest",
)
_FILTER_HELP = (
    "use kinds (proposal-opened, voting-opened, vote, decision, rollout, incident, meeting),"
    " track X, client X, proposal N, severity >= sevN, label X, not label X, lang CODE"
    " or digest daily HH:MM"
)


def subscribe(a: t.Args) -> c.Subscribe:
    target: c.SubscribeTarget = "here"
    address = None
    tok = a.peek()
    if tok is not None and tok.word in _TARGETS:
        a.take()
        target = _TARGETS[tok.word]
        if target == "email":
            tok = _unwrap(a.need("e-mail address"))
            address = t.match(_EMAIL, tok, "e-mail address", "ops@example.org").group(0)
            if not address.isascii():
                raise t.Fail(
                    f"{t.show(address)} has characters beyond ASCII, and mail can be sent only"
                    " to plain ASCII addresses; give one such as ops@example.org."
                )
        elif target == "webhook":
            address = t.match(_URL, _unwrap(a.need("webhook URL")), "URL", "https://…").group(0)
    found = _Filters()
    while (tok := a.take()) is not None:
        _filter(a, tok, found)
    return c.Subscribe(
        target,
        address,
        kinds=tuple(dict.fromkeys(found.kinds)),
        tracks=tuple(dict.fromkeys(found.tracks)),
        clients=tuple(dict.fromkeys(found.clients)),
        proposal=found.proposal,
        min_severity=found.severity,
        labels=tuple(dict.fromkeys(found.labels)),
        not_labels=tuple(dict.fromkeys(found.not_labels)),
        lang=found.lang,
        digest_at=found.digest,
    )


def _unwrap(tok: t.Tok) -> t.Tok:
    """Slack may send ``<mailto:a@b.c|a@b.c>`` or ``<https://…|label>``: keep the address."""
    match = _SLACK_LINK.fullmatch(tok.text)
    return tok if match is None else t.Tok(match.group(1), tok.quoted, tok.start, tok.end)


def _filter(a: t.Args, tok: t.Tok, found: _Filters) -> None:
    word = tok.word
    if word in ANNOUNCE_KINDS:
        found.kinds.append(word)
    elif word in ("track", "client"):
        getattr(found, word + "s").extend(t.names(a.need(word), word))
    elif word == "label":
        found.labels.append(t.clean(a.need("label").text, "label", limit=50))
    elif word == "not":
        if a.need("word 'label' after 'not'").word != "label":
            raise t.Fail("Write 'not label X' to leave out a label.")
        found.not_labels.append(t.clean(a.need("label").text, "label", limit=50))
    elif word == "proposal":
        _once(found.proposal, "proposal")
        found.proposal = t.number(a.need("proposal number").text)
    elif word.startswith("severity"):
        _once(found.severity, "severity")
        found.severity = _severity(a, word[len("severity") :])
    elif word == "lang":
        _once(found.lang, "lang")
        lang = t.match(_LANG, a.need("language"), "language", "de").group(0)
        found.lang = lang.replace("_", "-")
    elif word == "digest":
        _once(found.digest, "digest")
        if a.need("word 'daily'").word != "daily":
            raise t.Fail("Write 'digest daily HH:MM'; daily is the only digest.")
        clock = t.match(_CLOCK, a.need("time of day"), "time of day", "08:30")
        found.digest = f"{int(clock.group(1)):02d}:{clock.group(2)}"
    else:
        hint = suggest(word, _FILTER_WORDS)
        raise t.Fail(f"{t.show(tok.text)} is not a subscription filter{hint}; {_FILTER_HELP}.")


def _severity(a: t.Args, glued: str) -> str:
    """``severity >= sev2`` with or without spaces, ``>=`` or ``≥``."""
    text = glued or a.need("'>= sevN' after severity").text
    for op in (">=", "≥"):
        if text.startswith(op):
            rest = text[len(op) :]
            tok = t.Tok(rest, False, 0, 0) if rest else a.need("severity after " + op)
            return t.name(tok, "severity")
    raise t.Fail("Write the threshold as 'severity >= sev2' (sev2 or worse).")
