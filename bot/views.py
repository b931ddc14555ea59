"""What people see of a proposal, built once and rendered per surface.

``proposal_view`` is the single JSON-safe description (the read API returns it as is); chat
messages and the GitHub tracking comment are rendered from it, so every surface agrees.
Times are ISO 8601 UTC strings in the view; renderers localise them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.messages import Button, Line, Message, When
from charter.concerns import outstanding
from charter.deadlines import deadlines
from charter.feedback import FeedbackRequest, outstanding as outstanding_feedback
from charter.lifecycle import State
from charter.model import Charter
from charter.proposal import rules_for, tally_of
from charter.seats import seats, seats_of
from charter.text import join_and, truncate
from charter.todo import Task
from charter.votes import Tally
from storage.proposals import Stored

OPEN_STATES = (State.DRAFT, State.REVIEW, State.VOTING)
# GitHub refuses a comment body over 65,536 characters; every body the bot posts (the tracking
# comment, replies) stays well below it, leaving room for the relay's hidden markers.
MAX_BODY = 60_000
# Characters kept of a concern text, vote reason or intake problem where many are listed (the
# tracking comment once it would be too long, the listing of a proposal): enough to recognise
# it, small enough for many of them.
CLIP = 280
# Characters kept of a feedback request's note on a ``todo`` line, which also carries the
# proposal's title and what answers it: enough to see what was asked (show keeps CLIP).
NOTE_CLIP = 120


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def proposal_view(
    stored: Stored,
    charter: Charter,
    now: datetime,
    feedback: Sequence[FeedbackRequest] = (),
) -> dict[str, Any]:
    """The proposal as people see it; ``feedback`` is its feedback requests (storage.feedback),
    of which the open ones are listed while the proposal is open (an answered one drops off;
    a closed proposal's are history, owed by nobody: the dashboard shows them unanswered)."""
    p = stored.proposal
    charter = rules_for(p, charter)  # the version the proposal was opened under
    track = charter.tracks.get(p.track)
    table = seats(track, charter) if track is not None else ()
    votes = [
        {
            "voter": v.voter,
            "seat": ", ".join(s.label for s in seats_of(v.voter, table)) or None,
            "choice": v.choice.value,
            "reason": v.reason,
            "at": _iso(v.at),
            "via": v.via,
        }
        for v in p.votes
    ]
    tally: dict[str, Any] | None = None
    matrix: list[dict[str, Any]] = []
    if track is not None and p.voting_opened_at is not None:
        at = p.decided_at or now
        t = tally_of(p, charter, at)
        tally = {
            "seats": len(t.seats),
            "voted": t.cast,
            "approve": t.approve,
            "reject": t.reject,
            "abstain": t.abstain,
            "needed": t.needed,
            "quorum": track.quorum,
            "approval": track.approval,
            "quorum_met": t.quorum_met,
            "approved": t.approved,
            "vetoed_by": list(t.vetoed_by),
            "outcome": t.outcome.value,
            "reason": t.reason,
            "lazy": lazy_votes(t),
        }
        for seat in t.seats:
            v = t.standing.get(seat.id)
            matrix.append(
                {
                    "seat": seat.id,
                    "label": seat.label,
                    "voter": v.voter if v else None,
                    "choice": v.choice.value if v else None,
                    "reason": v.reason if v else None,
                    "at": _iso(v.at) if v else None,
                    "via": v.via if v else None,
                }
            )
    elif track is not None:
        tally = {
            "seats": len(table),
            "voted": 0,
            "approve": 0,
            "reject": 0,
            "abstain": 0,
            "needed": None,
            "quorum": track.quorum,
            "approval": track.approval,
            "quorum_met": False,
            "approved": False,
            "vetoed_by": [],
            "outcome": "pending",
            "reason": "voting has not opened",
            "lazy": None,
        }
        matrix = [
            {
                "seat": s.id,
                "label": s.label,
                "voter": None,
                "choice": None,
                "reason": None,
                "at": None,
                "via": None,
            }
            for s in table
        ]
    d = deadlines(p, charter) if track is not None else None
    decision = None
    if p.decided_at is not None:
        decision = {
            "outcome": p.outcome.value if p.outcome else p.state.value,
            "at": _iso(p.decided_at),
            "charter_version": stored.extra.get("decided_charter_version", charter.version),
        }
    return {
        "number": p.number,
        "title": p.title,
        "track": p.track,
        "state": p.state.value,
        "author": p.author,
        "confidential": bool(track and track.confidential),
        "disclosed": stored.disclosed,
        "created_at": _iso(p.created_at),
        "charter_version": p.charter_version,
        "fields": dict(p.fields),
        "intake_problems": list(stored.intake_problems),
        "votes": votes,
        "seat_matrix": matrix,
        "concerns": [
            {
                "name": c.name,
                "text": c.text,
                "raised_by": c.raised_by,
                "raised_at": _iso(c.raised_at),
                "resolved": c.resolved_at is not None,
                "resolved_by": c.resolved_by,
            }
            for c in p.concerns
        ],
        "feedback": [
            {
                "login": r.login,
                "asked_by": r.asked_by,
                "asked_at": _iso(r.asked_at),
                "note": r.note,  # in full, as a concern's text
            }
            for r in outstanding_feedback(feedback)
            if p.state in OPEN_STATES
        ],
        "tally": tally,
        "deadlines": {
            "review_ends": _iso(d.review_ends) if d else None,
            "voting_opens": _iso(d.voting_opens) if d else None,
            "voting_closes": _iso(d.voting_closes) if d else None,
            "confirm_until": _iso(d.confirm_until) if d else None,
            "lazy_until": _iso(d.lazy_until) if d else None,
        },
        "decision": decision,
        "withdrawn_by": p.withdrawn_by,
    }


def lazy_votes(t: Tally) -> dict[str, int] | None:
    """The votes cast during lazy consensus, by choice, once voting closed without quorum on a
    track with lazy consensus (else None). The tally's other numbers are those at voting close,
    which quorum and approval were judged on; these are shown beside them, never added in."""
    if t.lazy_until is None and not t.lazy_votes.cast:
        return None
    return t.lazy_votes.summary()


def lazy_counts(lazy: dict[str, int]) -> str:
    """``1 approve, 1 reject`` (abstentions only when there are some)."""
    counts = f"{lazy['approve']} approve, {lazy['reject']} reject"
    return f"{counts}, {lazy['abstain']} abstain" if lazy["abstain"] else counts


def summary_view(stored: Stored, charter: Charter, now: datetime) -> dict[str, Any]:
    full = proposal_view(stored, charter, now)
    t = full["tally"] or {}
    return {
        "number": full["number"],
        "title": full["title"],
        "track": full["track"],
        "state": full["state"],
        "author": full["author"],
        "tally": {
            k: t.get(k)
            for k in ("seats", "voted", "approve", "reject", "abstain", "quorum_met", "outcome")
        },
        "next_deadline": next_deadline(full),
    }


def next_deadline(view: dict[str, Any]) -> str | None:
    d: dict[str, str | None] = view["deadlines"]
    state = view["state"]
    if state == "review":
        return d["review_ends"]
    if state == "voting":
        return d["confirm_until"] or d["voting_closes"]
    return None


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def unreached_deadlines(view: dict[str, Any]) -> list[str]:
    """The keys of ``view["deadlines"]`` that were never reached: they fall after the decision
    (or withdrawal), so they no longer apply. The read API keeps every computed deadline; the
    people-facing surfaces do not show these as upcoming."""
    decided = _dt(view["decision"]["at"]) if view["decision"] else None
    if decided is None:
        return []
    return [k for k, v in view["deadlines"].items() if (at := _dt(v)) is not None and at > decided]


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
    lines: list[Line] = [(f"{view['track']} · {view['state']} · by {view['author']}",)]
    unreached = unreached_deadlines(view)
    for label, key in (("Review ends", "review_ends"), ("Voting closes", "voting_closes")):
        at = _dt(view["deadlines"][key])
        if at is not None and key not in unreached:
            lines.append((f"{label}: ", When(at)))
    if view["intake_problems"]:
        lines.append(("Needs fixing before review:",))
        lines.extend((f"• {problem}",) for problem in view["intake_problems"])
    t = view["tally"]
    if t is not None and view["state"] != "draft":
        lazy = t["lazy"]
        during = f"; during lazy consensus: {lazy_counts(lazy)}" if lazy else ""
        at_close = " at voting close" if lazy else ""
        lines.append(
            (
                f"Votes: {t['approve']} approve, {t['reject']} reject, {t['abstain']} abstain "
                f"of {t['seats']} seats{at_close}{during} — {t['reason']}",
            )
        )
        held: dict[str, tuple[str, ...]] = {}  # seats the author may not cast, while open
        if barred is not None and track is not None and view["state"] in OPEN_STATES:
            held = {s.id: s.members for s in seats(track, charter)}
        for row in view["seat_matrix"]:
            if row["choice"]:
                lines.append((f"  {row['label']}: {row['choice']} by {row['voter']}",))
            else:
                note = _barred_seat(held.get(row["seat"]), barred)
                lines.append((f"  {row['label']}: —{note}",))
    open_concerns = [c for c in view["concerns"] if not c["resolved"]]
    for concern in open_concerns:
        # Cut as the tracking comment cuts them: enough to recognise, small enough for many
        # (the full text is on the proposal's page and in the API).
        text = truncate(concern["text"], CLIP)
        lines.append((f"Concern '{concern['name']}' ({concern['raised_by']}): {text}",))
    lines.extend(  # open requests, listed only while the proposal is open
        (f"Feedback requested from @{r['login']} (by @{r['asked_by']}){_quoted(r['note'], CLIP)}",)
        for r in view["feedback"]
    )
    author_viewing = barred is not None and (viewer or "").lower() == barred
    if author_viewing and view["state"] in OPEN_STATES:
        lines.append(
            (
                f"You wrote this proposal: track {view['track']} does not let its author vote"
                " on it (author_may_vote: false).",
            )
        )
    buttons: tuple[Button, ...] = ()
    if view["state"] == "voting" and not author_viewing:
        n = view["number"]
        buttons = (
            Button("Approve", f"vote:{n}:approve", "primary"),
            Button("Reject", f"vote:{n}:reject", "danger"),
            Button("Abstain", f"vote:{n}:abstain"),
        )
    return Message(title=f"#{view['number']} {view['title']}", lines=tuple(lines), buttons=buttons)


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
        at = _dt(view["next_deadline"])
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
                 f" · type: vote {task.number} approve|reject|abstain")
            )  # fmt: skip
        elif task.kind == "drill":
            lines.append(
                (f"Rollback drill: {head} — {task.note}"
                 f" · once drilled, type: drill {task.number} {task.client} {task.stage}"
                 ' recovered <duration> (or failed "<what went wrong>")',)
            )  # fmt: skip
        elif task.kind == "concern":
            lines.append(
                (f"Your concern '{task.concern}' on {head} is open"
                 f" · once it is addressed, type: resolve {task.number} {task.concern}",)
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


def open_concern_names(stored: Stored) -> list[str]:
    return [c.name for c in outstanding(stored.proposal.concerns)]


# -- GitHub comment size --------------------------------------------------------------------


def fit(body: str, page: str = "") -> str:
    """Any comment body GitHub must accept: ``body`` itself when it has at most ``MAX_BODY``
    characters, else cut to fit and ended by a note saying so (pointing to ``page``, the full
    record, when given). The last resort of the tracking comment (a huge seat matrix), and the
    cap of every reply. Whole lines are kept; a first line longer than the limit is cut where
    no entity or backslash escape is split, so the text still renders as it was escaped."""
    if len(body) <= MAX_BODY:
        return body
    note = _cut_note(page)
    end = body.rfind("\n", 0, MAX_BODY - len(note)) + 1
    if end:
        return body[:end] + note
    return body[: _unsplit(body, MAX_BODY - len(note) - 1)] + "\n" + note


def point_to(body: str, page: str) -> str:
    """A body :func:`fit` cut without knowing the full record's ``page``, now naming it."""
    bare = _cut_note("")
    if not page or not body.endswith(bare):
        return body
    return body.removesuffix(bare) + _cut_note(page)


def _cut_note(page: str) -> str:
    where = f"; the full record: {page}" if page else ""
    return f"… cut to fit GitHub's comment size limit{where}\n"


def _unsplit(text: str, end: int) -> int:
    """The last cut at or before ``end`` that splits no entity (``&lt;``, ``&#8203;``) and no
    backslash escape of :func:`charter.text.escape_markdown_github`."""
    amp = text.rfind("&", max(0, end - 7), end)  # the longest entity, &#8203;, has 7
    if amp != -1 and ";" not in text[amp:end]:
        end = amp
    backslashes = end - len(text[:end].rstrip("\\"))
    return end - backslashes % 2  # an odd run ends in an escape's first half
