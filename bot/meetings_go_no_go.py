"""Go/no-go calls: the bot schedules one before each stage that needs it, again when it must.

When a rollout's next stage has ``go_no_go_meeting: true`` and the soak of the current stage
ends within ``GO_NO_GO_LEAD`` (two days), an ad-hoc call ``go-no-go-<n>-<stage>`` is stored at
the end of the soak (rounded up to the hour, never sooner than an hour from now), moved past
any call it would overlap (:func:`bot.meetings_calls.free_start`), and announced
with its start as the notice's When (reminders too: their text says "starts in 1d", the When
shows the time in each reader's zone).
A further attempt (``go-no-go-<n>-<stage>-2``, ``-3``…) is stored, and announced the same way,
when the soak nears its end and the latest call no longer stands for the current soak:
- the decision that counts (:func:`charter.gates.current_go_no_go`: the latest one made since
  the rollout last entered the current stage) is a no-go made after the latest call was stored
  and once it had started; the new call is then no sooner than ``GO_NO_GO_RETRY`` after that
  decision, so it gets the same notice as the first. A no-go recorded (on an earlier call)
  before the latest call started adds none: that waiting call is the retry;
- or no decision counts and the latest call was stored before the soak clock last (re)started
  (a rollback below the current stage and back): that call was for an earlier soak;
- or no decision counts and the latest call was stored before the latest rollback out of the
  stage the call is for (:func:`charter.gates.rolled_back_from`: e.g. every client rolled back
  from production to canary, whose soak clock kept running): a decision from before it no
  longer counts, and the new call, like one after a no-go, is no sooner than ``GO_NO_GO_RETRY``
  after the rollback;
- or no decision counts and the latest call was over (its start plus its length) at or before
  the latest report that brought the call's stage a release (:func:`charter.soak.brought`: a
  client's first report for it, or a new version; from any client, on that stage or not, by
  ``ready`` or a GitHub release): the call could not see that release, so what it decided (go
  or no-go) no longer counts, and the new call is no sooner than ``GO_NO_GO_RETRY`` after the
  report (time to check the release).
  A call not over when the report comes decides on it: one that waits (starts after it), and
  one in progress (starts at or before it, ends after it), whose decision recorded after the
  report counts (a decision recorded before it no longer does: the call decides again). So a
  release reported while a call waits or runs adds no second call, and a no-go voided by a new
  release gets the one new call a release gets (it is the new release that the next call
  decides on).
A rollout that completed, was rolled back for good, or whose next stage needs no call (e.g. it
went back below the stage before) gets no call (:func:`bot.rollout_views.next_stage`); a
pending call it can no longer use is cancelled (:func:`bot.rollout_lifecycle.cancel_moot_calls`).
A report that voids the decision that counted stores the new call at once (the reply names it,
:func:`bot.rollout_moves.report`); the tick would store the same call, once. Made while the latest
call is in progress, it stores none: the reply says that call decides on the release.
Which attempt comes next follows from stored rows alone, so each attempt is created once.

A call cancelled by hand stands for the current soak: the bot schedules no new attempt in its
place (:mod:`bot.meetings_hand_cancel`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.meetings_calls import adhoc_call, announce, follows, free_start, hour_up
from bot.rollout_views import next_stage
from charter.effects import Audit, Effect
from charter.gates import GoNoGo, current_go_no_go, rolled_back_from
from charter.rollout_facts import ReadyReport, Rollout
from charter.soak import brought, replaced, replacing
from storage import (
    meetings as store,
    proposals as proposal_store,
    rollout_reports as report_store,
    rollouts as rollout_store,
)
from storage.models.meetings import AdhocMeetingRow
from storage.times import aware

if TYPE_CHECKING:
    from bot.service import Governance

GO_NO_GO_LEAD = timedelta(days=2)
GO_NO_GO_LENGTH = timedelta(hours=1)
GO_NO_GO_RETRY = GO_NO_GO_LEAD  # a call after a no-go is at least this long after it


def schedule_go_no_go(gov: Governance, session: Session, now: datetime) -> int:
    """Store a go/no-go call for each rollout whose soak before such a stage is about to end,
    and a new attempt where the latest call no longer stands (see the module rules)."""
    live = rollout_store.rollouts(session, gov.charter, active_only=True)
    return sum(schedule_next_call(gov, session, r, now) is not None for r in live)


def schedule_next_call(
    gov: Governance, session: Session, rollout: Rollout, now: datetime
) -> AdhocMeetingRow | None:
    """Store and announce the go/no-go call ``rollout`` needs now for the stage it enters next,
    if any (see the module rules); None when none is due."""
    charter = gov.charter
    target = next_stage(rollout, charter)
    stage = charter.stage(target) if target else None
    current = rollout.stage_name(charter) if rollout.stage_index >= 0 else None
    since = rollout.stage_entered_at.get(current) if current else None
    if stage is None or not stage.go_no_go_meeting or since is None:
        return None
    soak_end = since + (stage.soak or timedelta(0))
    if now < soak_end - GO_NO_GO_LEAD:
        return None
    earlier = store.go_no_go_calls(session, rollout.proposal, stage.id)
    decisions = report_store.go_no_go(session, rollout.proposal)
    back, release = rolled_back_from(stage, rollout), brought(rollout, stage.id)
    due = _attempt_due(
        current_go_no_go(stage, rollout, decisions, charter),
        earlier,
        since,
        soak_end,
        rolled_back=None if back is None else back.at,
        released=None if release is None else release.at,
    )
    if due is None:
        return None
    not_before, why = due
    if why == "restarted":
        why = f"the soak on {current} restarted {since:%Y-%m-%d %H:%M} UTC"
    elif why == "rolled-back" and back is not None:
        why = f"a rollback out of {stage.id} ({back.by}, {back.at:%Y-%m-%d %H:%M} UTC)"
    elif why == "released" and release is not None:
        why = _new_release(rollout, release)
    private = private_call(session, rollout)
    call_id = store.free_adhoc_id(session, f"go-no-go-{rollout.proposal}-{stage.id}")
    return _store_go_no_go(
        gov,
        session,
        call_id,
        rollout.proposal,
        stage.id,
        not_before,
        now,
        private=private,
        attempt=len(earlier) + 1,
        why=why,
    )


def private_call(session: Session, rollout: Rollout) -> bool:
    """Whether ``rollout``'s go/no-go calls are private: a confidential rollout's are, until
    its proposal is disclosed."""
    stored = proposal_store.load(session, rollout.proposal)
    return rollout.confidential and not (stored is not None and stored.disclosed)


def running_call(
    session: Session, proposal: int, stage: str, now: datetime
) -> AdhocMeetingRow | None:
    """The latest go/no-go call for ``proposal`` entering ``stage`` when it is in progress at
    ``now`` (a release reported now is its to decide on), else None."""
    found = store.go_no_go_calls(session, proposal, stage)
    if not found:
        return None
    return found[-1] if aware(found[-1].starts_at) <= now < _ends(found[-1]) else None


def _ends(row: AdhocMeetingRow) -> datetime:
    """When a stored call ends (UTC)."""
    return aware(row.starts_at) + timedelta(seconds=row.duration_seconds)


def _new_release(rollout: Rollout, report: ReadyReport) -> str:
    """The report that brought the call's stage a release, as the reason for a new call:
    "aurora's 2.0.0 replaced 1.0.0 for production (…)" or "borealis reported 1.0.0 for …"."""
    old = replaced(rollout, report)
    what = f"{report.client} reported {report.version}" if old is None else replacing(report, old)
    return f"{what} for {report.stage} ({report.at:%Y-%m-%d %H:%M} UTC)"


def _attempt_due(
    decided: GoNoGo | None,
    earlier: list[AdhocMeetingRow],
    since: datetime,
    soak_end: datetime,
    *,
    rolled_back: datetime | None = None,
    released: datetime | None = None,
) -> tuple[datetime, str] | None:
    """The earliest start of a new go/no-go call for the current soak (which began ``since``)
    and why it is needed ("first", "no-go": made once the latest call had started, "restarted",
    "rolled-back": clients were rolled back out of the call's stage at ``rolled_back``, or
    "released": a report brought the call's stage a release at ``released``, once the latest
    call was over), or None while the latest of the ``earlier`` calls still stands (a call
    waiting or in progress decides on a release reported meanwhile, and a call waiting when a
    no-go was recorded is its retry). ``decided`` is the decision that counts
    (:func:`charter.gates.current_go_no_go`: none from before the soak, the rollback or the
    release)."""
    if not earlier:
        return soak_end, "first"
    latest = earlier[-1]
    stored_at, starts = aware(latest.created_at), aware(latest.starts_at)
    if decided is None:
        if rolled_back is not None and since <= rolled_back and stored_at < rolled_back:
            return max(soak_end, rolled_back + GO_NO_GO_RETRY), "rolled-back"
        if stored_at < since:
            return soak_end, "restarted"
        # A call not over when the release came decides on it: no second call while it waits
        # or runs (what it decides after the report counts, current_go_no_go).
        if released is not None and _ends(latest) <= released:
            return max(soak_end, released + GO_NO_GO_RETRY), "released"
        return None
    # A no-go made before the latest call started (on an earlier one) is that call's to
    # decide on: it is the retry, not a call beside it.
    if decided.decision == "no-go" and decided.at >= stored_at and starts <= decided.at:
        return max(soak_end, decided.at + GO_NO_GO_RETRY), "no-go"
    return None


def _store_go_no_go(
    gov: Governance,
    session: Session,
    call_id: str,
    proposal: int,
    stage: str,
    not_before: datetime,
    now: datetime,
    *,
    private: bool = False,
    attempt: int = 1,
    why: str = "first",
) -> AdhocMeetingRow:
    """Store the call and return it (``attempt`` > 1: a new call after a no-go, a restarted
    soak, a rollback or a new release; ``why`` says which); a ``private`` one (a confidential
    rollout not yet disclosed) is announced only on private channels and gets no public agenda
    issue."""
    wanted = hour_up(max(not_before, now + timedelta(hours=1)))
    starts, passed = free_start(session, gov.charter, wanted, GO_NO_GO_LENGTH, now)
    row = _row(
        gov, call_id, proposal, stage, starts, GO_NO_GO_LENGTH, private, attempt, "charterbot", now
    )
    if attempt > 1:
        reason = "the last call decided no-go" if why == "no-go" else why
        lead = (
            f"A new go/no-go call (attempt {attempt}) for #{proposal} entering {stage} is "
            f"scheduled: {reason}, so the earlier decision no longer counts."
        )
    else:
        lead = (
            f"A go/no-go call for #{proposal} entering {stage} is scheduled for when the soak ends."
        )
    lead += follows(passed, gov.charter, private=private)
    _announce(gov, session, row, lead, attempt, "charterbot", now)
    return row


def _row(
    gov: Governance,
    call_id: str,
    proposal: int,
    stage: str,
    starts: datetime,
    length: timedelta,
    private: bool,
    attempt: int,
    by: str,
    now: datetime,
) -> AdhocMeetingRow:
    """A go/no-go call's row (attempt > 1 says its attempt in the title)."""
    title = f"Go/no-go: #{proposal} to {stage}" + (f" (attempt {attempt})" if attempt > 1 else "")
    return AdhocMeetingRow(
        id=call_id,
        kind="go-no-go",
        title=title,
        starts_at=starts,
        duration_seconds=int(length.total_seconds()),
        timezone=gov.charter.charter.timezone,
        proposal=proposal,
        stage=stage,
        private=private,
        created_by=by,
        created_at=now,
    )


def _announce(
    gov: Governance,
    session: Session,
    row: AdhocMeetingRow,
    lead: str,
    attempt: int,
    by: str,
    now: datetime,
) -> None:
    """Store ``row`` and announce it (``lead``, then how to record the outcome), audited."""
    session.add(row)
    store.bump_revision(session, row.id, now)
    occ = adhoc_call(row).occurrence()
    text = (
        f"{lead} Record the outcome on the call "
        f"with `/charter meeting decide go` or `/charter meeting decide no-go <why>`."
    )
    starts = aware(row.starts_at)
    payload: dict[str, Any] = {
        "proposal": row.proposal,
        "stage": row.stage,
        "starts_at": starts.isoformat(),
    }
    if attempt > 1:
        payload["attempt"] = attempt
    effects: list[Effect] = [
        announce(adhoc_call(row), occ, gov.charter, row.title, text),
        Audit("meeting-scheduled", f"meeting:{row.id}", payload),
    ]
    gov.effects(session, effects, by, now)
