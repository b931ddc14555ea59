"""The productions of the ``drill`` commands (the top-level grammar, and ``n``, ``name``,
``text``: :mod:`charter.grammar`; a ``when`` is kept as written, for :mod:`charter.when`).

Grammar::

    drill-command = "drill" n client stage ( "recovered" recovery [ text ] | "failed" text )
                  | "drill" "schedule" n client stage when { when } ;
    recovery = part { part } ;         (* consecutive words, one duration: 90s, 12m, 1h30m,
                        30m 45s, 1h 30m; units largest first, each once; more than none, at
                        most 7d; "12 minutes" or "12min" is answered "write 12m"; a unit
                        repeated in a later word, "5m 5m", is refused: "write it once, 10m" *)
    part     = /([0-9]{1,6}[smhdw])+/ ;           (* units s, m, h, d, w, as in the charter *)

``drill n client stage recovered duration [notes]`` reports a rollback drill whose node was
healthy again after ``duration``; ``drill n client stage failed text`` one that did not recover,
``text`` (quoted or not) saying what went wrong. A duration is ``<number><unit>`` parts, unit
``s``, ``m``, ``h``, ``d`` or ``w`` as in the charter (:func:`charter.model.duration_seconds`),
largest unit first, in one word or in consecutive ones: ``90s``, ``12m``, ``1h30m``, ``30m 45s``
and ``1h 30m`` are each one duration (a word that does not continue it, such as ``2d`` after
``12m``, starts the notes). A unit repeated in consecutive words (``5m 5m``, ``1h30m 15m``) is
refused, not split into a duration and notes: the time was likely typed twice or meant as a
sum, and the answer gives the sum to write once. A unit spelled out (``12 minutes``,
``12min``) is answered with the short form to write (``12m``). A recovery takes more than no
time and at most :data:`MAX_RECOVERY`. A reason longer than ``TEXT_LIMIT`` is refused as "What
went wrong is N characters long". ``drill schedule n client stage when`` plans one; ``when`` is
kept as written (the service reads it in the charter's zone, as for ``meeting schedule``).
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta

from charter import commands as c, grammar_tokens as t
from charter.model import duration_seconds, format_compound

MAX_RECOVERY = timedelta(days=7)  # longer is no rollback: the drill failed
_PARTS = re.compile(r"(?:[0-9]{1,6}[smhdw])+")  # one word of a duration
_UNITS = re.compile(r"[smhdw]")
_NEXT = re.compile(r"\s*(\S+)")
_SPELLED = re.compile(r"([0-9]{1,6})(sec|secs|seconds?|mins?|minutes?|hrs?|hours?|days?|weeks?)")
_UNIT_WORD = re.compile(r"s|m|h|d|w|sec|secs|seconds?|mins?|minutes?|hrs?|hours?|days?|weeks?")
_RESULTS = ("recovered", "failed")
_RESULT = 'result: recovered <duration> or failed "<what went wrong>"'
_WRONG = 'reason: what went wrong, e.g. failed "the node did not resync"'
_HOW = (
    "write how long the node took to be healthy again as <number><unit>, unit s, m, h, d or w,"
    " e.g. 45s, 12m, 1h30m or 30m 45s."
)


def _continued(a: t.Args, tok: t.Tok, text: str) -> str:
    """``text`` (read from ``tok``) with the following words that continue its duration
    (``30m`` ``45s``); the cursor moves past them. A word repeating a unit of ``text`` is
    refused (see the module rules). The raw source is looked at, not tokenised: the notes after
    the duration may hold a lone quote."""
    while (word := _NEXT.match(a.src, a.pos)) is not None:
        more = t.keyword(t.Tok(word.group(1), False, word.start(1), word.end(1)))
        if _PARTS.fullmatch(more) is None or duration_seconds(text + more) is None:
            _repeated(a.src[tok.start : word.end(1)], text, more)
            break
        text, a.pos = text + more, word.end()
    return text


def _repeated(typed: str, text: str, more: str) -> None:
    """Refuse ``more`` (a duration of its own) when it repeats a unit of ``text``."""
    seconds, extra = duration_seconds(text), duration_seconds(more)
    shared = set(_UNITS.findall(text)) & set(_UNITS.findall(more))
    if seconds is None or extra is None or not shared:
        return  # not a duration of its own (notes), or one in the wrong order (notes, as before)
    total = format_compound(timedelta(seconds=seconds + extra))
    raise t.Fail(f"{t.show(typed)}: write the recovery time once, e.g. {total}.")


def _spelled(a: t.Args, text: str) -> str | None:
    """The short form of a unit spelled out: ``12m`` for ``12 minutes`` or ``12min``."""
    glued = _SPELLED.fullmatch(text)
    if glued is not None:
        return glued.group(1) + glued.group(2)[0]
    word = _NEXT.match(a.src, a.pos)
    unit = None if word is None else t.keyword(t.Tok(word.group(1), False, 0, 0))
    if text.isdigit() and unit is not None and _UNIT_WORD.fullmatch(unit):
        return text + unit[0]
    return None


def recovery(a: t.Args) -> timedelta:
    """How long a recovery took, as written (see the module rules)."""
    tok = a.need("recovery time, e.g. 12m")
    text = t.keyword(tok)
    if (short := _spelled(a, text)) is not None:
        raise t.Fail(f"Write the recovery time as {short}.")
    seconds = duration_seconds(_continued(a, tok, text)) if _PARTS.fullmatch(text) else None
    if seconds is None:
        if text.isdigit():
            raise t.Fail(f"{t.show(tok.text)} has no unit: write e.g. {text}m or {text}s.")
        raise t.Fail(f"{t.show(tok.text)} is not a duration: {_HOW}")
    if seconds == 0:
        raise t.Fail("A recovery takes some time: write how long it took, e.g. 45s or 12m.")
    if seconds > MAX_RECOVERY.total_seconds():
        raise t.Fail(
            f"A recovery takes at most {format_compound(MAX_RECOVERY)}: if the node was not"
            ' healthy again sooner, report the drill failed "<what went wrong>".'
        )
    return timedelta(seconds=seconds)


def drill(a: t.Args) -> c.Drill:
    n = a.proposal()
    client = t.name(a.need("client"), "client")
    stage = t.name(a.need("stage"), "stage")
    tok = a.need(_RESULT)
    word = t.keyword(tok)
    if word == "recovered":
        took = recovery(a)
        return c.Drill(n, client, stage, took, t.clean(a.rest(), "notes", required=False))
    if word == "failed":
        return c.Drill(n, client, stage, None, t.clean(a.rest(), _WRONG, named="What went wrong"))
    close = difflib.get_close_matches(word, _RESULTS, n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise t.Fail(f"Give the {_RESULT}; {t.show(tok.text)} is neither.{hint}")


def schedule(a: t.Args) -> c.DrillSchedule:
    n = a.proposal()
    client = t.name(a.need("client"), "client")
    stage = t.name(a.need("stage"), "stage")
    when = t.clean(a.rest(), "time, e.g. thursday 15:00, 2027-03-04 15:00 or in 2 days")
    return c.DrillSchedule(n, client, stage, when)
