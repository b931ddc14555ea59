"""What the standing votes decide: the outcome of a tally and the sentence that says why.

The rules themselves are stated once, in :func:`charter.votes.tally`'s docstring; ``decide``
applies them in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from fractions import Fraction

from charter.model import format_duration
from charter.standing import Choice, Count, Rules


class Outcome(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"  # voting closed without quorum


@dataclass(frozen=True)
class Context:
    rules: Rules
    overall: Count
    at_close: Count
    held: datetime
    now: datetime
    opened: datetime
    closes: datetime
    concerns: Sequence[str]


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    confirm_until: datetime | None = None
    lazy_until: datetime | None = None


def decide(ctx: Context) -> Verdict:
    if ctx.now < ctx.opened:
        return Verdict(Outcome.PENDING, f"voting opens {when(ctx.opened)}")
    if ctx.overall.vetoes:
        who = ", ".join(
            f"{v.voter} ({ctx.rules.vetoers[k]})" for k, v in ctx.overall.vetoes.items()
        )
        return Verdict(Outcome.REJECTED, f"vetoed by {who}")
    if ctx.now < ctx.closes:
        return _while_open(ctx)
    if not ctx.at_close.quorum_met:
        return _without_quorum(ctx)
    if not ctx.at_close.approved:
        return Verdict(Outcome.REJECTED, f"voting closed; {_approval(ctx.rules, ctx.at_close)}")
    if ctx.concerns:
        return Verdict(Outcome.REJECTED, _unresolved(ctx.concerns))
    return Verdict(
        Outcome.ACCEPTED,
        f"voting closed with quorum ({len(ctx.at_close.standing)} of {len(ctx.rules.seats)} "
        f"seats) and {_approval(ctx.rules, ctx.at_close)}",
    )


def _while_open(ctx: Context) -> Verdict:
    count, confirm = ctx.overall, ctx.rules.track.confirm
    if not count.all_voted:
        return Verdict(
            Outcome.PENDING,
            f"voting open until {when(ctx.closes)}; "
            f"{len(count.standing)} of {len(ctx.rules.seats)} seats have voted",
        )
    if count.approved and ctx.concerns:
        names = ", ".join(ctx.concerns)
        return Verdict(Outcome.PENDING, f"every seat has voted; unresolved concerns: {names}")
    outcome = Outcome.ACCEPTED if count.approved else Outcome.REJECTED
    if confirm is None:
        return Verdict(outcome, f"every seat has voted; {_approval(ctx.rules, count)}")
    # Either way the outcome must hold for `confirm` with no vote flipping it: one changed
    # vote during the hold restarts it instead of deciding the proposal for good.
    until, course = ctx.held + confirm, "approving" if count.approved else "rejecting"
    if ctx.now < until:
        return Verdict(
            Outcome.PENDING,
            f"every seat has voted; the {course} outcome must hold until {when(until)}",
            confirm_until=until,
        )
    return Verdict(
        outcome,
        f"every seat has voted and the {course} outcome held for {format_duration(confirm)}",
        confirm_until=until,
    )


def _without_quorum(ctx: Context) -> Verdict:
    lazy, count = ctx.rules.track.lazy_consensus, ctx.at_close
    if lazy is None:
        return Verdict(
            Outcome.EXPIRED,
            f"voting closed without quorum: {len(count.standing)} of "
            f"{len(ctx.rules.seats)} seats voted, {ctx.rules.needed} needed",
        )
    until = ctx.closes + lazy
    rejecters = sorted(
        {v.voter for v in ctx.overall.standing.values() if v.choice is Choice.REJECT}
    )
    if rejecters:
        return Verdict(
            Outcome.REJECTED,
            f"quorum was missed and lazy consensus failed: rejected by {', '.join(rejecters)}",
            lazy_until=until,
        )
    if ctx.now < until:
        return Verdict(
            Outcome.PENDING,
            f"quorum was missed; lazy consensus until {when(until)} unless someone rejects",
            lazy_until=until,
        )
    if ctx.concerns:
        return Verdict(Outcome.REJECTED, _unresolved(ctx.concerns), lazy_until=until)
    return Verdict(
        Outcome.ACCEPTED,
        f"lazy consensus: no reject in the {format_duration(lazy)} after voting closed",
        lazy_until=until,
    )


def _approval(rules: Rules, count: Count) -> str:
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
