"""What the chat answers show: one proposal (``show``), the open ones (``proposals``) and what
awaits someone (``todo``), rendered from the shared views (bot.views) as plain text: every
surface shows a message as text, nothing in it is markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.messages import Button, Line, Message, When
from bot.views import (
    CLIP,
    OPEN_STATES,
    lazy_counts,
    proposal_view,
    summary_view,
    unreached_deadlines,
    view_time,
)
from charter.feedback import FeedbackRequest
from charter.model import Charter, Track
from charter.seats import seats
from charter.text import join_and, truncate
from charter.todo import Task
from storage.proposals import Stored

# Characters kept of a feedback request's note on a ``todo`` line, which also carries the
# proposal's title and what answers it: enough to see what was asked (show keeps CLIP).
NOTE_CLIP = 120


def proposal_message(
    stored: Stored,
    charter: Charter,
    now: datetime,
    feedback: Sequence[FeedbackRequest] = (),
    viewer: str | None = None,
) -> Message:
    """The ``show`` answer; ``feedback`` is the proposal's feedback requests, of which the open
    ones are listed while the proposal is open, as on the tracking comment. On a track with
    ``author_may_vote: false`` an empty seat the author holds says who may cast it (nobody,
    when the author holds it alone), and ``viewer``, when the author, is told why voting is
    not offered to them, and gets no vote buttons."""
    view = proposal_view(stored, charter, now, feedback)
    track = charter.tracks.get(view["track"])
    barred = None if track is None or track.author_may_vote else view["author"].lower()
    author_viewing = barred is not None and (viewer or "").lower() == barred
    lines: list[Line] = [
        (f"{view['track']} · {view['state']} · by {view['author']}",),
        *deadline_lines(view),
        *_intake_lines(view),
        *_tally_lines(view, charter, track, barred),
        *_concern_lines(view),
        *_feedback_lines(view),
    ]
    if author_viewing and view["state"] in OPEN_STATES:
        lines.append(
            (
                f"You wrote this proposal: track {view['track']} does not let its author vote"
                " on it (author_may_vote: false).",
            )
        )
    buttons = () if author_viewing else _vote_buttons(view)
    return Message(title=f"#{view['number']} {view['title']}", lines=tuple(lines), buttons=buttons)


def deadline_lines(view: dict[str, Any]) -> list[Line]:
    """When review ends and voting closes, unless the decision came first."""
    unreached = unreached_deadlines(view)
    lines: list[Line] = []
    for label, key in (("Review ends", "review_ends"), ("Voting closes", "voting_closes")):
        at = view_time(view["deadlines"][key])
        if at is not None and key not in unreached:
            lines.append((f"{label}: ", When(at)))
    return lines


def _intake_lines(view: dict[str, Any]) -> list[Line]:
    """What the author must fix before review can start (nothing when the form is fine, or
    when the proposal is closed: a withdrawn draft has nothing left to fix)."""
    if not view["intake_problems"] or view["state"] != "draft":
        return []
    return [("Needs fixing before review:",), *((f"• {p}",) for p in view["intake_problems"])]


def _tally_lines(
    view: dict[str, Any], charter: Charter, track: Track | None, barred: str | None
) -> list[Line]:
    """The votes and one line per seat, once the proposal left draft (none without a track).
    ``barred`` is the author's login when the track does not let the author vote."""
    t = view["tally"]
    if t is None or view["state"] == "draft":
        return []
    held: dict[str, tuple[str, ...]] = {}  # seats the author may not cast, while open
    if barred is not None and track is not None and view["state"] in OPEN_STATES:
        held = {s.id: s.members for s in seats(track, charter)}
    return [votes_line(t), *(_seat_line(row, held, barred) for row in view["seat_matrix"])]


def votes_line(t: dict[str, Any]) -> Line:
    lazy = t["lazy"]
    during = f"; during lazy consensus: {lazy_counts(lazy)}" if lazy else ""
    at_close = " at voting close" if lazy else ""
    return (
        f"Votes: {t['approve']} approve, {t['reject']} reject, {t['abstain']} abstain "
        f"of {t['seats']} seats{at_close}{during} — {t['reason']}",
    )


def _seat_line(row: dict[str, Any], held: dict[str, tuple[str, ...]], barred: str | None) -> Line:
    if row["choice"]:
        return (f"  {row['label']}: {row['choice']} by {row['voter']}",)
    note = _barred_seat(held.get(row["seat"]), barred)
    return (f"  {row['label']}: —{note}",)


def _concern_lines(view: dict[str, Any]) -> list[Line]:
    """The open concerns, each with who raised it."""
    # Cut as the tracking comment cuts them: enough to recognise, small enough for many
    # (the full text is on the proposal's page and in the API).
    return [
        (f"Concern '{c['name']}' ({c['raised_by']}): {truncate(c['text'], CLIP)}",)
        for c in view["concerns"]
        if not c["resolved"]
    ]


def _feedback_lines(view: dict[str, Any]) -> list[Line]:
    """The open feedback requests (the view lists them only while the proposal is open)."""
    return [
        (f"Feedback requested from @{r['login']} (by @{r['asked_by']}){_quoted(r['note'], CLIP)}",)
        for r in view["feedback"]
    ]


def _vote_buttons(view: dict[str, Any]) -> tuple[Button, ...]:
    """Approve, reject and abstain while voting is open (none otherwise)."""
    if view["state"] != "voting":
        return ()
    n = view["number"]
    return (
        Button("Approve", f"vote:{n}:approve", "primary"),
        Button("Reject", f"vote:{n}:reject", "danger"),
        Button("Abstain", f"vote:{n}:abstain"),
    )


def _barred_seat(members: tuple[str, ...] | None, author: str | None) -> str:
    """What an empty seat's row adds when the proposal's author may not cast it: who may
    instead, or that it stays empty (nothing when the author does not hold it)."""
    if not members or author is None or author not in (m.lower() for m in members):
        return ""
    others = [m for m in members if m.lower() != author]
    if not others:
        return " (held by the author alone, who may not vote on it)"
    return f" ({join_and(others)} may cast it; the author may not)"


def listing_message(items: list[Stored], charter: Charter, now: datetime) -> Message:
    if not items:
        return Message.text_only("No open proposals.")
    lines: list[Line] = []
    for stored in items:
        view = summary_view(stored, charter, now)
        at = view_time(view["next_deadline"])
        line: Line = (f"#{view['number']} {view['title']} — {view['state']} ({view['track']})",)
        if at is not None:
            line = (*line, " · next deadline ", When(at))
        lines.append(line)
    return Message(title="Open proposals", lines=tuple(lines))


def todo_message(tasks: tuple[Task, ...], login: str) -> Message:
    """The ``todo`` answer: one line per task, votes first (see :mod:`charter.todo`), each
    with the command that settles it, so the asker can act from the answer (written as plain
    text, as every surface shows it: nothing in a message is markup)."""
    if not tasks:
        return Message.text_only(
            f"Nothing awaits {login}: every seat you hold has voted or has nothing open, "
            "no concern you raised is open, nobody awaits your feedback, and no rollout awaits"
            " a rollback drill of your client."
        )
    lines: list[Line] = []
    for task in tasks:
        head = f"#{task.number} {truncate(task.title, 80)}"
        seats_held = ", ".join(task.seats)
        if task.kind == "vote":
            assert task.due is not None
            lines.append(
                (f"Vote: {head} — for {seats_held}; closes ", When(task.due),
                 f" · type: /charter vote {task.number} approve|reject|abstain")
            )  # fmt: skip
        elif task.kind == "drill":
            lines.append(
                (f"Rollback drill: {head} — {task.note}"
                 f" · once drilled, type: /charter drill {task.number} {task.client} {task.stage}"
                 ' recovered <duration> (or failed "<what went wrong>")',)
            )  # fmt: skip
        elif task.kind == "concern":
            lines.append(
                (f"Your concern '{task.concern}' on {head} is open"
                 f" · once it is addressed, type: /charter resolve {task.number} {task.concern}",)
            )  # fmt: skip
        elif task.kind == "feedback":
            lines.append(
                (f"Feedback: {head} — {task.asked_by} asked for your feedback"
                 f"{_quoted(task.note, NOTE_CLIP)}"
                 " · a comment on its issue, a vote or a concern answers it",)
            )  # fmt: skip
        else:
            assert task.due is not None
            lines.append((f"Coming up: {head} — for {seats_held}; voting opens ", When(task.due)))
    return Message(title=f"What awaits {login}", lines=tuple(lines))


def _quoted(note: str, limit: int) -> str:
    """A feedback request's note after what names the request (": “…”"), cut to ``limit``;
    nothing without one. Plain text: each surface escapes it as it escapes all user text."""
    return f": “{truncate(note, limit)}”" if note else ""
