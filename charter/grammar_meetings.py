"""Productions of the meeting commands (the top-level grammar, and ``n``, ``text``, ``user``:
:mod:`charter.grammar`; a ``when`` is kept as written, for :mod:`charter.when`). Each function
reads the words after its command key from a :class:`charter.grammar_tokens.Args` cursor.

Grammar::

    meeting-command = "meetings" [ "--next" count ]
                    | "meeting" "schedule" title when { when } [ duration ] [ "for" n ]
                    | "meeting" "cancel" meeting-id | "meeting" "move" meeting-id when { when }
                    | "meeting" "decide" [ "--call" meeting-id ] text
                    | "meeting" "action" [ "--call" meeting-id ] user text
                    | "agenda" "add" meeting-id text | "confirm" token ;
    duration = /[0-9]+[mh]/ ;                    (* only last before "for", not after in/after *)
    meeting-id = [ "#" ] /[A-Za-z0-9][A-Za-z0-9@:._-]{0,63}/ ;  (* a series or call id, or an
                                     occurrence key: core-sync@2027-03-04T15:00 *)

Rules:

- ``meeting decide`` and ``meeting action`` record on the call in progress; ``--call <id>``,
  written first (``—call`` too), names the call when several are. ``--call`` later in the text
  (``meeting decide go --call x``) is refused with the form to write, never recorded as words
  on whichever call is current; a wholly quoted text is literal.
"""

from __future__ import annotations

import re
from datetime import timedelta

from charter import commands as c, grammar_tokens as t
from charter.model import parse_duration
from charter.text import fold

_MEETING_ID = re.compile(r"#?([A-Za-z0-9][A-Za-z0-9@:._-]{0,63})")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{4,128}")
_DURATION = re.compile(r"[0-9]{1,4}[mh]")


# -- meetings -------------------------------------------------------------------------------


def meetings(a: t.Args) -> c.Meetings:
    tok = a.take()
    if tok is None:
        return c.Meetings()
    if t.option(tok) not in ("--next", "next"):
        raise t.Fail(f"{t.show(tok.text)} is not an option here; use --next N.")
    count = t.number(a.need("number of calls").text, "number of calls", example="5")
    a.end()
    if count > 50:
        raise t.Fail(f"Ask for at most 50 meetings; got {count}.")
    return c.Meetings(count)


def schedule(a: t.Args) -> c.MeetingSchedule:
    title = t.clean(a.need("meeting title").text, "meeting title", limit=t.TITLE_LIMIT)
    toks = a.take_all()
    proposal = None
    if len(toks) >= 2 and toks[-2].word == "for":
        proposal = t.number(toks[-1].text)
        toks = toks[:-2]
    duration = None
    last = toks[-1].word if toks else ""
    if len(toks) >= 2 and _DURATION.fullmatch(last) and toks[-2].word not in ("in", "after"):
        duration = _meeting_length(parse_duration(last))
        toks = toks[:-1]
    if not toks:
        raise t.Fail("Say when, e.g. 2027-03-04 15:00, thursday 15:00 or in 2 hours.")
    when = t.clean(a.src[toks[0].start : toks[-1].end], "time")
    return c.MeetingSchedule(title, when, duration, proposal)


def length_word(duration: timedelta) -> str:
    """A meeting's length as ``duration`` above reads it (one number, one unit): whole hours as
    ``2h``, ``24h`` (never ``1d``), any other length in minutes (``90m``, never ``1h30m``)."""
    minutes = int(duration.total_seconds() // 60)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def _meeting_length(duration: timedelta) -> timedelta:
    if not timedelta(0) < duration <= timedelta(hours=24):
        raise t.Fail("A meeting lasts from 1 minute to 24 hours, e.g. 90m or 2h.")
    return duration


def _meeting_id(a: t.Args) -> str:
    tok = a.need("meeting id")
    folded = t.Tok(fold(tok.text), tok.quoted, tok.start, tok.end)  # "＃12" is "#12"
    return t.match(_MEETING_ID, folded, "meeting id", "core-sync").group(1)


def cancel(a: t.Args) -> c.MeetingCancel:
    meeting = _meeting_id(a)
    a.end()
    return c.MeetingCancel(meeting)


def move(a: t.Args) -> c.MeetingMove:
    meeting = _meeting_id(a)
    return c.MeetingMove(meeting, t.clean(a.rest(), "new time"))


def decide(a: t.Args) -> c.MeetingDecide:
    """``meeting decide [--call <meeting-id>] <text>``."""
    call = _named_call(a)
    return c.MeetingDecide(_outcome_text(a, "decision", "decide --call <id> <text>"), call)


def action(a: t.Args) -> c.MeetingAction:
    """``meeting action [--call <meeting-id>] <who> <text>``."""
    call = _named_call(a)
    who = t.user(a.need("person who owns the action"))
    text = _outcome_text(a, "action", "action --call <id> <who> <text>")
    return c.MeetingAction(who, text, call)


def _named_call(a: t.Args) -> str | None:
    """The meeting named by a leading ``--call <meeting-id>`` (``—call`` too: Slack's dash),
    taken; ``None`` without one."""
    if t.option(a.peek()) != "--call":
        return None
    a.take()
    return _meeting_id(a)


# "--call" (or "—call", "--call=x") as a word of its own inside the text of an outcome.
_LATE_CALL = re.compile(r"(?:^|\s)(?:--|—|–)call(?=[\s=:]|$)", re.IGNORECASE)


def _outcome_text(a: t.Args, what: str, form: str) -> str:
    """The text of a decision or action item. ``--call`` written later than first (``decide
    go --call x``) would be recorded as words on whichever call is current, perhaps the wrong
    one: it is refused with the form to write, unless the whole text is quoted (literal)."""
    raw = a.src[a.pos :].strip()
    text = a.rest()
    if text == raw and _LATE_CALL.search(fold(text)):
        raise t.Fail(
            f"Write --call <id> first, spaced: meeting {form}. To record '--call' as words,"
            " quote the text."
        )
    return t.clean(text, what)


def agenda(a: t.Args) -> c.AgendaAdd:
    meeting = _meeting_id(a)
    return c.AgendaAdd(meeting, t.clean(a.rest(), "agenda item"))


def confirm(a: t.Args) -> c.Confirm:
    token = t.match(_TOKEN, a.need("confirmation token"), "confirmation token", "k3J9-x2").group(0)
    a.end()
    return c.Confirm(token)
