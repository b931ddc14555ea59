"""``meeting cancel``: a call, or one occurrence of a series, cancelled before it starts.

Rules:
- Cancelling a series id cancels its next occurrence; an ad-hoc call is cancelled as a whole.
- A call that has started (or is over) is history: it cannot be cancelled
  (:func:`bot.meetings_preview.started`).
- A reply to a GitHub comment is public: there a private call
  (:func:`charter.meetings.is_private`) is no meeting to cancel.
- A series announced only to private channels (the security council's sync) is cancelled by its
  audience only, coordinators and the security council (:mod:`charter.private_calls`), though
  anyone may see it on the calendar; anyone else is refused, saying who may.
- Every cancellation is audited (subject ``meeting:<key>``), announced (kind ``meeting``) and
  raises the calendar revision (ICS SEQUENCE) of the series or call; a posted agenda issue is
  edited at once to say the call is cancelled (:func:`bot.meetings_agenda.follow`).
- A go/no-go call cancelled by hand is not replaced by the bot (:mod:`bot.meetings_hand_cancel`);
  the reply says so and names the commands that go on
  (:func:`bot.meetings_hand_cancel.hand_cancel_note`); its public announcement adds that the
  rollout's gate waits for the call held again or an override (no call id).
- Cancelling an ad-hoc call again says it was already cancelled, by whom and when (the audit
  log), and for a go/no-go call how to hold it again (:func:`already_cancelled`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot import meetings_agenda as agenda
from bot.messages import Actor, Message, When
from charter import commands as c
from charter.effects import Audit
from charter.meetings import Call, Occurrence
from charter.private_calls import CallChange
from storage import audit_query, meetings as store
from storage.models.meetings import AdhocMeetingRow
from storage.times import aware

if TYPE_CHECKING:
    from bot.service import Governance

from bot.meetings_calls import adhoc_call
from bot.meetings_hand_cancel import hand_cancel_note, why_not_requested
from bot.meetings_lookup import (
    announce,
    audience_refusal,
    fail,
    login_of,
    may_see,
    own_start,
    resolve,
)
from bot.meetings_preview import public_reply, started


def cancel(
    gov: Governance, session: Session, cmd: c.MeetingCancel, actor: Actor, now: datetime
) -> Message:
    """Cancel an ad-hoc call, or one occurrence of a series (its next one for a series id),
    before it starts; a go/no-go call's reply says that none replaces it by itself, and how to
    go on (:func:`bot.meetings_hand_cancel.hand_cancel_note`)."""
    target = resolve(session, gov, cmd.id, now, actor, public=public_reply(actor))
    if isinstance(target, str):
        return fail(already_cancelled(gov, session, cmd.id, actor, now) or target)
    call, occ = target
    refused = audience_refusal(gov, session, call, actor, CallChange.CANCEL, cmd, now)
    if refused is not None:
        return refused
    if (refusal := started(occ, now, "cancelled")) is not None:
        return refusal
    cancel_occurrence(gov, session, call, occ, actor, now)
    row = session.get(AdhocMeetingRow, call.id)
    note: tuple[str, ...] = ()
    if row is not None and row.kind == "go-no-go" and row.proposal and row.stage:
        note = hand_cancel_note(row, gov.charter)
    return Message(
        title="Cancelled",
        lines=(
            (
                f"{call.title} ({occ.key}) at ",
                When(occ.starts_at),
                f" ({own_start(occ)}) is cancelled.",
            ),
            *((line,) for line in note),
        ),
    )


def already_cancelled(
    gov: Governance, session: Session, ref: str, actor: Actor, now: datetime
) -> str | None:
    """The answer to cancelling an ad-hoc call (``ref``: its id or occurrence key) cancelled
    before, which ``actor`` may see: by whom and when (from the audit log), and for a go/no-go
    call how to hold it again (or why it cannot be now). None for any other reference."""
    row = session.get(AdhocMeetingRow, ref.partition("@")[0])
    if row is None or not row.cancelled:
        return None
    call = adhoc_call(row)
    if not may_see(session, gov, call, actor, public=public_reply(actor)):
        return None
    key = call.occurrence().key
    logged = audit_query.entries(session, subject=f"meeting:{key}", kind="meeting-cancelled")
    by = f" by {logged[0].actor} on {aware(logged[0].at):%Y-%m-%d %H:%M} UTC" if logged else ""
    said = f"{row.id} ({aware(row.starts_at):%Y-%m-%d %H:%M} UTC) was already cancelled{by}."
    if row.kind != "go-no-go" or not (row.proposal and row.stage):
        return said
    why = why_not_requested(gov, session, row.proposal, row.stage, now)
    then = (
        f"To hold it again: /charter meeting schedule go-no-go-{row.proposal}-{row.stage} <when>."
        if why is None
        else why
    )
    return f"{said} {then}"


def cancel_occurrence(
    gov: Governance,
    session: Session,
    call: Call,
    occ: Occurrence,
    actor: Actor | str,
    now: datetime,
    *,
    reason: str = "",
) -> None:
    """Cancel ``occ`` of ``call`` (an ad-hoc call as a whole), which has not started: stored,
    audited and announced (a private call's announcement stays private); ``reason``, a
    sentence, ends the announcement (and is audited). ``meeting cancel`` and the automatic
    cancellation of a go/no-go call whose rollout can no longer enter its stage use it."""
    row = session.get(AdhocMeetingRow, call.id)
    if row is not None:
        row.cancelled = True
        session.add(row)
    else:
        by = actor if isinstance(actor, str) else login_of(actor)
        store.set_exception(session, key=occ.key, meeting_id=call.id, moved_to=None, by=by, now=now)
    store.bump_revision(session, call.id, now)
    agenda.follow(session, gov.charter, call, occ.key, now, cancelled=True)
    text = f"{call.title} ({occ.key}) is cancelled." + (f" {reason}" if reason else "")
    if not reason and row is not None and row.kind == "go-no-go" and row.proposal and row.stage:
        text += (
            f" No new go/no-go call will be scheduled automatically: #{row.proposal}'s gate into"
            f" {row.stage} waits until a coordinator holds the call again or the rollout"
            " advances with an override."
        )
    audit: dict[str, Any] = {"call": call.id}
    if reason:
        audit["reason"] = reason
    gov.effects(
        session,
        [
            Audit("meeting-cancelled", f"meeting:{occ.key}", audit),
            announce(
                call,
                gov.charter,
                occ.key,
                f"Cancelled: {call.title}",
                text,
                starts_at=occ.starts_at,
            ),
        ],
        actor,
        now,
    )
