"""Votes and the tally: what the votes cast on a proposal decide under its track's rules.

Who may vote is stated in :mod:`charter.seats` (re-exported here: ``Seat``, ``seats``,
``seats_of``).

The tally (:func:`tally`) applies the track's rules to the votes at a given moment; its
docstring states every rule. It is recomputed from the stored votes each time, never kept.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import Any

from charter.model import Charter, Track, format_duration
from charter.seats import Seat, UnknownRole, may_vote, seats, seats_of, veto_holders

__all__ = [
    "Choice",
    "Ignored",
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


class Choice(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ABSTAIN = "abstain"


@dataclass(frozen=True)
class Vote:
    """One vote as cast. A later vote for the same seat replaces an earlier one."""

    voter: str  # GitHub login
    choice: Choice
    reason: str
    at: datetime  # timezone-aware
    via: str = "github"  # github | slack | discord | email | console

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"vote by {self.voter}: time {self.at} has no timezone; use UTC")
        # Accept the plain string too ("approve"), so callers can pass parsed text.
        object.__setattr__(self, "choice", Choice(self.choice))


# -- the tally ---------------------------------------------------------------------------


class Outcome(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"  # voting closed without quorum


@dataclass(frozen=True)
class Ignored:
    """A vote that does not count, and why (shown to people so nobody wonders)."""

    vote: Vote
    why: str


class _Course(StrEnum):
    """The outcome the votes point to if voting closed now (used for the confirm period)."""

    NO_QUORUM = "no-quorum"
    APPROVING = "approving"
    REJECTING = "rejecting"
    VETOED = "vetoed"


@dataclass(frozen=True, eq=False)
class _Rules:
    track: Track
    seats: tuple[Seat, ...]
    vetoers: dict[str, str]
    quorum: Fraction
    approval: Fraction

    @classmethod
    def of(cls, track: Track, charter: Charter) -> _Rules:
        """The rules of ``track``, built once per (track, charter) pair of objects.

        Both are frozen, so the rules they yield never change; the entry holds the objects
        themselves, so their ids cannot be reused by others while it lives.
        """
        key = (id(track), id(charter))
        hit = _RULES.get(key)
        if hit is not None:
            return hit[2]
        if len(_RULES) >= _RULES_KEPT:
            _RULES.clear()  # a new charter was loaded many times over (tests): start afresh
        # str() first: Fraction(0.1) is the binary float, a hair above 1/10.
        rules = cls(
            track,
            seats(track, charter),
            veto_holders(track, charter),
            Fraction(str(track.quorum)),
            Fraction(str(track.approval)),
        )
        _RULES[key] = (track, charter, rules)
        return rules

    @cached_property
    def needed(self) -> int:
        return math.ceil(self.quorum * len(self.seats))

    @cached_property
    def _by_login(self) -> dict[str, tuple[Seat, ...]]:
        # One lookup per vote instead of a scan of every seat's members (tallies run often).
        index: dict[str, list[Seat]] = {}
        for seat in self.seats:
            for member in {m.lower() for m in seat.members}:
                index.setdefault(member, []).append(seat)
        return {login: tuple(held) for login, held in index.items()}

    def seats_of(self, login: str) -> tuple[Seat, ...]:
        return self._by_login.get(login.lower(), ())

    def counts(self, login: str) -> bool:
        return bool(self.seats_of(login)) or login.lower() in self.vetoers


_RULES_KEPT = 64
_RULES: dict[tuple[int, int], tuple[Track, Charter, _Rules]] = {}


@dataclass(frozen=True)
class _Count:
    standing: dict[str, Vote]  # seat id -> latest vote for that seat
    vetoes: dict[str, Vote]  # veto holder (lower-case) -> their standing reject
    choices: Counter[Choice]
    quorum_met: bool
    approved: bool
    all_voted: bool


class _Running:
    """The standing votes, updated one vote at a time (the later vote for a seat wins)."""

    def __init__(self, rules: _Rules) -> None:
        self.rules = rules
        self.standing: dict[str, Vote] = {}
        self.latest: dict[str, Vote] = {}
        self.choices: Counter[Choice] = Counter()

    def add(self, vote: Vote) -> None:
        for seat in self.rules.seats_of(vote.voter):
            replaced = self.standing.get(seat.id)
            if replaced is not None:
                self.choices[replaced.choice] -= 1
            self.standing[seat.id] = vote
            self.choices[vote.choice] += 1
        self.latest[vote.voter.lower()] = vote

    def vetoes(self) -> dict[str, Vote]:
        return {
            login: vote
            for login, vote in self.latest.items()
            if login in self.rules.vetoers and vote.choice is Choice.REJECT
        }

    def quorum_met(self) -> bool:
        return bool(self.rules.seats) and len(self.standing) >= self.rules.needed

    def approved(self) -> bool:
        yes, no = self.choices[Choice.APPROVE], self.choices[Choice.REJECT]
        return yes + no > 0 and Fraction(yes, yes + no) >= self.rules.approval

    def course(self) -> _Course:
        """Where the votes so far point (asked after every vote, so it copies nothing)."""
        if any(
            login in self.rules.vetoers and vote.choice is Choice.REJECT
            for login, vote in self.latest.items()
        ):
            return _Course.VETOED
        if not self.quorum_met():
            return _Course.NO_QUORUM
        return _Course.APPROVING if self.approved() else _Course.REJECTING

    def count(self) -> _Count:
        total = len(self.rules.seats)
        return _Count(
            standing=dict(self.standing),
            vetoes=self.vetoes(),
            choices=+self.choices,  # unary plus drops zero counts
            quorum_met=self.quorum_met(),
            approved=self.approved(),
            all_voted=total > 0 and len(self.standing) == total,
        )


def _count(rules: _Rules, ordered: Sequence[Vote]) -> _Count:
    """Standing votes per seat from votes sorted by time: the later one wins."""
    running = _Running(rules)
    for vote in ordered:
        running.add(vote)
    return running.count()


def _held_since(
    rules: _Rules, ordered: Sequence[Vote], opened: datetime
) -> tuple[datetime, _Count]:
    """When the course last changed: the time of the last vote that changed it; and the count
    of all of ``ordered`` (what :func:`_count` gives, from the same pass).

    Votes cast at the same instant are taken together, so their order in the list is moot.
    """
    running = _Running(rules)
    course, held = running.course(), opened
    for i, vote in enumerate(ordered):
        running.add(vote)
        if i + 1 < len(ordered) and ordered[i + 1].at == vote.at:
            continue
        now_course = running.course()
        if now_course is not course:
            course, held = now_course, vote.at
    return held, running.count()


def _sift(
    rules: _Rules, votes: Iterable[Vote], now: datetime, opened: datetime, end: datetime
) -> tuple[list[Vote], list[Ignored]]:
    counted: list[Vote] = []
    ignored: list[Ignored] = []
    for vote in votes:
        if vote.at > now:
            continue  # not cast yet at this moment (tallies are also taken in the past)
        if not rules.counts(vote.voter):
            ignored.append(Ignored(vote, f"{vote.voter} holds no seat on this track"))
        elif vote.at < opened:
            ignored.append(Ignored(vote, "cast before voting opened"))
        elif vote.at >= end:
            ignored.append(Ignored(vote, "cast after voting closed"))
        else:
            counted.append(vote)
    counted.sort(key=lambda v: v.at)  # stable: votes at the same instant keep list order
    return counted, ignored


@dataclass(frozen=True)
class Tally:
    """The votes on one proposal at one moment, and what they decide.

    Counts, quorum and approval describe every vote that counts so far (including votes in a
    lazy-consensus period); ``outcome`` applies the rules in :func:`tally`.
    """

    seats: tuple[Seat, ...]
    standing: Mapping[str, Vote]  # seat id -> the vote that counts for that seat
    ignored: tuple[Ignored, ...]
    approve: int
    reject: int
    abstain: int
    needed: int  # seats that must cast a vote for quorum
    quorum_met: bool
    approved: bool
    vetoed_by: tuple[str, ...]
    all_voted: bool
    outcome: Outcome
    reason: str
    held_since: datetime | None = None  # when the provisional outcome last changed
    confirm_until: datetime | None = None  # early close once this passes (all voted, approving)
    lazy_until: datetime | None = None  # set while lazy consensus decides

    @property
    def cast(self) -> int:
        return len(self.standing)

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

    The outcome, first rule that applies:
    1. a reject from any member of a ``veto`` role rejects at once, whatever the tally;
    2. while voting is open: once every seat has voted, a rejecting outcome closes at once; an
       approving one is accepted at once, or — with ``confirm`` — once it has held that long
       with no vote flipping it (held since the last vote that changed the provisional
       outcome); open concerns keep it pending; otherwise pending until voting closes;
    3. at voting close, with quorum: accepted when approval is met and no concern is open;
       rejected otherwise (“closed with unresolved concerns: …” when only concerns stand);
    4. at voting close without quorum: expired — unless the track has ``lazy_consensus``: then
       any standing reject rejects, and with none it is accepted once ``lazy_consensus`` has
       gone by since voting closed (pending until then; open concerns then reject). During
       that period only a reject changes the course.
    """
    rules = _Rules.of(track, charter)
    lazy = track.lazy_consensus
    end = voting_closes_at + lazy if lazy is not None else voting_closes_at
    counted, ignored = _sift(rules, votes, now, voting_opened_at, end)
    before_close = [v for v in counted if v.at < voting_closes_at]
    held, at_close = _held_since(rules, before_close, voting_opened_at)
    # Votes after close count only during lazy consensus; without any, both counts agree.
    overall = at_close if len(before_close) == len(counted) else _count(rules, counted)
    ctx = _Context(
        rules, overall, at_close, held, now, voting_opened_at, voting_closes_at, open_concerns
    )
    verdict = _decide(ctx)
    return Tally(
        seats=rules.seats,
        standing=overall.standing,
        ignored=tuple(ignored),
        approve=overall.choices[Choice.APPROVE],
        reject=overall.choices[Choice.REJECT],
        abstain=overall.choices[Choice.ABSTAIN],
        needed=rules.needed,
        quorum_met=overall.quorum_met,
        approved=overall.approved,
        vetoed_by=tuple(v.voter for v in overall.vetoes.values()),
        all_voted=overall.all_voted,
        outcome=verdict.outcome,
        reason=verdict.reason,
        held_since=held,
        confirm_until=verdict.confirm_until,
        lazy_until=verdict.lazy_until,
    )


@dataclass(frozen=True)
class _Context:
    rules: _Rules
    overall: _Count
    at_close: _Count
    held: datetime
    now: datetime
    opened: datetime
    closes: datetime
    concerns: Sequence[str]


@dataclass(frozen=True)
class _Verdict:
    outcome: Outcome
    reason: str
    confirm_until: datetime | None = None
    lazy_until: datetime | None = None


def _decide(ctx: _Context) -> _Verdict:
    if ctx.now < ctx.opened:
        return _Verdict(Outcome.PENDING, f"voting opens {when(ctx.opened)}")
    if ctx.overall.vetoes:
        who = ", ".join(
            f"{v.voter} ({ctx.rules.vetoers[k]})" for k, v in ctx.overall.vetoes.items()
        )
        return _Verdict(Outcome.REJECTED, f"vetoed by {who}")
    if ctx.now < ctx.closes:
        return _while_open(ctx)
    if not ctx.at_close.quorum_met:
        return _without_quorum(ctx)
    if not ctx.at_close.approved:
        return _Verdict(Outcome.REJECTED, f"voting closed; {_approval(ctx.rules, ctx.at_close)}")
    if ctx.concerns:
        return _Verdict(Outcome.REJECTED, _unresolved(ctx.concerns))
    return _Verdict(
        Outcome.ACCEPTED,
        f"voting closed with quorum ({len(ctx.at_close.standing)} of {len(ctx.rules.seats)} "
        f"seats) and {_approval(ctx.rules, ctx.at_close)}",
    )


def _while_open(ctx: _Context) -> _Verdict:
    count, confirm = ctx.overall, ctx.rules.track.confirm
    if not count.all_voted:
        return _Verdict(
            Outcome.PENDING,
            f"voting open until {when(ctx.closes)}; "
            f"{len(count.standing)} of {len(ctx.rules.seats)} seats have voted",
        )
    if not count.approved:
        return _Verdict(Outcome.REJECTED, f"every seat has voted; {_approval(ctx.rules, count)}")
    if ctx.concerns:
        names = ", ".join(ctx.concerns)
        return _Verdict(Outcome.PENDING, f"every seat has voted; unresolved concerns: {names}")
    if confirm is None:
        return _Verdict(Outcome.ACCEPTED, f"every seat has voted; {_approval(ctx.rules, count)}")
    until = ctx.held + confirm
    if ctx.now < until:
        return _Verdict(
            Outcome.PENDING,
            f"every seat has voted; the approving outcome must hold until {when(until)}",
            confirm_until=until,
        )
    return _Verdict(
        Outcome.ACCEPTED,
        f"every seat has voted and the approving outcome held for {format_duration(confirm)}",
        confirm_until=until,
    )


def _without_quorum(ctx: _Context) -> _Verdict:
    lazy, count = ctx.rules.track.lazy_consensus, ctx.at_close
    if lazy is None:
        return _Verdict(
            Outcome.EXPIRED,
            f"voting closed without quorum: {len(count.standing)} of "
            f"{len(ctx.rules.seats)} seats voted, {ctx.rules.needed} needed",
        )
    until = ctx.closes + lazy
    rejecters = sorted(
        {v.voter for v in ctx.overall.standing.values() if v.choice is Choice.REJECT}
    )
    if rejecters:
        return _Verdict(
            Outcome.REJECTED,
            f"quorum was missed and lazy consensus failed: rejected by {', '.join(rejecters)}",
            lazy_until=until,
        )
    if ctx.now < until:
        return _Verdict(
            Outcome.PENDING,
            f"quorum was missed; lazy consensus until {when(until)} unless someone rejects",
            lazy_until=until,
        )
    if ctx.concerns:
        return _Verdict(Outcome.REJECTED, _unresolved(ctx.concerns), lazy_until=until)
    return _Verdict(
        Outcome.ACCEPTED,
        f"lazy consensus: no reject in the {format_duration(lazy)} after voting closed",
        lazy_until=until,
    )


def _approval(rules: _Rules, count: _Count) -> str:
    yes, no = count.choices[Choice.APPROVE], count.choices[Choice.REJECT]
    required = _pct(rules.approval)
    if yes + no == 0:
        return f"no seat approved or rejected (approval {required} required)"
    share = Fraction(yes, yes + no)
    verb = "meets" if count.approved else "is below"
    return f"approval {yes}/{yes + no} ({_pct(share)}) {verb} the required {required}"


def _unresolved(concerns: Sequence[str]) -> str:
    return f"closed with unresolved concerns: {', '.join(concerns)}"


def _pct(share: Fraction) -> str:
    return f"{float(share) * 100:.4g}%"


def when(moment: datetime) -> str:
    """A moment as the rules write it in reasons and announcements: ``2026-03-02 09:00 UTC``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
