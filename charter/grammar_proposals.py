"""Productions of the proposal commands: votes, concerns and feedback requests (the top-level
grammar, and ``n``, ``name``, ``text``, ``github-login``: :mod:`charter.grammar`). Each function
reads the words after its command key from a :class:`charter.grammar_tokens.Args` cursor.

Grammar::

    proposal-command = "vote" n choice [ intro ] [ text ] | choice n [ intro ] [ text ]
                                                     (* approve 42 = vote 42 approve *)
                     | "concern" n name [ ":" ] text | "resolve" n name
                     | ( "feedback" | "f?" ) n asked { asked } [ text ] ;  (* at most 10 people *)
    choice   = "approve" | "reject" | "abstain" ;
    intro    = ":" | "—" | "–" | "-" | "--" ;     (* a lone word: approve — lgtm; reason "lgtm" *)
    asked    = ( "@" github-login | chat-mention ) [ "." | "," | ";" | ":" ] ;  (* "@a, @b: note";
                                                     ":" ends the list *)

Rules:

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
    n = a.proposal()
    raw = a.rest()
    if not raw:
        raise t.Fail(
            "Give the concern as <name>: <text>, e.g. gas-limit: the new target is too high."
        )
    head, colon, tail = raw.partition(":")
    if not colon:
        head, _, tail = raw.partition(" ")
    name = t.name(t.Tok(head.strip(), False, 0, 0), "concern name")
    return c.RaiseConcern(n, name, t.clean(tail, "concern text after the name"))


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
        example = "/f?" if a.comment else f"feedback {n}"
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
