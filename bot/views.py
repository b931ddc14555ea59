"""What people see of a proposal, built once and rendered per surface.

``proposal_view`` is the single JSON-safe description (the read API returns it as is); chat
messages (bot.chat_views) and the GitHub tracking comment are rendered from it, so every
surface agrees. Times are ISO 8601 UTC strings in the view; renderers localise them
(``view_time`` reads one back).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from charter.concerns import Concern
from charter.deadlines import Deadlines, deadlines
from charter.feedback import FeedbackRequest, outstanding as outstanding_feedback
from charter.lifecycle import State
from charter.model import Charter, Track
from charter.proposal import Proposal, rules_for, tally_of
from charter.seats import Seat, seats, seats_of
from charter.standing import Vote
from charter.verdict import Outcome, when
from charter.votes import Tally
from storage.proposals import Stored

OPEN_STATES = (State.DRAFT, State.REVIEW, State.VOTING)
# Characters kept of a concern text, vote reason or intake problem where many are listed (the
# tracking comment once it would be too long, the listing of a proposal): enough to recognise
# it, small enough for many of them.
CLIP = 280


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
    tally, matrix = _tally_and_matrix(p, charter, track, table, now)
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
        "votes": [_vote_row(v, table) for v in p.votes],
        "seat_matrix": matrix,
        "concerns": [_concern_row(c) for c in p.concerns],
        "feedback": [
            _feedback_row(r) for r in outstanding_feedback(feedback) if p.state in OPEN_STATES
        ],
        "tally": tally,
        "deadlines": _deadline_times(deadlines(p, charter) if track is not None else None),
        "decision": _decision(stored, charter),
        "withdrawn_by": p.withdrawn_by,
    }


def _vote_row(v: Vote, table: tuple[Seat, ...]) -> dict[str, Any]:
    """A cast vote with the seats its voter holds (None: no seat)."""
    return {
        "voter": v.voter,
        "seat": ", ".join(s.label for s in seats_of(v.voter, table)) or None,
        "choice": v.choice.value,
        "reason": v.reason,
        "at": _iso(v.at),
        "via": v.via,
    }


def _tally_and_matrix(
    p: Proposal, charter: Charter, track: Track | None, table: tuple[Seat, ...], now: datetime
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The tally and one row per seat: as of the decision (else ``now``) once voting opened,
    pending with empty seats before; none without a track."""
    if track is None:
        return None, []
    if p.voting_opened_at is None:
        return _pending_tally(track, len(table), p.state), [_seat_row(s, None) for s in table]
    t = tally_of(p, charter, p.decided_at or now)
    tally = _tally(t, track)
    if p.state is State.WITHDRAWN and t.outcome is Outcome.PENDING:
        # Counted at the withdrawal, the votes still read "voting open until …": it is not.
        at = f" at {when(p.decided_at)}" if p.decided_at is not None else ""
        tally["reason"] = f"withdrawn while voting was open; voting closed{at}"
    return tally, [_seat_row(seat, t.standing.get(seat.id)) for seat in t.seats]


def _tally(t: Tally, track: Track) -> dict[str, Any]:
    return {
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


def _pending_tally(track: Track, seat_count: int, state: State) -> dict[str, Any]:
    """The tally of a proposal whose voting never opened: nothing cast, outcome pending; the
    reason says whether voting is still to open or the proposal closed before it did."""
    return {
        "seats": seat_count,
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
        "reason": (
            "voting has not opened"
            if state in (State.DRAFT, State.REVIEW)
            else f"{state.value} before voting opened"
        ),
        "lazy": None,
    }


def _seat_row(seat: Seat, v: Vote | None) -> dict[str, Any]:
    """A seat of the matrix with the vote that stands for it (all None: empty)."""
    return {
        "seat": seat.id,
        "label": seat.label,
        "voter": v.voter if v else None,
        "choice": v.choice.value if v else None,
        "reason": v.reason if v else None,
        "at": _iso(v.at) if v else None,
        "via": v.via if v else None,
    }


def _concern_row(c: Concern) -> dict[str, Any]:
    return {
        "name": c.name,
        "text": c.text,
        "raised_by": c.raised_by,
        "raised_at": _iso(c.raised_at),
        "resolved": c.resolved_at is not None,
        "resolved_by": c.resolved_by,
    }


def _feedback_row(r: FeedbackRequest) -> dict[str, Any]:
    return {
        "login": r.login,
        "asked_by": r.asked_by,
        "asked_at": _iso(r.asked_at),
        "note": r.note,  # in full, as a concern's text
    }


def _deadline_times(d: Deadlines | None) -> dict[str, str | None]:
    """The deadlines as ISO times (all None without a track)."""
    return {
        "review_ends": _iso(d.review_ends) if d else None,
        "voting_opens": _iso(d.voting_opens) if d else None,
        "voting_closes": _iso(d.voting_closes) if d else None,
        "confirm_until": _iso(d.confirm_until) if d else None,
        "lazy_until": _iso(d.lazy_until) if d else None,
    }


def _decision(stored: Stored, charter: Charter) -> dict[str, Any] | None:
    """How and when it was decided, under which charter version (None while undecided)."""
    p = stored.proposal
    if p.decided_at is None:
        return None
    return {
        "outcome": p.outcome.value if p.outcome else p.state.value,
        "at": _iso(p.decided_at),
        "charter_version": stored.extra.get("decided_charter_version", charter.version),
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


def view_time(value: str | None) -> datetime | None:
    """A view's time (ISO 8601 UTC, as ``_iso`` writes it) back as a datetime."""
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def unreached_deadlines(view: dict[str, Any]) -> list[str]:
    """The keys of ``view["deadlines"]`` that were never reached: they fall after the decision
    (or withdrawal), so they no longer apply. The read API keeps every computed deadline; the
    people-facing surfaces do not show these as upcoming."""
    decided = view_time(view["decision"]["at"]) if view["decision"] else None
    if decided is None:
        return []
    return [
        k for k, v in view["deadlines"].items() if (at := view_time(v)) is not None and at > decided
    ]
