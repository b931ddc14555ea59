"""Reminders of planned rollback drills: which are due, and what they say.

A planned drill (``drill schedule``, :class:`~charter.rollout_facts.PlannedDrill`) is a promise
people make; these timers keep it from passing silently. Every timer is derived from the
rollout as stored (:func:`timers_of`), never kept in memory, and recorded once handled, so the
caller needs only the keys already handled.

Rules:

- A plan is pending while :func:`charter.drills.planned` says so (its client's latest plan on
  the stage, no drill reported since it was planned, the rollout not completed), its client
  is still in the rollout and its stage still in the charter (an amendment may drop a stage no
  rollout is on; a drill there could be neither reported nor planned again). A report, a new
  plan or the end of the rollout therefore cancels every timer of the old plan: they are never
  considered again.
- A pending plan has a reminder ``LEADS`` (24 hours, 1 hour) before the drill, each only if that
  is more than ``LEAD_GRACE`` (5 minutes) after the plan was made (a plan made 3 hours ahead
  gets the 1-hour reminder only, and one made "in 1 hour" none: its own announcement is the
  notice, and a reminder a minute after it would repeat it), and one overdue nudge
  ``OVERDUE_AFTER`` (1 hour) after the planned time.
- Keys (:func:`timer_key`) name the proposal, client, stage, the moment the plan was made and
  the timer (``remind-1d``, ``remind-1h``, ``overdue``): a new plan has new keys, and a handled
  key is never due again (restarts, replicas: the caller claims each key once).
- Misfire (:func:`due`): a reminder not yet handled fires late, once, as long as the drill time
  has not come; of several reminders of one plan due at once (after downtime) only the latest
  fires and the earlier are recorded as missed; once the drill time has come, the unhandled
  reminders are missed (never "planned in 1 hour" after the time). The overdue nudge fires
  when found due up to ``NUDGE_FOR`` (7 days) late: the drill is still unreported; found later
  (after a long outage, or on the first start with this feature beside old plans) it is
  recorded missed, rather than send a burst of stale nudges.
- A reminder says the time really left (:func:`charter.meeting_timers.time_left`), since it
  may fire late; the nudge says how to report the drill, in the chat grammar
  (:mod:`charter.grammar_drills`), or how to plan it again; when the client could not report
  it now (no release reported on the stage, or rolled back from it:
  :func:`charter.rollout_drills.not_drillable`) it says that instead.
  A reminder's time is the drill's (``data.drill_at``: each reader sees it in their zone).
  Both are rollout announcements about the client, routed (and kept private while the rollout
  is confidential) exactly as the plan's own announcement
  (:func:`charter.rollout_decision.announce`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from charter import drills as rules
from charter.effects import Announce
from charter.meeting_timers import Reminder, time_left
from charter.meetings import require_aware
from charter.model import Charter, format_duration
from charter.rollout_decision import announce
from charter.rollout_drills import drill_time, not_drillable
from charter.rollout_facts import PlannedDrill, Rollout

LEADS = (timedelta(days=1), timedelta(hours=1))
OVERDUE_AFTER = timedelta(hours=1)
LEAD_GRACE = timedelta(minutes=5)
NUDGE_FOR = timedelta(days=7)
KIND = "drill"  # the timers' kind where handled timers are recorded
OVERDUE = "overdue"


@dataclass(frozen=True)
class DrillTimer:
    """One timer of a pending plan: a reminder ``lead`` before it, or (``lead`` None) the
    overdue nudge. ``timer`` is what the caller records once it is handled."""

    proposal: int
    plan: PlannedDrill
    lead: timedelta | None
    timer: Reminder

    @property
    def key(self) -> str:
        return self.timer.key

    @property
    def fires_at(self) -> datetime:
        return self.timer.fires_at


class Due(NamedTuple):
    fire: tuple[DrillTimer, ...]
    missed: tuple[DrillTimer, ...]


def _stamp(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}"


def timer_key(proposal: int, plan: PlannedDrill, label: str) -> str:
    """``drill/<n>/<client>/<stage>/<planned at>/<label>``: unique per plan and timer."""
    return f"{KIND}/{proposal}/{plan.client}/{plan.stage}/{_stamp(plan.planned_at)}/{label}"


def _timer(proposal: int, plan: PlannedDrill, lead: timedelta | None) -> DrillTimer:
    label = OVERDUE if lead is None else f"remind-{format_duration(lead)}"
    at = plan.at + OVERDUE_AFTER if lead is None else plan.at - lead
    series = f"{KIND}/{proposal}/{plan.client}/{plan.stage}"
    key = timer_key(proposal, plan, label)
    return DrillTimer(proposal, plan, lead, Reminder(key, at, series, series, KIND))


def pending_plans(rollout: Rollout, charter: Charter) -> list[PlannedDrill]:
    """The rollout's pending plans (see the module rules), one per client and stage."""
    pairs = dict.fromkeys((p.client, p.stage) for p in rollout.planned_drills)
    found = [rules.planned(rollout, client, stage) for client, stage in pairs]
    stages = charter.stage_ids
    return [p for p in found if p and p.client in rollout.clients and p.stage in stages]


def timers_of(rollout: Rollout, charter: Charter) -> list[DrillTimer]:
    """Every timer of every pending plan of the rollout, handled or not."""
    out: list[DrillTimer] = []
    for plan in pending_plans(rollout, charter):
        leads = [lead for lead in LEADS if plan.at - lead > plan.planned_at + LEAD_GRACE]
        out += [_timer(rollout.proposal, plan, lead) for lead in leads]
        out.append(_timer(rollout.proposal, plan, None))
    return out


def due(
    rollouts: Iterable[Rollout], charter: Charter, handled: Collection[str], now: datetime
) -> Due:
    """Which timers to fire at ``now`` and which to record as missed (the misfire rules),
    given the keys already ``handled``; both sorted by key."""
    at = require_aware(now, "now")
    fire: list[DrillTimer] = []
    missed: list[DrillTimer] = []
    for rollout in rollouts:
        timers = timers_of(rollout, charter)
        open_ = [t for t in timers if t.key not in handled and t.fires_at <= at]
        for plan in {t.plan for t in open_}:
            mine = sorted((t for t in open_ if t.plan == plan), key=lambda t: t.fires_at)
            reminders = [t for t in mine if t.lead is not None]
            nudges = [t for t in mine if t.lead is None]
            fire += [t for t in nudges if at <= t.fires_at + NUDGE_FOR]
            missed += [t for t in nudges if at > t.fires_at + NUDGE_FOR]
            if reminders and at < plan.at:
                *missed_now, latest = reminders
                fire.append(latest)
                missed += missed_now
            else:
                missed += reminders
    return Due(tuple(sorted(fire, key=_by_key)), tuple(sorted(missed, key=_by_key)))


def _by_key(t: DrillTimer) -> str:
    return t.key


def next_at(
    rollouts: Iterable[Rollout], charter: Charter, handled: Collection[str], now: datetime
) -> datetime | None:
    """When the next timer not yet handled falls due after ``now`` (a wake-up), if any."""
    times = (t.fires_at for r in rollouts for t in timers_of(r, charter) if t.key not in handled)
    return min((at for at in times if at > now), default=None)


def announcement(rollout: Rollout, charter: Charter, item: DrillTimer, now: datetime) -> Announce:
    """The reminder or overdue nudge of ``item``, as a rollout announcement about its client;
    its data names the timer (``drill_reminder``)."""
    plan, n = item.plan, rollout.proposal
    said = f"{plan.client}'s rollback drill on {plan.stage} for #{n}"
    if item.lead is not None:
        title = f"#{n} rollback drill reminder: {plan.client} on {plan.stage}"
        text = f"{said} is planned at {drill_time(plan.at)} (in {time_left(plan.at - now)})."
    else:
        title = f"#{n} rollback drill overdue: {plan.client} on {plan.stage}"
        text = f"{said} was planned at {drill_time(plan.at)}, and no drill has been reported since."
        text += _what_now(rollout, charter, plan)
    made = announce(rollout, charter, title, text, about=(plan.client,))
    data = {**made.data, "drill_reminder": item.key}
    if item.lead is not None:
        data["drill_at"] = plan.at.isoformat()
    return replace(made, data=data)


def _what_now(rollout: Rollout, charter: Charter, plan: PlannedDrill) -> str:
    """The nudge's advice: how to report the drill, or why it cannot be yet; or plan again."""
    n, client, stage = rollout.proposal, plan.client, plan.stage
    again = f"plan it again: /charter drill schedule {n} {client} {stage} <when>."
    why = not_drillable(rollout, charter, client, stage)
    if why is not None:
        return f" It cannot be reported yet: {why}; or {again}"
    command = f"/charter drill {n} {client} {stage}"
    return (
        f' Report it: {command} recovered <duration> (or {command} failed "<what went'
        f' wrong>"), or {again}'
    )
