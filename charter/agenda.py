"""The agenda posted before a call (chat + a GitHub issue), built from a neutral snapshot.

Rules:

- The text is a pure function of (meeting, occurrence, snapshot, now) and every list is sorted,
  so the bot can edit the posted agenda in place only when its text changes.
- ``now`` only marks deadlines that have already passed ("overdue"); the text holds no
  relative times ("in 3 hours") that would change it on every tick.
- The first line is a hidden marker ``<!-- charterbot:agenda:<occurrence key> -->`` by which
  the bot finds its own post again.
- The title and the time line give where the call now falls. A moved call also says when it
  was first planned ("Moved: first planned for …"), so readers of the issue see the change.
- A cancelled call's agenda says so in its title ("[Cancelled] Agenda: …") and first line, and
  keeps only the items people added for it (to raise again elsewhere): proposals, concerns,
  gates, incidents and action items carry over to the next call's agenda anyway, and a text
  that no longer follows live state is not edited again.
- Text written by people (titles, concerns, action items, added items, names) is escaped: it
  cannot mention anyone (``@`` becomes ``@`` + U+200B ZERO WIDTH SPACE), cannot break the list
  structure (newlines collapse to spaces) and cannot start markup (backslash, backtick and
  ``* _ [ ] < > # | ~`` are backslash-escaped). Sections with nothing in them are left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from charter.meetings import AdhocMeeting, Occurrence, planned_start
from charter.model import Meeting

_MARKUP = re.compile(r"([\\`*_\[\]<>#|~])")
_MARKER = "<!-- charterbot:agenda:{key} -->"
_FAR = datetime.max.replace(tzinfo=UTC)


def escape(text: str) -> str:
    """User text made inert in markdown: no mentions, no markup, one line."""
    line = " ".join(text.split())
    return _MARKUP.sub(r"\\\1", line).replace("@", "@\u200b")


@dataclass(frozen=True)
class ProposalItem:
    number: int
    title: str
    state: str  # review | voting
    deadline: datetime | None = None  # when review ends / voting closes


@dataclass(frozen=True)
class ConcernItem:
    proposal: int
    author: str
    text: str


@dataclass(frozen=True)
class GateItem:
    proposal: int
    stage: str
    gate: str
    detail: str = ""


@dataclass(frozen=True)
class IncidentItem:
    id: str
    severity: str
    title: str
    opened_at: datetime


@dataclass(frozen=True)
class ActionItem:
    text: str
    owner: str = ""
    from_occurrence: str = ""


@dataclass(frozen=True)
class AddedItem:
    text: str
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class AgendaSnapshot:
    proposals: tuple[ProposalItem, ...] = ()
    concerns: tuple[ConcernItem, ...] = ()
    failing_gates: tuple[GateItem, ...] = ()
    incidents: tuple[IncidentItem, ...] = ()
    actions: tuple[ActionItem, ...] = ()
    added: tuple[AddedItem, ...] = ()


@dataclass(frozen=True)
class Agenda:
    title: str
    body_markdown: str


def _stamp(at: datetime, occurrence: Occurrence) -> str:
    local = at.astimezone(occurrence.local_start.tzinfo)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _proposals(snap: AgendaSnapshot, occ: Occurrence, now: datetime) -> list[str]:
    lines = []
    for p in sorted(snap.proposals, key=lambda p: (p.deadline or _FAR, p.number)):
        line = f"- #{p.number} {escape(p.title)} — {escape(p.state)}"
        if p.deadline is not None:
            late = " (overdue)" if p.deadline <= now else ""
            line += f", until {_stamp(p.deadline, occ)}{late}"
        lines.append(line)
    return lines


def _sections(snap: AgendaSnapshot, occ: Occurrence, now: datetime) -> list[tuple[str, list[str]]]:
    concerns = sorted(snap.concerns, key=lambda c: (c.proposal, c.author, c.text))
    gates = sorted(snap.failing_gates, key=lambda g: (g.proposal, g.stage, g.gate, g.detail))
    incidents = sorted(snap.incidents, key=lambda i: (i.severity, i.opened_at, i.id))
    # Owned action items first, by owner; unowned ones after them.
    actions = sorted(snap.actions, key=lambda a: (not a.owner, a.owner, a.text, a.from_occurrence))
    added = sorted(snap.added, key=lambda a: (a.added_at, a.added_by, a.text))
    return [
        ("Proposals in review and voting", _proposals(snap, occ, now)),
        (
            "Open concerns",
            [f"- #{c.proposal} {escape(c.author)}: {escape(c.text)}" for c in concerns],
        ),
        (
            "Rollouts with failing gates",
            [
                f"- #{g.proposal} {escape(g.stage)}: {escape(g.gate)}"
                + (f" — {escape(g.detail)}" if g.detail else "")
                for g in gates
            ],
        ),
        (
            "Open incidents",
            [
                f"- {escape(i.severity)} {escape(i.id)}: {escape(i.title)}"
                f" (open since {_stamp(i.opened_at, occ)})"
                for i in incidents
            ],
        ),
        (
            "Action items carried over",
            [
                f"- [ ] {escape(a.text)}"
                + (f" — {escape(a.owner)}" if a.owner else "")
                + (f" (from {escape(a.from_occurrence)})" if a.from_occurrence else "")
                for a in actions
            ],
        ),
        ("Added by participants", [f"- {escape(a.text)} — {escape(a.added_by)}" for a in added]),
    ]


def _status(occurrence: Occurrence, cancelled: bool) -> list[str]:
    """The line saying the call is cancelled, or when a moved call was first planned."""
    if cancelled:
        return ["", "**Cancelled:** this call will not take place."]
    planned = planned_start(occurrence)
    if occurrence.moved and planned != occurrence.starts_at:
        return ["", f"**Moved:** first planned for {_stamp(planned, occurrence)}."]
    return []


def build_agenda(
    meeting: Meeting | AdhocMeeting,
    occurrence: Occurrence,
    snapshot: AgendaSnapshot,
    now: datetime,
    *,
    cancelled: bool = False,
) -> Agenda:
    """The agenda of one occurrence (see the module docstring for the rules); ``cancelled``:
    the call will not take place."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    when = _stamp(occurrence.starts_at, occurrence)
    title = f"Agenda: {' '.join(meeting.title.split())} — {when}".replace("@", "@\u200b")
    if cancelled:
        title = f"[Cancelled] {title}"
        snapshot = AgendaSnapshot(added=snapshot.added)
    lines = [
        _MARKER.format(key=occurrence.key),
        f"# {escape(meeting.title)}",
        "",
        f"{when} ({occurrence.starts_at:%Y-%m-%d %H:%M} UTC), "
        f"{int((occurrence.ends_at - occurrence.starts_at).total_seconds() // 60)} minutes",
        *_status(occurrence, cancelled),
    ]
    sections = [(head, body) for head, body in _sections(snapshot, occurrence, now) if body]
    for head, body in sections:
        lines += ["", f"## {head}", "", *body]
    if not sections and not cancelled:
        lines += ["", "Nothing is on the agenda yet."]
    return Agenda(title=title, body_markdown="\n".join(lines) + "\n")
