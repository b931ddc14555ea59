"""One command grammar for GitHub comments and chat.

Chat (Discord, Slack, console): :func:`parse_chat` reads the text after ``/charter`` as one
command. GitHub: :func:`parse_comment` reads every line of a comment that starts, after at most
three spaces, with ``/`` and a command word; in a comment the proposal is the issue commented
on, so ``n`` is left out. Both use the same productions: below, and those of the commands
of each area at the top of the module that parses them (named below).

Grammar (keywords are case-insensitive and NFKC-folded, so ``ＶＯＴＥ`` is ``vote``; a command
word or choice may end in one of ``. ! , ; :``, and runs into the text after it only by a colon
or a dash (``approve:lgtm`` is ``approve: lgtm``); ``[ ]`` optional, ``{ }`` repeated, ``|``
choice, ``…`` the rest of the line)::

    chat     = [ "/charter" ] [ command ] ;   (* empty text means "help"; "/charter", as every
                                                  reply writes a command, is read pasted too *)
    comment  = { line } ;
    line     = indent ( "/" | "／" ) [ "charter" ] command eol | other-line ;  (* live lines only *)
    indent   = /[ ]{0,3}/ ;            (* CommonMark: four columns (a tab is up to four) are code *)
    command  = ( "proposals" | "list" )
             | "show" n | "status" n | "withdraw" n | "disclose" n | "rollout" n
             | "link" | "whoami" | "todo" | "help" [ topic ]
             | proposal-command                     (* vote, concern, feedback:
                                                        charter.grammar_proposals *)
             | rollout-command | incident-command   (* charter.grammar_rollouts *)
             | meeting-command                      (* charter.grammar_meetings *)
             | subscription-command                 (* charter.grammar_subscriptions *)
             | drill-command ;                      (* charter.grammar_drills *)
    n        = [ "#" ] digits ;   (* 1 … 10^9, NFKC-folded (＃１２); in a GitHub comment the
                                     issue: left out, or written as the issue's own number *)
    name     = /[a-z0-9][a-z0-9_-]{0,63}/ ;       (* lowercased first; the charter's ids *)
    user     = [ "@" ] github-login | chat-mention ;
    github-login = /[A-Za-z0-9](-?[A-Za-z0-9])*/ ;   (* GitHub's: at most 39 characters *)
    quoted   = '"' … '"' | '“' … '”' ;
    text     = quoted | … ;                       (* cleaned; at most 1000 characters *)

Rules a reader of a comment should know:

- What GitHub shows as code or a quote is ignored, so quoting or showing someone's ``/vote``
  never casts one: fenced code blocks (``` or ~~~), indented code (a line indented four columns
  or more, as CommonMark reads it: a command line may have at most three leading spaces),
  ``<pre>`` blocks (up to ``</pre>``), ``<code>`` blocks (up to ``</code>`` or a blank line),
  quoted lines (``>``) and HTML comments. What is left are the comment's live lines
  (:mod:`charter.live_lines`); whatever else is read from a comment (a link code) is read
  from them.
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
- ``help`` answers in the form of the surface it was asked on (:func:`help_lines`): in a
  comment the comment forms, chat-only commands left out; ``help <group>`` lists the group.
- A line whose ``/word`` is no command and close to none (``/usr/bin …``) is ignored; a near
  miss (``/vot``) gets a "did you mean" reply. Chat-only commands (``/link``, ``/subscribe``…)
  in a comment get a reply saying where they work.
- ``drill`` reports a client's rollback drill on a stage: ``drill 42 aurora canary recovered
  12m`` (notes may follow), or ``drill 42 aurora canary failed "<what went wrong>"`` (required).
  In a comment the proposal is the issue: ``/drill aurora canary recovered 12m``.
  ``drill schedule 42 aurora canary thursday 15:00`` plans one (the time as ``meeting
  schedule`` reads it); the word after ``drill`` picks the subcommand, as after ``rollout``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator

from charter import (
    commands as c,
    grammar_drills as drills,
    grammar_meetings as meetings,
    grammar_proposals as proposals,
    grammar_rollouts as rollouts,
    grammar_subscriptions as subscriptions,
    grammar_tokens as t,
)
from charter.commands import ParseError
from charter.live_lines import live_lines
from charter.text import fold, normalise
from charter.usage import CHAT_ONLY, COMMENT_USAGE, GROUPS, LEADS, USAGE

__all__ = ["COMMENT_USAGE", "USAGE", "help_lines", "parse_chat", "parse_comment"]

MAX_COMMENT_COMMANDS = 20

# "/word" then a space, the end, punctuation or a dash (matched NFKC-folded); "/usr/bin" is none.
# rfcbot's "/f?" is the one word with a question mark ("/what?" stays a line of prose).
# "/f?@bob" is a line too, so it is answered "Put a space after 'f?'" rather than ignored.
_COMMENT_LINE = re.compile(r"/(?:[Ff]\?(?=[@<])|(?:[Ff]\?|[A-Za-z][A-Za-z-]*)(?=[\s.!,;:—–]|$))")
_SLASHES = ("/", "／")  # the full-width solidus of IME keyboards, NFKC-folded to "/"
_Prod = Callable[[t.Args], c.Command]


# -- commands that take a number or nothing, and help ---------------------------------------


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
    "vote": proposals.vote,
    "approve": lambda a: proposals.vote(a, "approve"),
    "reject": lambda a: proposals.vote(a, "reject"),
    "abstain": lambda a: proposals.vote(a, "abstain"),
    "concern": proposals.concern,
    "resolve": proposals.resolve,
    "feedback": proposals.feedback,
    "withdraw": _only_n(c.Withdraw),
    "link": _bare(c.Link),
    "whoami": _bare(c.WhoAmI),
    "todo": _bare(c.Todo),
    "help": _help,
    "disclose": _only_n(c.Disclose),
    "ready": rollouts.ready,
    "drill": drills.drill,
    "drill schedule": drills.schedule,
    "advance": rollouts.advance,
    "rollout": _only_n(c.ShowRollout),
    "rollout pause": rollouts.pause,
    "rollout resume": rollouts.resume,
    "inventory": rollouts.inventory,
    "rollback": rollouts.rollback,
    "activation": rollouts.activation,
    "flag": rollouts.flag,
    "incident declare": rollouts.incident_declare,
    "incident role": rollouts.incident_role,
    "incident update": rollouts.incident_update,
    "incident severity": rollouts.incident_severity,
    "incident resolve": rollouts.incident_resolve,
    "incident add": rollouts.incident_add,
    "meetings": meetings.meetings,
    "meeting schedule": meetings.schedule,
    "meeting cancel": meetings.cancel,
    "meeting move": meetings.move,
    "meeting decide": meetings.decide,
    "meeting action": meetings.action,
    "agenda add": meetings.agenda,
    "confirm": meetings.confirm,
    "subscribe": subscriptions.subscribe,
    "unsubscribe": subscriptions.unsubscribe,
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
    """Parse the text after ``/charter``; empty text asks for help. A command copied whole from
    a reply or a help line (``/charter vote 7 approve``: every reply writes a command so) reads
    as the text after its ``/charter``, on every chat surface alike."""
    src = _unpasted(normalise(text))
    if not src:
        return c.Help(None)
    result = _dispatch(t.Args(src, comment=False, issue=None))
    assert result is not None  # only comments ignore unknown words
    return result


def _unpasted(src: str) -> str:
    """``src`` without a leading ``/charter`` word (NFKC-folded, any case)."""
    head = src[: len(_PASTED)]
    if fold(head).lower() == _PASTED and src[len(_PASTED) : len(_PASTED) + 1].strip() == "":
        return src[len(_PASTED) :].lstrip()
    return src


_PASTED = "/charter"


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
