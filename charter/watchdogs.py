"""Watchdogs: the charter's ``escalation`` rules, checked on every tick.

Each rule names a condition, how long it may hold (``after``) and whom to notify:
- ``no-maintainer-response``: a proposal in review for ``after`` with no comment or vote from
  any client maintainer.
- ``accepted-without-rollout``: a proposal accepted ``after`` ago whose first stage has no
  readiness report.
- ``stage-stuck``: a rollout whose next stage's soak ran out ``after`` ago while that stage's
  gates still fail (paused rollouts are held on purpose and are not stuck).
- ``activation-unreachable``: the activation target no longer fits: it is earlier than the
  decision plus the track's ``min_activation_after_decision``, or earlier than production can
  be reached (the soaks still ahead) with ``after`` to spare.

Every alert carries a stable ``key`` per condition; the caller remembers the keys it has fired
and passes them to ``new_alerts`` so that each condition notifies once, not on every tick.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from charter.effects import Notify
from charter.gates import GateFacts, evaluate
from charter.lifecycle import State
from charter.model import Charter, Escalation, EscalationWhen
from charter.rollout_facts import Rollout

_DECIDED = (State.ACCEPTED, State.ROLLING_OUT)  # after acceptance, before the rollout ends


@dataclass(frozen=True)
class ProposalStatus:
    """What the watchdogs need to know of a proposal."""

    number: int
    track: str
    state: str  # a lifecycle ``State`` (a StrEnum, so its plain value works too)
    review_started_at: datetime | None = None
    decided_at: datetime | None = None
    activation_at: datetime | None = None
    participants: tuple[str, ...] = ()  # logins that commented on it or voted
    charter_version: int = 0  # the version it was opened under (0: the running one)


@dataclass(frozen=True)
class Snapshot:
    proposals: tuple[ProposalStatus, ...] = ()
    rollouts: tuple[Rollout, ...] = ()
    facts: Mapping[int, GateFacts] = field(default_factory=dict)  # per proposal number

    def rollout(self, proposal: int) -> Rollout | None:
        return next((r for r in self.rollouts if r.proposal == proposal), None)


def _span(value: timedelta) -> str:
    hours = max(0, int(value.total_seconds() // 3600))
    days, rest = divmod(hours, 24)
    if not days:
        return f"{rest}h"
    return f"{days}d {rest}h" if rest else f"{days}d"


def _at(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"


def _alert(rule: Escalation, text: str, key: str) -> Notify:
    return Notify(roles=rule.notify, text=text, key=f"escalation:{rule.when}:{key}")


Rule = Callable[[Escalation, Snapshot, Charter, datetime], Iterator[Notify]]


def _no_maintainer_response(
    rule: Escalation, snapshot: Snapshot, charter: Charter, now: datetime
) -> Iterator[Notify]:
    for p in snapshot.proposals:
        since = p.review_started_at
        silent = not any(charter.client_of(login) for login in p.participants)
        if p.state == State.REVIEW and since is not None and silent and now - since >= rule.after:
            text = (
                f"#{p.number} has been in review {_span(now - since)} "
                "with no comment or vote from any client maintainer"
            )
            yield _alert(rule, text, f"proposal:{p.number}")


def _accepted_without_rollout(
    rule: Escalation, snapshot: Snapshot, charter: Charter, now: datetime
) -> Iterator[Notify]:
    first = charter.stage_ids[0]
    for p in snapshot.proposals:
        rollout = snapshot.rollout(p.number)
        reported = rollout is not None and any(r.stage == first for r in rollout.reports)
        decided = p.decided_at
        if (
            p.state in _DECIDED
            and decided is not None
            and not reported
            and now - decided >= rule.after
        ):
            text = (
                f"#{p.number} was accepted {_span(now - decided)} ago "
                f"and no client has reported a release for {first}"
            )
            yield _alert(rule, text, f"proposal:{p.number}")


def _stage_stuck(
    rule: Escalation, snapshot: Snapshot, charter: Charter, now: datetime
) -> Iterator[Notify]:
    last = len(charter.stage_ids) - 1
    for r in snapshot.rollouts:
        live = r.completed_at is None and not r.paused and 0 <= r.stage_index < last
        since = r.stage_entered_at.get(r.stage_name(charter)) if live else None
        if since is None:
            continue
        target = charter.rollout.stages[r.stage_index + 1]
        if now < since + (target.soak or timedelta(0)) + rule.after:
            continue
        results = evaluate(target, r, snapshot.facts.get(r.proposal, GateFacts()), charter, now)
        failing = "\n".join(f"- {g.reason}" for g in results if not g.passed)
        if failing:
            text = (
                f"#{r.proposal} has been on {r.stage_name(charter)} since {_at(since)}, "
                f"past its soak, and cannot enter {target.id}:\n{failing}"
            )
            yield _alert(rule, text, f"rollout:{r.proposal}:{target.id}")


def earliest_production(rollout: Rollout | None, charter: Charter, now: datetime) -> datetime:
    """The soonest every client can be on the last stage: the soaks still ahead, from the
    current stage's soak clock (or from now, when it is not running or nothing started)."""
    index = -1 if rollout is None else rollout.stage_index
    since = now
    if rollout is not None and index >= 0:
        since = rollout.stage_entered_at.get(charter.stage_ids[index], now)
    ahead = charter.rollout.stages[max(index, 0) + 1 :]
    return since + sum((s.soak or timedelta(0) for s in ahead), timedelta(0))


def _activation_unreachable(
    rule: Escalation, snapshot: Snapshot, charter: Charter, now: datetime
) -> Iterator[Notify]:
    for p in snapshot.proposals:
        target = p.activation_at
        if target is None or p.state not in _DECIDED:
            continue
        problems: list[str] = []
        track = charter.for_version(p.charter_version).tracks.get(p.track)
        floor = None if track is None else track.min_activation_after_decision
        if floor is not None and p.decided_at is not None and target < p.decided_at + floor:
            problems.append(
                f"it is less than {_span(floor)} after the decision ({_at(p.decided_at)})"
            )
        earliest = earliest_production(snapshot.rollout(p.number), charter, now)
        if target < earliest + rule.after:
            spare = f" with {_span(rule.after)} to spare" if rule.after else ""
            problems.append(f"production cannot be reached before {_at(earliest)}{spare}")
        if problems:
            text = f"#{p.number}'s activation target {_at(target)} no longer fits: " + "; ".join(
                problems
            )
            yield _alert(rule, text, f"proposal:{p.number}:{target.isoformat()}")


_RULES: Mapping[EscalationWhen, Rule] = {
    "no-maintainer-response": _no_maintainer_response,
    "accepted-without-rollout": _accepted_without_rollout,
    "stage-stuck": _stage_stuck,
    "activation-unreachable": _activation_unreachable,
}


def check(snapshot: Snapshot, charter: Charter, now: datetime) -> tuple[Notify, ...]:
    """Every escalation whose condition holds now, in the charter's order of rules."""
    return tuple(
        alert
        for rule in charter.escalation
        for alert in _RULES[rule.when](rule, snapshot, charter, now)
    )


def new_alerts(
    alerts: tuple[Notify, ...], already_fired_keys: Collection[str]
) -> tuple[Notify, ...]:
    """The alerts whose key has not fired yet (each key once, even within ``alerts``)."""
    seen = set(already_fired_keys)
    fresh: list[Notify] = []
    for alert in alerts:
        if alert.key not in seen:
            seen.add(alert.key)
            fresh.append(alert)
    return tuple(fresh)
