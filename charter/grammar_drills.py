"""The productions of the ``drill`` commands (the grammar is written out in :mod:`charter.grammar`).

``drill n client stage recovered duration [notes]`` reports a rollback drill whose node was
healthy again after ``duration``; ``drill n client stage failed text`` one that did not recover,
``text`` (quoted or not) saying what went wrong. A duration is one word of ``<number><unit>``
parts, unit ``s``, ``m``, ``h`` or ``d`` (``90s``, ``12m``, ``1h30m``). ``drill schedule n
client stage when`` plans one; ``when`` is kept as written (the service reads it in the
charter's zone, as for ``meeting schedule``).
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta

from charter import commands as c, grammar_tokens as t

_PART = re.compile(r"([0-9]{1,6})([smhd])")
_DURATION = re.compile(r"(?:[0-9]{1,6}[smhd]){1,4}")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RESULTS = ("recovered", "failed")
_RESULT = 'result: recovered <duration> or failed "<what went wrong>"'
_WRONG = 'reason: what went wrong, e.g. failed "the node did not resync"'


def recovery(tok: t.Tok) -> timedelta:
    """How long a recovery took, as written: ``90s``, ``12m``, ``1h30m``; more than none."""
    text = t.keyword(tok)
    if _DURATION.fullmatch(text) is None:
        raise t.Fail(
            f"{t.show(tok.text)} is not a duration: write how long the node took to be healthy"
            " again as <number><unit>, unit s, m, h or d, e.g. 45s, 12m or 1h30m."
        )
    seconds = sum(int(n) * _SECONDS[unit] for n, unit in _PART.findall(text))
    if seconds == 0:
        raise t.Fail("A recovery takes some time: write how long it took, e.g. 45s or 12m.")
    return timedelta(seconds=seconds)


def drill(a: t.Args) -> c.Drill:
    n = a.proposal()
    client = t.name(a.need("client"), "client")
    stage = t.name(a.need("stage"), "stage")
    tok = a.need(_RESULT)
    word = t.keyword(tok)
    if word == "recovered":
        took = recovery(a.need("recovery time, e.g. 12m"))
        return c.Drill(n, client, stage, took, t.clean(a.rest(), "notes", required=False))
    if word == "failed":
        return c.Drill(n, client, stage, None, t.clean(a.rest(), _WRONG))
    close = difflib.get_close_matches(word, _RESULTS, n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise t.Fail(f"Give the {_RESULT}; {t.show(tok.text)} is neither.{hint}")


def schedule(a: t.Args) -> c.DrillSchedule:
    n = a.proposal()
    client = t.name(a.need("client"), "client")
    stage = t.name(a.need("stage"), "stage")
    when = t.clean(a.rest(), "time, e.g. thursday 15:00, 2027-03-04 15:00 or in 2 days")
    return c.DrillSchedule(n, client, stage, when)
