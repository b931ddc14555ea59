"""Votes and the tally: what the votes cast on a proposal decide under its track's rules.

Who may vote is stated in :mod:`charter.seats` (re-exported here: ``Seat``, ``seats``,
``seats_of``).

The tally (:func:`tally`) applies the track's rules to the votes at a given moment; its
docstring states every rule. It is recomputed from the stored votes each time, never kept.
Which votes stand is :mod:`charter.standing`; what they decide, :mod:`charter.verdict`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charter.model import Charter, Track
from charter.seats import Seat, UnknownRole, may_vote, seats, seats_of, veto_holders
from charter.standing import Choice, Ignored, Rules, Vote, count, held_since, sift
from charter.verdict import Context, Outcome, decide, when

__all__ = [
    "Choice",
    "Ignored",
    "LazyVotes",
    "Outcome",
    "Seat",
    "Tally",
    "UnknownRole",
    "Vote",
    "may_vote",
    "seats",
    "seats_of",
    "tally",
    "veto_holders",
    "when",
]


@dataclass(frozen=True)
class LazyVotes:
    """The standing votes cast during lazy consensus (after voting closed), per seat."""

    approve: int = 0
    reject: int = 0
    abstain: int = 0

    @property
    def cast(self) -> int:
        return self.approve + self.reject + self.abstain

    def summary(self) -> dict[str, int]:
        return {"approve": self.approve, "reject": self.reject, "abstain": self.abstain}


@dataclass(frozen=True)
class Tally:
    """The votes on one proposal at one moment, and what they decide.

    ``standing`` holds every vote that counts so far, per seat, votes cast during lazy
    consensus included. The counts, quorum and approval are the ones the rules judge: the votes
    as they stood at voting close (while voting is open, every vote so far), so they never
    contradict ``reason``. The standing votes cast during lazy consensus are counted apart
    (``lazy_votes``): only a reject among them changes the outcome. ``outcome`` applies the
    rules in :func:`tally`.
    """

    seats: tuple[Seat, ...]
    standing: Mapping[str, Vote]  # seat id -> the vote that counts for that seat
    ignored: tuple[Ignored, ...]
    approve: int  # this and the next six: at voting close
    reject: int
    abstain: int
    needed: int  # seats that must cast a vote for quorum
    quorum_met: bool
    approved: bool
    vetoed_by: tuple[str, ...]  # every standing veto, during lazy consensus too
    all_voted: bool
    outcome: Outcome
    reason: str
    held_since: datetime | None = None  # when the provisional outcome last changed
    confirm_until: datetime | None = None  # early close once this passes (all voted)
    lazy_until: datetime | None = None  # set while lazy consensus decides
    lazy_votes: LazyVotes = LazyVotes()

    @property
    def cast(self) -> int:
        """Seats that had voted at voting close (while it is open: so far)."""
        return self.approve + self.reject + self.abstain

    def summary(self) -> dict[str, Any]:
        """JSON-safe digest for the audit log and tracking messages."""
        return {
            "seats": len(self.seats),
            "cast": self.cast,
            "approve": self.approve,
            "reject": self.reject,
            "abstain": self.abstain,
            "needed": self.needed,
            "quorum_met": self.quorum_met,
            "approved": self.approved,
            "vetoed_by": list(self.vetoed_by),
            "all_voted": self.all_voted,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "lazy_votes": self.lazy_votes.summary(),
            "standing": {
                seat: {"voter": v.voter, "choice": v.choice.value, "at": v.at.isoformat()}
                for seat, v in self.standing.items()
            },
        }


def tally(
    track: Track,
    charter: Charter,
    votes: Iterable[Vote],
    now: datetime,
    *,
    voting_opened_at: datetime,
    voting_closes_at: datetime,
    open_concerns: Sequence[str] = (),
) -> Tally:
    """Apply ``track``'s rules to ``votes`` as they stand at ``now``.

    Which votes count:
    - per seat the latest vote wins (votes at the same instant: the later in the list);
    - votes from logins holding no seat (and no veto) are listed in ``ignored``, as are votes
      cast before voting opened or after it closed; votes after ``now`` are not cast yet;
    - abstain counts towards quorum but not towards approval.

    The numbers: quorum is met when cast seats / seats ≥ ``quorum``; approval when
    approve / (approve + reject) ≥ ``approval`` — with neither approve nor reject it is not met.
    They are judged on the votes cast before voting closed (rules 3 and 4), and reported so:
    the standing votes cast during lazy consensus are counted apart (``lazy_votes``).

    The outcome, first rule that applies:
    1. a reject from any member of a ``veto`` role rejects at once, whatever the tally;
    2. while voting is open: once every seat has voted, the outcome is final at once, or —
       with ``confirm`` — once it has held that long with no vote flipping it (held since the
       last vote that changed the provisional outcome), rejecting as well as approving; open
       concerns keep an approving outcome pending; otherwise pending until voting closes;
    3. at voting close, with quorum: accepted when approval is met and no concern is open;
       rejected otherwise (“closed with unresolved concerns: …” when only concerns stand);
    4. at voting close without quorum: expired — unless the track has ``lazy_consensus``: then
       any standing reject rejects, and with none it is accepted once ``lazy_consensus`` has
       gone by since voting closed (pending until then; open concerns then reject). During
       that period only a reject changes the course.
    """
    rules = Rules.of(track, charter)
    lazy = track.lazy_consensus
    end = voting_closes_at + lazy if lazy is not None else voting_closes_at
    counted, ignored = sift(rules, votes, now, voting_opened_at, end)
    before_close = [v for v in counted if v.at < voting_closes_at]
    held, at_close = held_since(rules, before_close, voting_opened_at)
    # Votes after close count only during lazy consensus; without any, both counts agree.
    overall = at_close if len(before_close) == len(counted) else count(rules, counted)
    ctx = Context(
        rules, overall, at_close, held, now, voting_opened_at, voting_closes_at, open_concerns
    )
    verdict = decide(ctx)
    return Tally(
        seats=rules.seats,
        standing=overall.standing,
        ignored=tuple(ignored),
        approve=at_close.choices[Choice.APPROVE],
        reject=at_close.choices[Choice.REJECT],
        abstain=at_close.choices[Choice.ABSTAIN],
        needed=rules.needed,
        quorum_met=at_close.quorum_met,
        approved=at_close.approved,
        vetoed_by=tuple(v.voter for v in overall.vetoes.values()),
        all_voted=at_close.all_voted,
        outcome=verdict.outcome,
        reason=verdict.reason,
        held_since=held,
        confirm_until=verdict.confirm_until,
        lazy_until=verdict.lazy_until,
        lazy_votes=_lazy_votes(overall.standing, voting_closes_at),
    )


def _lazy_votes(standing: Mapping[str, Vote], closes: datetime) -> LazyVotes:
    """Per seat, the standing votes cast once voting had closed (lazy consensus only)."""
    late = Counter(v.choice for v in standing.values() if v.at >= closes)
    return LazyVotes(late[Choice.APPROVE], late[Choice.REJECT], late[Choice.ABSTAIN])
