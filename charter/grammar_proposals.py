"""Productions of the proposal commands: votes, concerns and feedback requests (the top-level
grammar, and ``n``, ``name``, ``text``, ``github-login``: :mod:`charter.grammar`). Each function
reads the words after its command key from a :class:`charter.grammar_tokens.Args` cursor.

Grammar::

    proposal-command = "vote" n choice [ intro ] [ text ] | choice n [ intro ] [ text ]
                                                     (* approve 42 = vote 42 approve *)
                     | "concern" n concern-name text | "resolve" n name
                     | ( "feedback" | "f?" ) n asked { asked } [ text ] ;  (* at most 10 people *)
    choice   = "approve" | "reject" | "abstain" ;
    concern-name = name ":" | name " :" ;       (* the first word, ending in its colon: "perf:",
                                                  or a lone colon after it: "perf :" *)
    intro    = ":" | "—" | "–" | "-" | "--" ;     (* a lone word: approve — lgtm; reason "lgtm" *)
    asked    = ( "@" github-login | chat-mention ) [ "." | "," | ";" | ":" ] ;  (* "@a, @b: note";
                                                     ":" ends the list *)

Rules:

- A concern's name is the first word, and its colon ends it: ``concern 6 perf: p99 rose at
  10:30`` names ``perf``; a colon later in the text (a time, a URL, "note:") never ends the
  name. The colon is required: a first word without one (``concern 6 state sync is slow``),
  or with text run into it (``perf:slow``, ``10:30``, ``https://…``), is refused with the
  command to write, its name suggested (the words before a later word-ending colon joined by
  hyphens, ``state-sync: …``, else the first word, ``state: sync is slow``, else ``<name>``).
  A name alone (``concern 6 perf:``, ``concern 6 perf``) is refused, asking for the text: a
  concern says what is wrong. A wholly quoted text is read as if unquoted. A GitHub comment
  (``/concern perf: …``) reads the same, and a refusal there writes the comment's form.
- ``feedback`` names the people asked, each written ``@login`` or as a chat mention, the
  first one too (``/feedback please take a look`` is refused "write the people to ask as
  @login", never read as asking GitHub user ``please``); the first word after them that is
  not one starts the note, so ``/feedback @bob @carol does this break light clients?`` asks
  two people. A name may end in ``.``, ``,`` or ``;`` (``@bob, @carol``, ``/f? @bob.``), or
  ``:``, which ends the list (``@bob: your view?``). A login named twice is asked once; at
  most 10 people per command. ``/f?@bob`` is answered "Put a space after 'f?'".
"""

from __future__ import annotations

from charter import commands as c, grammar_tokens as t
from charter.text import fold

_CHOICES: dict[str, c.VoteChoice] = {"approve": "approve", "reject": "reject", "abstain": "abstain"}


def vote(a: t.Args, choice: c.VoteChoice | None = None) -> c.CastVote:
    n = a.proposal()
    if choice is None:
        tok = a.need("choice: approve, reject or abstain")
        glue = t.glued(tok, _CHOICES)  # "vote approve:lgtm"
        if glue is not None:
            a.unglue(tok, glue)
        choice = _CHOICES.get(glue.head if glue else t.keyword(tok))
        if choice is None:
            raise t.Fail(f"Vote approve, reject or abstain; {t.show(tok.text)} is none of these.")
    a.skip_introducer()  # "approve — lgtm": the dash only introduces the reason
    return c.CastVote(n, choice, t.clean(a.rest(), "reason", required=False))


def concern(a: t.Args) -> c.RaiseConcern:
    """``<name>: <text>``: the first word is the name, ended by its colon (see the module
    rules); without that colon nothing is guessed, and the reply writes the command out."""
    n = a.proposal()
    form = "/concern" if a.comment else f"/charter concern {n}"
    raw = a.rest()
    words = raw.split(None, 1)
    if not words:
        raise t.Fail(
            f"Give the concern as <name>: <text>, e.g. {form} gas-limit: the new target is too"
            " high."
        )
    first, after = words[0], (words[1] if len(words) > 1 else "")
    lone = after.split(None, 1)
    if fold(first).endswith(":") and len(first) > 1:
        head, text = first[:-1], after
    elif lone and fold(lone[0]) == ":":  # "perf : text"
        head, text = first, (lone[1] if len(lone) > 1 else "")
    elif not after and ":" not in fold(first):  # a name alone: its text is asked for
        head, text = first, ""
    else:
        raise t.Fail(
            f"Start the concern with its name, one word ending in a colon: {form} {_suggested(raw)}"
        )
    name = t.name(t.Tok(head, False, 0, 0), "concern name")
    if not text.strip():
        raise t.Fail(f"Give the concern text after the name, e.g. {form} {name}: <what is wrong>.")
    return c.RaiseConcern(n, name, t.clean(text, "concern text after the name"))


_SUGGESTED_WORDS = 4  # a multi-word name before a colon ("state sync: …") is joined up to this
_COLONS = ":："  # a colon, and the full-width one NFKC folds to it


def _suggested(raw: str) -> str:
    """``raw`` written as ``<name>: <text>`` (see the module rules): the words before a later
    word-ending colon hyphenated when that makes a name (``state-sync: slow``), else the first
    word when it is one (``state: sync is slow``; ``perf:slow`` spaced), else ``<name>: raw``.
    A name suggested holds a letter: ``10:30`` is a time, ``https://…`` a URL."""
    words = raw.split()
    for i, word in enumerate(words[:_SUGGESTED_WORDS]):
        if len(word) > 1 and word[-1] in _COLONS:
            joined = _suggestable("-".join([*words[:i], word[:-1]]))
            if joined is not None:
                return " ".join([f"{joined}:", *words[i + 1 :]])
            break
    first, rest = words[0], words[1:]
    cut = next((k for k, ch in enumerate(first) if ch in _COLONS), len(first))
    head, tail = first[:cut], first[cut + 1 :]
    name = _suggestable(head)
    if name is not None and not tail.startswith("/"):  # "perf:slow" or "state", not a URL
        return " ".join([f"{name}:", *([tail] if tail else []), *rest])
    return f"<name>: {raw}"


def _suggestable(text: str) -> str | None:
    """``text`` as a concern name holding a letter, else None."""
    try:
        name = t.name(t.Tok(text, False, 0, 0), "concern name")
    except t.Fail:
        return None
    return name if any(ch.isalpha() for ch in name) else None


def resolve(a: t.Args) -> c.ResolveConcern:
    n = a.proposal()
    name = t.name(a.need("concern name"), "concern name")
    a.end()
    return c.ResolveConcern(n, name)


def feedback(a: t.Args) -> c.RequestFeedback:
    """``@a @b, @c: note``: every person asked is written ``@login`` or as a chat mention, the
    first one too, so prose (``/feedback please take a look``) never names a stranger to ping.
    A name may end in ``. , ;`` (dropped) or ``:`` (which also ends the list)."""
    n = a.proposal()
    users: list[str] = []
    first = a.need("person to ask, e.g. @bob-aurora")
    if not _names_person(first):
        # The example in the asker's own form: a chat command names the proposal, a comment not.
        example = "/f?" if a.comment else f"/charter feedback {n}"
        raise t.Fail(
            f"Write the people to ask as @login (or a chat mention): {t.show(first.text)} is"
            f" not one, e.g. {example} @bob-aurora your view?"
        )
    tok: t.Tok | None = first
    while tok is not None:
        word = tok.text.rstrip(_MENTION_END)
        user = t.user(t.Tok(word, tok.quoted, tok.start, tok.end))
        if user.lower() not in {u.lower() for u in users}:
            users.append(user)
        if len(users) > c.MAX_FEEDBACK_USERS:
            raise t.Fail(
                f"Ask at most {c.MAX_FEEDBACK_USERS} people per command; ask the others in"
                " another one."
            )
        tok = None if tok.text.endswith(":") else _next_asked(a)
    return c.RequestFeedback(n, tuple(users), t.clean(a.rest(), "note", required=False))


_MENTION_END = ".,;:"  # "@bob." "@bob, @carol" "@bob: note": punctuation after a name


def _names_person(tok: t.Tok) -> bool:
    return not tok.quoted and tok.text.startswith(("@", "<@"))


def _next_asked(a: t.Args) -> t.Tok | None:
    """The next word when it names another person (``@login`` or a chat mention), taken."""
    tok = a.peek()
    if tok is None or not _names_person(tok):
        return None
    return a.take()
