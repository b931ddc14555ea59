"""Post-incident review calls: resolving an incident schedules its review as an ad-hoc call.

Resolving an incident stores an ad-hoc call ``incident-review-<id>`` (kind
``incident-review``, one hour, titled "Post-incident review: incident <id> — <summary>") on the
review's due date (``incidents.review_within`` after resolution), at the time of day of
the charter's first meeting series in its zone, or 15:00 UTC with no series
(:func:`charter.incident_reviews.review_at`); never sooner than an hour from now (then on the next
hour), and moved past any call it would overlap, as a go/no-go call is. It is announced and
audited like one, and gets the same reminders and an agenda ``GO_NO_GO_AGENDA`` before, which
lists the line naming the drafted review issue among its added items
(:func:`schedule_incident_review`). A confidential incident's call is private until the
incident is no longer confidential (its proposals disclosed:
:func:`storage.meetings.publish_adhoc`). Its id makes it once: an incident is resolved once (a
second ``incident resolve`` is refused), and a stored call is never stored again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.meetings_calls import REVIEW_KIND, adhoc_call, announce, follows, free_start, hour_up
from charter.effects import Audit, Effect
from charter.incident_facts import Incident
from charter.incident_reviews import review_at
from charter.meetings import Call
from storage import agendas as agenda_store, meetings as store
from storage.models.meetings import AdhocMeetingRow

if TYPE_CHECKING:
    from bot.service import Governance

REVIEW_LENGTH = timedelta(hours=1)


@dataclass(frozen=True)
class ReviewStart:
    """When a review call is held, in which zone, and the calls it was moved past."""

    at: datetime
    zone: str
    passed: list[Call]


def review_start(gov: Governance, session: Session, due: datetime, now: datetime) -> ReviewStart:
    """When the review due at ``due`` is held (see the module rules): computed once, before
    its draft names it, and given to :func:`schedule_incident_review`, which stores it, so the
    draft and the stored call cannot disagree."""
    at, zone = review_at(gov.charter, due)
    soonest = now + timedelta(hours=1)
    wanted = at if at >= soonest else hour_up(soonest)
    starts, passed = free_start(session, gov.charter, wanted, REVIEW_LENGTH, now)
    return ReviewStart(starts, zone, passed)


def schedule_incident_review(
    gov: Governance,
    session: Session,
    incident: Incident,
    due: datetime,
    start: ReviewStart,
    now: datetime,
    *,
    drafted: str,
    private: bool = False,
) -> AdhocMeetingRow | None:
    """Store the post-incident review of ``incident``, due at ``due``, as an ad-hoc call at
    ``start`` (:func:`review_start`; see the module rules), ``drafted`` (where its review was
    drafted) the first item of its agenda; ``private`` for a confidential incident. None when
    it is stored already."""
    call_id = store.review_call_id(incident.id)
    if store.adhoc_exists(session, call_id):
        return None
    starts, zone, passed = start.at, start.zone, start.passed
    summary = " ".join(incident.summary.split())
    row = AdhocMeetingRow(
        id=call_id,
        kind=REVIEW_KIND,
        title=f"Post-incident review: incident {incident.id} — {summary}",
        starts_at=starts,
        duration_seconds=int(REVIEW_LENGTH.total_seconds()),
        timezone=zone,
        private=private,
        created_by="charterbot",
        created_at=now,
    )
    session.add(row)
    store.bump_revision(session, call_id, now)
    call = adhoc_call(row)
    occ = call.occurrence()
    agenda_store.add_agenda_item(session, occ.key, drafted, "charterbot", now)
    lead = f"The post-incident review of incident {incident.id} is scheduled (due {due:%Y-%m-%d})."
    lead += follows(passed, gov.charter, private=private)
    payload = {"incident": incident.id, "starts_at": starts.isoformat(), "due": due.isoformat()}
    effects: list[Effect] = [
        announce(call, occ, gov.charter, row.title, f"{lead}\n{drafted}"),
        Audit("meeting-scheduled", f"meeting:{call_id}", payload),
    ]
    gov.effects(session, effects, "charterbot", now)
    return row
