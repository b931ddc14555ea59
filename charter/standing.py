"""Which votes stand: who holds a seat on a track, which votes count, and what they add up to.

Rules (the tally in :mod:`charter.votes` builds on them):
- A login counts when it holds a seat on the track or belongs to one of its veto roles; its
  vote fills every seat it holds, and a later vote for a seat replaces the earlier one.
- Votes cast before voting opened or after it (or its lazy-consensus period) closed are listed
  as ignored, with the reason; votes after ``now`` are not cast yet.
- The *course* is where the votes point if voting closed now (vetoed, no quorum, approving,
  rejecting); ``held_since`` is when it last changed, votes at the same instant taken together.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from functools import cached_property

from charter.model import Charter, Track
from charter.seats import Seat, seats, veto_holders


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


@dataclass(frozen=True)
class Ignored:
    """A vote that does not count, and why (shown to people so nobody wonders)."""

    vote: Vote
    why: str


class Course(StrEnum):
    """The outcome the votes point to if voting closed now (used for the confirm period)."""

    NO_QUORUM = "no-quorum"
    APPROVING = "approving"
    REJECTING = "rejecting"
    VETOED = "vetoed"


@dataclass(frozen=True, eq=False)
class Rules:
    """A track's voting rules, ready to count with: its seats, who may veto, and quorum and
    approval as exact fractions."""

    track: Track
    seats: tuple[Seat, ...]
    vetoers: dict[str, str]
    quorum: Fraction
    approval: Fraction

    @classmethod
    def of(cls, track: Track, charter: Charter) -> Rules:
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
_RULES: dict[tuple[int, int], tuple[Track, Charter, Rules]] = {}


@dataclass(frozen=True)
class Count:
    standing: dict[str, Vote]  # seat id -> latest vote for that seat
    vetoes: dict[str, Vote]  # veto holder (lower-case) -> their standing reject
    choices: Counter[Choice]
    quorum_met: bool
    approved: bool
    all_voted: bool


class Running:
    """The standing votes, updated one vote at a time (the later vote for a seat wins)."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.standing: dict[str, Vote] = {}
        self.latest: dict[str, Vote] = {}
        self.first: dict[str, datetime] = {}  # login -> when it first voted
        self.choices: Counter[Choice] = Counter()
        self.vetoing: set[str] = set()  # veto holders whose latest vote rejects

    def add(self, vote: Vote) -> None:
        for seat in self.rules.seats_of(vote.voter):
            replaced = self.standing.get(seat.id)
            if replaced is not None:
                self.choices[replaced.choice] -= 1
            self.standing[seat.id] = vote
            self.choices[vote.choice] += 1
        login = vote.voter.lower()
        self.latest[login] = vote
        self.first.setdefault(login, vote.at)
        if login in self.rules.vetoers:
            if vote.choice is Choice.REJECT:
                self.vetoing.add(login)
            else:
                self.vetoing.discard(login)

    def vetoes(self) -> dict[str, Vote]:
        """The standing vetoes, in the order their holders first voted (holders who first voted
        at the same moment by login: votes of one moment come in no particular order)."""
        holders = sorted(self.vetoing, key=lambda login: (self.first[login], login))
        return {login: self.latest[login] for login in holders}

    def quorum_met(self) -> bool:
        return bool(self.rules.seats) and len(self.standing) >= self.rules.needed

    def approved(self) -> bool:
        # yes / (yes + no) >= approval, exactly, in integers (a Fraction per vote is slow).
        yes, no = self.choices[Choice.APPROVE], self.choices[Choice.REJECT]
        share = self.rules.approval
        return yes + no > 0 and yes * share.denominator >= share.numerator * (yes + no)

    def course(self) -> Course:
        """Where the votes so far point (asked after every vote, so it copies nothing and looks
        at no earlier vote)."""
        if self.vetoing:
            return Course.VETOED
        if not self.quorum_met():
            return Course.NO_QUORUM
        return Course.APPROVING if self.approved() else Course.REJECTING

    def count(self) -> Count:
        total = len(self.rules.seats)
        return Count(
            standing=dict(self.standing),
            vetoes=self.vetoes(),
            choices=+self.choices,  # unary plus drops zero counts
            quorum_met=self.quorum_met(),
            approved=self.approved(),
            all_voted=total > 0 and len(self.standing) == total,
        )


def count(rules: Rules, ordered: Sequence[Vote]) -> Count:
    """Standing votes per seat from votes sorted by time: the later one wins."""
    running = Running(rules)
    for vote in ordered:
        running.add(vote)
    return running.count()


def held_since(rules: Rules, ordered: Sequence[Vote], opened: datetime) -> tuple[datetime, Count]:
    """When the course last changed: the time of the last vote that changed it; and the count
    of all of ``ordered`` (what :func:`count` gives, from the same pass).

    Votes cast at the same instant are taken together, so their order in the list is moot.
    """
    running = Running(rules)
    course, held = running.course(), opened
    for i, vote in enumerate(ordered):
        running.add(vote)
        if i + 1 < len(ordered) and ordered[i + 1].at == vote.at:
            continue
        now_course = running.course()
        if now_course is not course:
            course, held = now_course, vote.at
    return held, running.count()


def sift(
    rules: Rules, votes: Iterable[Vote], now: datetime, opened: datetime, end: datetime
) -> tuple[list[Vote], list[Ignored]]:
    """The votes that count at ``now`` in time order, and the ignored ones with why (votes cast
    in [``opened``, ``end``) by a login that counts)."""
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
