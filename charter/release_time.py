"""When a GitHub release's readiness report counts from, and whether it was made already.

A client reports a release ready for a stage by publishing it with a line
``charterbot: ready <n> <stage>`` (``bot.rollout_watch.on_release``). The webhook arrives
seconds after publication, the poller reads it up to a poll interval later, and the worker
handles either some time after that: dating the report when it is handled would start its soak
clock and its go/no-go cutoff late, and differently by path. Rules (:func:`report_time`):

- A published release is dated by GitHub's ``published_at``, when it is known and sane: not
  later than ``received`` (when the delivery was handled) by more than ``CLOCK_SKEW``. A time
  further ahead is a wrong clock, not a fact: the report is dated ``received`` as if GitHub
  had not said. Within the skew it is dated ``received`` (never in the future).
- Never before the rollout could take it, nor before anything it recorded
  (:func:`rollout_floor`: the rollout's start, its reports, soak clock starts, overrides,
  rollbacks and completion). A ``published_at`` earlier than that is dated at that floor, not
  at ``published_at`` and not at ``received``: the release was there by then, so no soak clock
  counts time it was not there (a later date only shortens what counts), and the report is
  never ordered before a report the rollout accepted earlier (at the same moment, the one
  recorded later is the later one, as :meth:`charter.rollout_facts.Rollout.latest_report`
  reads them). A plain advance keeps no time in the rollout: the caller passes when the
  rollout last entered a stage (``entered``, from the audit log), and the floor is no earlier
  (a stage accepts reports for the one after it only once it is entered).
- A ready line added to a release by a later edit is no report made at publication: GitHub
  gives no time for the edit, so it is dated when it is ``received`` (``published`` None).
- A line was *reported already* (:func:`reported_already`) when the client has a report for
  that stage naming the release's tag: a redelivery, a restart, the poller and the webhook,
  or an edit for another reason do not report it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from charter.rollout_facts import Rollout, tag_name

# How far ahead of our clock GitHub's may run before its time is not believed.
CLOCK_SKEW = timedelta(minutes=5)


def rollout_floor(rollout: Rollout) -> datetime:
    """The latest moment ``rollout`` recorded: no report may be dated before it."""
    moments = [
        rollout.started_at,
        *(r.at for r in rollout.reports),
        *rollout.stage_entered_at.values(),
        *(o.at for o in rollout.overrides),
        *(b.at for b in rollout.rollbacks),
    ]
    if rollout.completed_at is not None:
        moments.append(rollout.completed_at)
    return max(moments)


def report_time(
    published: datetime | None,
    received: datetime,
    rollout: Rollout,
    entered: datetime | None = None,
) -> datetime:
    """When a release's report counts from (see the module rules); ``entered``: when the
    rollout last entered a stage, when known."""
    floor = rollout_floor(rollout) if entered is None else max(rollout_floor(rollout), entered)
    if published is None or published > received + CLOCK_SKEW:
        return max(received, floor)
    return max(min(published, received), floor)


def reported_already(rollout: Rollout, client: str, stage: str, tag: str) -> bool:
    """Whether ``client`` has a report for ``stage`` naming the release tagged ``tag``."""
    return any(
        r.client == client and r.stage == stage and r.ref is not None and tag_name(r.ref) == tag
        for r in rollout.reports
    )
