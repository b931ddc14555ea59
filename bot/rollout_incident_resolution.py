"""Resolving an incident: lifting its holds, resuming what waited for them, and drafting and
scheduling its post-incident review (part of the rollout area's incidents; see
:mod:`bot.rollout_incidents`).

Rules:
- Resolving lifts that incident's pauses on every rollout it holds, completed or not (a rollout
  also held by another incident stays paused); a rollout left with no hold then does what waited
  for it (enters its first stage, or completes: :func:`charter.rollout.resume`). A rollout
  whose proposal has ended (``storage.rollouts.ENDED_STATES``: rolled back for good,
  withdrawn…) has its hold lifted silently: audited, never announced as resumed. The reply
  names only the rollouts its reader may see.
- It also drafts the post-incident review as a GitHub issue (outbox kind ``create-issue``,
  payload ``{title, body, labels, key}``) due ``incidents.review_within`` after resolution, and
  schedules the review as a call on the due date whose agenda links that issue
  (:func:`bot.meetings_incident_review.schedule_incident_review`); for a confidential incident the
  draft goes to private channels and the call is private. The draft names that call (its id
  and start: it is held at the hour people meet, not at the due time), and its decision log is
  read once the resolve is recorded, so it ends with ``incident-resolved``.
- A public incident's review draft (a public issue) leaves out the audit lines of the
  embargoed rollouts it held as they started (:func:`_told`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from sqlmodel import Session

from bot.announcements import undisclosed_secrets
from bot.meetings_calls import adhoc_call
from bot.meetings_incident_review import review_start, schedule_incident_review
from bot.meetings_lookup import may_see
from bot.messages import Actor, Message
from bot.rollout_incident_secrecy import kept_private, seen
from bot.rollout_incident_steps import pick, record, reply
from bot.rollout_steps import save
from charter import commands as c, incident_facts, incidents as rules, rollout as rollout_rules
from charter.effects import Announce
from charter.incident_facts import Incident
from charter.incident_reviews import review_issue_body
from charter.prerequisites import form_minimums
from storage import (
    meetings as meetings_store,
    outbox,
    proposals as repo,
    rollout_record as record_store,
    rollouts as store,
)

if TYPE_CHECKING:
    from bot.service import Governance

REVIEW_LABEL = "post-incident-review"


def resolve(
    gov: Governance, session: Session, cmd: c.IncidentResolve, actor: Actor, now: datetime
) -> Message:
    incident = pick(gov, session, cmd, cmd.incident, actor, now)
    if isinstance(incident, Message):
        return incident
    held = [
        r
        for r in store.rollouts(session, gov.charter)
        if any(k == incident.id for k, _ in r.pauses)
    ]
    subjects = [
        f"incident:{incident.id}",
        *(f"rollout:{n}" for n in _told(gov, session, incident, held)),
    ]
    decision = rules.resolve(gov.charter, incident, cmd.text or "resolved", actor.name, now)
    outcome = record(gov, session, cmd, decision, actor, now)
    if isinstance(outcome, Message):
        return outcome
    # The decision log is read once the resolve is recorded, so it lists `incident-resolved`.
    lines = record_store.audit_lines(session, subjects)
    decision = replace(decision, review_body=review_issue_body(decision.incident, lines))
    review = []
    if decision.review_due_at is not None:
        secret = kept_private(gov, session, incident)
        review = _schedule_review(gov, session, decision, actor, now, secret=secret)
    said = [f"Incident #{incident.id} resolved."]
    for r in held:
        resumed = _resume(gov, session, r.proposal, incident.id, actor, now)
        if seen(gov, repo.load(session, r.proposal), actor):  # a hidden one is left unsaid
            said.append(resumed)
    return reply(outcome, [*said, *review])


def _told(
    gov: Governance, session: Session, incident: Incident, held: Iterable[rollout_rules.Rollout]
) -> list[int]:
    """The rollouts held by ``incident`` whose audit entries its review draft lists: all for a
    confidential incident (its draft is private); for a public one, not those of undisclosed
    confidential proposals (held as they started, by a client or by naming nothing: the
    public draft would tie
    the incident to the embargo)."""
    numbers = [r.proposal for r in held]
    if kept_private(gov, session, incident):
        return numbers
    hidden = set(undisclosed_secrets(gov, session, numbers))
    return [n for n in numbers if n not in hidden]


def _schedule_review(
    gov: Governance,
    session: Session,
    decision: incident_facts.IncidentDecision,
    actor: Actor,
    now: datetime,
    *,
    secret: bool,
) -> list[str]:
    """Draft the review and store its call (private for a confidential incident:
    :func:`bot.meetings_incident_review.schedule_incident_review`); the reply's line saying
    when, for an ``actor`` who may see that call (:func:`bot.meetings_lookup.may_see`)."""
    due = decision.review_due_at
    assert due is not None
    call_id = meetings_store.review_call_id(decision.incident.id)
    if meetings_store.adhoc_exists(session, call_id):  # it is not stored again
        _draft_review(gov, session, decision, now, secret=secret)
        return []
    # One start, named by the draft and stored: they cannot disagree.
    start = review_start(gov, session, due, now)
    call = (call_id, start.at)
    drafted = _draft_review(gov, session, decision, now, secret=secret, call=call)
    row = schedule_incident_review(
        gov, session, decision.incident, due, start, now, drafted=drafted, private=secret
    )
    if row is None or not may_see(session, gov, adhoc_call(row), actor):
        return []
    return [f"Its post-incident review call ({row.id}) is at {row.starts_at:%Y-%m-%d %H:%M} UTC."]


def _draft_review(
    gov: Governance,
    session: Session,
    decision: incident_facts.IncidentDecision,
    now: datetime,
    *,
    secret: bool = False,
    call: tuple[str, datetime] | None = None,
) -> str:
    """Draft the review as a public GitHub issue; for an incident about a confidential,
    undisclosed proposal, send the draft to private channels instead (a public issue would
    disclose it). Returns the line saying where the draft is, for the review call's agenda:
    a link that finds the issue by its label and title (its number is known only once the
    relay has created it). The draft names the review ``call`` (its id and start) when given."""
    i, due = decision.incident, decision.review_due_at
    assert due is not None
    key = f"incident-review:{i.id}"
    body = f"**Review due:** {due:%Y-%m-%d %H:%M} UTC\n\n{decision.review_body}"
    if call is not None:  # held on the due date at the hour people meet, not at ``due``
        said = f"**Review call:** `{call[0]}` at {call[1]:%Y-%m-%d %H:%M} UTC"
        body = f"**Review due:** {due:%Y-%m-%d %H:%M} UTC\n\n{said}\n\n{decision.review_body}"
    title = f"Post-incident review: incident {i.id} ({i.severity}) — due {due:%Y-%m-%d}"
    if secret:
        draft = Announce(
            kind="incident", title=title, text=body, confidential=True, data={"incident": i.id}
        )
        gov.effects(session, [draft], "charterbot", now)
        return f"Review draft: “{title}”, sent to the private channels on {now:%Y-%m-%d}."
    payload = {"title": title, "body": body, "labels": [REVIEW_LABEL], "key": key}
    outbox.enqueue(
        session, kind="create-issue", payload=payload, now=now, key=f"create-issue:{key}"
    )
    search = quote_plus(f'is:issue label:{REVIEW_LABEL} in:title "{title}"')
    found = gov.github_page(f"/issues?q={search}")
    return f"Review draft: the issue “{title}”, {found}"


def _resume(
    gov: Governance, session: Session, n: int, incident: str, actor: Actor, now: datetime
) -> str:
    rollout = store.load_rollout(session, n, gov.charter, for_update=True)
    stored = repo.load(session, n)
    assert rollout is not None
    assert stored is not None
    decision = rollout_rules.resume(
        rollout,
        gov.charter,
        actor.name,
        incident_id=incident,
        now=now,
        minimums=form_minimums(stored.proposal.fields),
        ended=stored.proposal.state.value in store.ENDED_STATES,
    )
    outcome = save(gov, session, stored, rollout, decision.rollout, decision.effects, actor, now)
    return "\n".join(r.text for r in outcome.replies)
