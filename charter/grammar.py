"""One command grammar for GitHub comments and chat.

Chat (Discord, Slack, console): :func:`parse_chat` reads the text after ``/charter`` as one
command. GitHub: :func:`parse_comment` reads every line of a comment that starts, after at most
three spaces, with ``/`` and a command word; in a comment the proposal is the issue commented
on, so ``n`` is left out. Both use the same productions below.

Grammar (keywords are case-insensitive and NFKC-folded, so ``ＶＯＴＥ`` is ``vote``; a command
word or choice may end in one of ``. ! , ; :``, and runs into the text after it only by a colon
or a dash (``approve:lgtm`` is ``approve: lgtm``); ``[ ]`` optional, ``{ }`` repeated, ``|``
choice, ``…`` the rest of the line)::

    chat     = [ command ] ;                           (* empty text means "help" *)
    comment  = { line } ;
    line     = indent ( "/" | "／" ) [ "charter" ] command eol | other-line ;  (* live lines only *)
    indent   = /[ ]{0,3}/ ;            (* CommonMark: four columns (a tab is up to four) are code *)
    command  = ( "proposals" | "list" )
             | "show" n | "status" n | "withdraw" n | "disclose" n | "rollout" n
             | "rollout" "pause" n text
             | "rollout" "resume" n [ "--override" text | text ]
             | "vote" n choice [ intro ] [ text ] | choice n [ intro ] [ text ]
                                                     (* approve 42 = vote 42 approve *)
             | "concern" n name [ ":" ] text | "resolve" n name
             | ( "feedback" | "f?" ) n asked { asked } [ text ]  (* at most 10 people *)
             | "link" | "whoami" | "todo" | "help" [ topic ]
             | "ready" n client stage version [ ref ] [ text ]
             | "drill" n client stage ( "recovered" recovery [ text ] | "failed" text )
             | "drill" "schedule" n client stage when { when }
             | "advance" n [ "to" stage ] [ "--override" text ]  (* see the rules below *)
             | "inventory" [ n ]
             | "rollback" n { client } quoted | "flag" name ( "on" | "off" ) text
             | "activation" n target quoted   (* target: 2027-03-04T14:00Z or "epoch 412000" *)
             | "incident" "declare" severity summary [ "for" n { "," n } ] [ "clients" ] { client }
             | "incident" "role" [ n ] name user
             | "incident" "update" [ "#" id ] text | "incident" "resolve" [ "#" id ] [ text ]
             | "incident" "severity" [ "#" id ] severity [ text ]
             | "incident" "add" [ "#" id ] ( "for" n { "," n } [ "clients" client { client } ]
                                           | "clients" client { client } )
             | "meetings" [ "--next" count ]
             | "meeting" "schedule" title when { when } [ duration ] [ "for" n ]
             | "meeting" "cancel" meeting-id | "meeting" "move" meeting-id when { when }
             | "meeting" "decide" [ "--call" meeting-id ] text
             | "meeting" "action" [ "--call" meeting-id ] user text
             | "agenda" "add" meeting-id text | "confirm" token
             | "subscribe" [ target ] { filter } | "unsubscribe" [ n ] | "subscriptions" ;
    choice   = "approve" | "reject" | "abstain" ;
    intro    = ":" | "—" | "–" | "-" | "--" ;     (* a lone word: approve — lgtm; reason "lgtm" *)
    target   = "here" | "me" | "email" address | "webhook" url ;
    filter   = kind | "track" name | "client" name | "proposal" n | "label" label
             | "not" "label" label | "severity" ( ">=" | "≥" ) name | "lang" code
             | "digest" "daily" HH ":" MM ;
    kind     = "proposal-opened" | "voting-opened" | "vote" | "decision" | "rollout"
             | "incident" | "meeting" ;
    n        = [ "#" ] digits ;   (* 1 … 10^9, NFKC-folded (＃１２); in a GitHub comment the
                                     issue: left out, or written as the issue's own number *)
    name     = /[a-z0-9][a-z0-9_-]{0,63}/ ;       (* lowercased first; the charter's ids *)
    ref      = /[0-9a-f]{7,40}/ | /v?[0-9]+\\.\\S*/ | "refs/" … ;  (* else it starts the notes;
                        bare, it must be a whole version, a tag (v4.2.0, 1.0-rc1): a branch
                        such as v1.x is refused, "give the sha or refs/tags/<tag>" *)
    duration = /[0-9]+[mh]/ ;                    (* only last before "for", not after in/after *)
    recovery = part { part } ;         (* consecutive words, one duration: 90s, 12m, 1h30m,
                        30m 45s, 1h 30m; units largest first, each once; more than none, at
                        most 7d; "12 minutes" or "12min" is answered "write 12m"; a unit
                        repeated in a later word, "5m 5m", is refused: "write it once, 10m" *)
    part     = /([0-9]{1,6}[smhdw])+/ ;           (* units s, m, h, d, w, as in the charter *)
    user     = [ "@" ] github-login | chat-mention ;
    asked    = ( "@" github-login | chat-mention ) [ "." | "," | ";" | ":" ] ;  (* "@a, @b: note";
                                                     ":" ends the list *)
    github-login = /[A-Za-z0-9](-?[A-Za-z0-9])*/ ;   (* GitHub's: at most 39 characters *)
    meeting-id = [ "#" ] /[A-Za-z0-9][A-Za-z0-9@:._-]{0,63}/ ;  (* a series or call id, or an
                                     occurrence key: core-sync@2027-03-04T15:00 *)
    quoted   = '"' … '"' | '“' … '”' ;
    text     = quoted | … ;                       (* cleaned; at most 1000 characters *)

Rules a reader of a comment should know:

- What GitHub shows as code or a quote is ignored, so quoting or showing someone's ``/vote``
  never casts one: fenced code blocks (``` or ~~~), indented code (a line indented four columns
  or more, as CommonMark reads it: a command line may have at most three leading spaces),
  ``<pre>`` blocks (up to ``</pre>``), ``<code>`` blocks (up to ``</code>`` or a blank line),
  quoted lines (``>``) and HTML comments. What is left are the comment's live lines
  (:func:`live_lines`); whatever else is read from a comment (a link code) is read from them.
- One command per line; at most 20 per comment. ``/charter vote approve`` works like
  ``/vote approve``; ``/approve.``, ``/approve!`` and a full-width ``／approve`` work too.
- A colon or a dash introduces a reason, spaced or not: ``/approve: lgtm``, ``/approve:lgtm``,
  ``/approve — lgtm`` and ``/reject—too risky`` are votes with the reason after it (in chat
  too: ``vote 7 reject—too risky``). A command word or choice run into text by other
  punctuation (``/approve,lgtm``, ``/approve.lgtm``) is answered "Put a space after
  'approve,'", never silently ignored; an unknown word run into text (``/ok,thanks``) is
  ignored like any other.
- The proposal is the issue. A number written anyway (``/approve 7``, or ``/charter vote 7
  approve`` pasted from chat) is accepted when it is the issue's and dropped; any other
  number is refused ("comment on #7 or leave out the number"), never read as a reason.
- ``+1`` and reactions are not votes: a casual ``+1`` must never become a binding decision.
- Aliases: ``/approve``, ``/reject``, ``/abstain`` (= ``/vote <choice>``), ``list``
  (= ``proposals``, also as a help topic), ``f?`` (= ``feedback``, rfcbot's word: ``/f? @bob``).
- ``feedback`` names the people asked, each written ``@login`` or as a chat mention, the
  first one too (``/feedback please take a look`` is refused "write the people to ask as
  @login", never read as asking GitHub user ``please``); the first word after them that is
  not one starts the note, so ``/feedback @bob @carol does this break light clients?`` asks
  two people. A name may end in ``.``, ``,`` or ``;`` (``@bob, @carol``, ``/f? @bob.``), or
  ``:``, which ends the list (``@bob: your view?``). A login named twice is asked once; at
  most 10 people per command. ``/f?@bob`` is answered "Put a space after 'f?'".
- ``help`` answers in the form of the surface it was asked on (:func:`help_lines`): in a
  comment the comment forms, chat-only commands left out; ``help <group>`` lists the group.
- A line whose ``/word`` is no command and close to none (``/usr/bin …``) is ignored; a near
  miss (``/vot``) gets a "did you mean" reply. Chat-only commands (``/link``, ``/subscribe``…)
  in a comment get a reply saying where they work.
- ``incident update``, ``incident severity`` and ``incident resolve`` take an incident id only
  as ``#7``, because their text may start with a number; without it the service uses the
  current incident.
- ``incident declare`` in a comment without ``for`` names the issue as the affected proposal;
  so does ``incident add`` (``/incident add #3`` adds the issue to incident 3).
- ``incident add`` must name something to add, proposals with ``for``, clients with
  ``clients`` (the word is required here), or both in that order; it takes the incident only
  as ``#7``, first, like ``incident update``.
- ``inventory`` in a comment is the issue's own rollout (its answer is a public reply there):
  like every ``n``, a number written must be the issue's.
- ``rollout <n>`` shows a rollout; ``rollout pause <n> "<reason>"`` and ``rollout resume <n>
  ["<reason>"]`` hold it by hand and lift that hold (``/rollout pause "<reason>"`` in a comment);
  ``rollout resume <n> --override "<reason>"`` lifts the incidents' holds on it too (the reason
  is required; ``--override`` is written as in ``advance``).
  The word after ``rollout`` picks the subcommand; a number is never one, so ``rollout 7``
  still shows #7. A mistake in any of the three is answered with all three forms.
- ``meeting decide`` and ``meeting action`` record on the call in progress; ``--call <id>``,
  written first (``—call`` too), names the call when several are. ``--call`` later in the text
  (``meeting decide go --call x``) is refused with the form to write, never recorded as words
  on whichever call is current; a wholly quoted text is literal.
- ``drill`` reports a client's rollback drill on a stage: ``drill 42 aurora canary recovered
  12m`` (notes may follow), or ``drill 42 aurora canary failed "<what went wrong>"`` (required).
  In a comment the proposal is the issue: ``/drill aurora canary recovered 12m``.
  ``drill schedule 42 aurora canary thursday 15:00`` plans one (the time as ``meeting
  schedule`` reads it); the word after ``drill`` picks the subcommand, as after ``rollout``.
- ``advance`` names the stage to enter with ``to`` (``advance 42 to canary``); it must be the
  next one. An override must name it (``advance 42 to canary --override "…"``), so a repeated
  override cannot enter the stage after; one without ``to`` is read, then refused with the
  command to type. ``--override`` may be written ``override``, ``—override`` or ``–override``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator

from charter import commands as c, grammar_drills as drills, grammar_ops as ops, grammar_tokens as t
from charter.commands import CHAT_ONLY, COMMENT_USAGE, GROUPS, LEADS, USAGE, ParseError
from charter.text import fold, normalise

__all__ = ["COMMENT_USAGE", "USAGE", "help_lines", "live_lines", "parse_chat", "parse_comment"]

MAX_COMMENT_COMMANDS = 20

# "/word" then a space, the end, punctuation or a dash (matched NFKC-folded); "/usr/bin" is none.
# rfcbot's "/f?" is the one word with a question mark ("/what?" stays a line of prose).
# "/f?@bob" is a line too, so it is answered "Put a space after 'f?'" rather than ignored.
_COMMENT_LINE = re.compile(r"/(?:[Ff]\?(?=[@<])|(?:[Ff]\?|[A-Za-z][A-Za-z-]*)(?=[\s.!,;:—–]|$))")
_SLASHES = ("/", "／")  # the full-width solidus of IME keyboards, NFKC-folded to "/"
_FENCE = re.compile(r"(`{3,}|~{3,})")
# <pre> and <code> tags, opening or closing; their content renders as code, as a fence's does.
_CODE_TAG = re.compile(r"<(/?)(pre|code)(?=[\s>/])[^>]*>", re.IGNORECASE)
# What ends an open tag's block: its closing tag; a <code> block also ends at a blank line
# (CommonMark's HTML block of any other tag), a <pre> block does not.
_ENDS_AT_BLANK = {"pre": False, "code": True}
MAX_INDENT = 3  # columns before a command's slash; four or more make an indented code block
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_QUOTE = ">"  # a block quote's marker (after at most three spaces, like a command's slash)
_Prod = Callable[[t.Args], c.Command]


# -- proposals ------------------------------------------------------------------------------


_CHOICES: dict[str, c.VoteChoice] = {"approve": "approve", "reject": "reject", "abstain": "abstain"}


def _vote(a: t.Args, choice: c.VoteChoice | None = None) -> c.CastVote:
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


def _concern(a: t.Args) -> c.RaiseConcern:
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


def _resolve(a: t.Args) -> c.ResolveConcern:
    n = a.proposal()
    name = t.name(a.need("concern name"), "concern name")
    a.end()
    return c.ResolveConcern(n, name)


def _feedback(a: t.Args) -> c.RequestFeedback:
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


def _only_n(cls: type[c.Show | c.Status | c.Withdraw | c.Disclose | c.ShowRollout]) -> _Prod:
    def production(a: t.Args) -> c.Command:
        n = a.proposal()
        a.end()
        return cls(n)

    return production


def _bare(cls: type[c.ListProposals | c.Link | c.WhoAmI | c.Todo | c.Subscriptions]) -> _Prod:
    def production(a: t.Args) -> c.Command:
        a.end()
        return cls()

    return production


def _help(a: t.Args) -> c.Help:
    topic = " ".join(fold(a.rest()).lower().lstrip("/").split())
    topic = _ALIASES.get(topic, topic)
    if not topic:
        return c.Help(None)
    plural = topic.endswith("s") and topic not in USAGE and topic not in GROUPS
    if plural and topic[:-1] in {*USAGE, *GROUPS}:
        topic = topic[:-1]  # a plural names its topic: "help rollouts", "help incidents"
    if topic in USAGE or topic in GROUPS:
        return c.Help(topic)
    hint = _did_you_mean(topic, [*USAGE, *GROUPS])
    raise t.Fail(f"There is no help on {t.show(topic)}.{hint}")


# -- dispatch -------------------------------------------------------------------------------

_PRODUCTIONS: dict[str, _Prod] = {
    "proposals": _bare(c.ListProposals),
    "show": _only_n(c.Show),
    "status": _only_n(c.Status),
    "vote": _vote,
    "approve": lambda a: _vote(a, "approve"),
    "reject": lambda a: _vote(a, "reject"),
    "abstain": lambda a: _vote(a, "abstain"),
    "concern": _concern,
    "resolve": _resolve,
    "feedback": _feedback,
    "withdraw": _only_n(c.Withdraw),
    "link": _bare(c.Link),
    "whoami": _bare(c.WhoAmI),
    "todo": _bare(c.Todo),
    "help": _help,
    "disclose": _only_n(c.Disclose),
    "ready": ops.ready,
    "drill": drills.drill,
    "drill schedule": drills.schedule,
    "advance": ops.advance,
    "rollout": _only_n(c.ShowRollout),
    "rollout pause": ops.pause,
    "rollout resume": ops.resume,
    "inventory": ops.inventory,
    "rollback": ops.rollback,
    "activation": ops.activation,
    "flag": ops.flag,
    "incident declare": ops.incident_declare,
    "incident role": ops.incident_role,
    "incident update": ops.incident_update,
    "incident severity": ops.incident_severity,
    "incident resolve": ops.incident_resolve,
    "incident add": ops.incident_add,
    "meetings": ops.meetings,
    "meeting schedule": ops.schedule,
    "meeting cancel": ops.cancel,
    "meeting move": ops.move,
    "meeting decide": ops.decide,
    "meeting action": ops.action,
    "agenda add": ops.agenda,
    "confirm": ops.confirm,
    "subscribe": ops.subscribe,
    "unsubscribe": ops.unsubscribe,
    "subscriptions": _bare(c.Subscriptions),
}
_ALIASES = {"list": "proposals", "f?": "feedback"}
# The words a command starts with: what a word run into text (``approve:lgtm``) may be.
_WORDS = frozenset({*(k for k in _PRODUCTIONS if " " not in k), *GROUPS, *_ALIASES})


def _usage(key: str, comment: bool) -> str:
    return COMMENT_USAGE[key] if comment and key in COMMENT_USAGE else USAGE[key]


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def _dispatch(a: t.Args) -> c.Command | ParseError | None:
    """Read one command; ``None`` means "not addressed to us" (comments only)."""
    key = ""
    try:
        tok = a.need("command")
        glue = t.glued(tok, _WORDS)  # "/approve:lgtm", "/reject—too risky", "/approve,lgtm"
        word = glue.head if glue else t.keyword(tok)
        key = _ALIASES.get(word, word)
        if glue is not None and not (a.comment and key in CHAT_ONLY):  # that answer comes first
            a.unglue(tok, glue)
        if key in GROUPS:
            sub = a.take()
            key = f"{key} {'' if sub is None else t.keyword(sub)}"
            if key not in _PRODUCTIONS:
                return _unknown_sub(key, a.comment)
        if key in LEADS:
            key = _lead(a, key)
        if key not in _PRODUCTIONS:
            return _unknown(key, a.comment)
        if a.comment and key in CHAT_ONLY:
            return ParseError(
                f"'{key}' works in chat only: use /charter {key} in Discord, Slack or the console.",
                USAGE[key],
            )
        return _PRODUCTIONS[key](a)
    except t.Fail as fail:
        usage = _usage(key, a.comment) if key in _PRODUCTIONS else USAGE["help"]
        if key in LEADS:  # "rollout 7 pause …": show the subcommands' forms too
            usage = _group_usage(key, a.comment)
        return ParseError(str(fail), usage)


def _lead(a: t.Args, key: str) -> str:
    """The subcommand of a leading command (``rollout pause``) its next word names, taken;
    else the command itself (``rollout 7``: a number is never a subcommand word)."""
    tok = a.peek()
    sub = "" if tok is None else f"{key} {t.keyword(tok)}"
    if sub not in _PRODUCTIONS:
        return key
    a.take()
    return sub


def _unknown(word: str, comment: bool) -> ParseError | None:
    known = [
        k for k in (*_PRODUCTIONS, *GROUPS) if " " not in k and not (comment and k in CHAT_ONLY)
    ]
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if comment and not close:
        return None  # "/usr/bin is …": a line that merely starts with a slash
    hint = f" Did you mean '{close[0]}'?" if close else ""
    usage = _group_usage(close[0], comment) if close else USAGE["help"]
    return ParseError(f"{t.show(word)} is not a command.{hint}", usage)


def _unknown_sub(key: str, comment: bool) -> ParseError:
    group, _, sub = key.partition(" ")
    options = [k.partition(" ")[2] for k in _PRODUCTIONS if k.startswith(group + " ")]
    hint = _did_you_mean(sub, options)
    choices = ", ".join(options)
    message = f"'{group}' takes one of {choices}; {t.show(sub or '(nothing)')} is not one.{hint}"
    return ParseError(message, _group_usage(group, comment))


_CHAT_ONLY_NOTE = "works in chat only: Discord, Slack or the console"
_MORE_IN_CHAT = "More commands work in chat: /charter help in Discord, Slack or the console."


def help_lines(topic: str | None = None, *, comment: bool = False) -> list[str]:
    """What ``help [topic]`` shows: the usage of one command, of a group's commands, or of all.

    In a GitHub comment (``comment``) the comment forms are shown and chat-only commands left
    out, with a last line saying more work in chat; a chat-only command asked about by name is
    shown in its chat form, marked as such. An alias is resolved first; a topic the grammar
    does not know shows every command.
    """
    key = _ALIASES.get(topic or "", topic or "")
    keys = [k for k in sorted(USAGE) if k == key or k.startswith(key + " ")] or sorted(USAGE)
    if not comment:
        return [USAGE[k] for k in keys]
    shown = [COMMENT_USAGE[k] for k in keys if k in COMMENT_USAGE]
    if not shown:  # e.g. "/help subscribe": it exists, but not here
        return [f"{USAGE[k]} ({_CHAT_ONLY_NOTE})" for k in keys]
    return shown if len(shown) == len(keys) else [*shown, _MORE_IN_CHAT]


def _group_usage(word: str, comment: bool) -> str:
    keys = [k for k in _PRODUCTIONS if k == word or k.startswith(word + " ")]
    keys = [k for k in keys if not (comment and k in CHAT_ONLY)]
    return "\n".join(_usage(k, comment) for k in keys)


def parse_chat(text: str) -> c.Command | c.ParseError:
    """Parse the text after ``/charter``; empty text asks for help."""
    src = normalise(text)
    if not src:
        return c.Help(None)
    result = _dispatch(t.Args(src, comment=False, issue=None))
    assert result is not None  # only comments ignore unknown words
    return result


def parse_comment(body: str, issue: int | None = None) -> list[c.Command | c.ParseError]:
    """Parse every command line of a GitHub comment (see the module rules).

    ``issue`` fills in the implicit proposal number; without it ``n`` is ``None``.
    """
    results: list[c.Command | c.ParseError] = []
    for line in _command_lines(body):
        parsed = _parse_line(line[1:], issue)  # after the slash, "/" or "／"
        if parsed is None:
            continue
        if len(results) == MAX_COMMENT_COMMANDS:
            results.append(ParseError(_TOO_MANY, "one command per line, e.g. /vote approve"))
            break
        results.append(parsed)
    return results


_TOO_MANY = f"A comment may hold at most {MAX_COMMENT_COMMANDS} commands; the rest were not read."


def _parse_line(src: str, issue: int | None) -> c.Command | ParseError | None:
    a = t.Args(src, comment=True, issue=issue)
    first = a.peek()  # a word: the line matched _COMMENT_LINE
    if first is not None and t.keyword(first) == "charter":
        a.take()  # "/charter vote approve" is "/vote approve"
        if a.at_end():
            return c.Help(None)
    return _dispatch(a)


def _command_lines(body: str) -> Iterator[str]:
    """The live lines (:func:`live_lines`) that start with ``/word``."""
    for line in live_lines(body):
        if line[:1] in _SLASHES and _COMMENT_LINE.match(fold(line)):
            yield line


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
