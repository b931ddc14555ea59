"""The agenda of a call, gathered from live state, and its post as a GitHub issue.

Rules:
- The snapshot is read fresh every time (:func:`snapshot`): proposals in review and voting with
  their next deadline, their open concerns, rollouts whose next stage has failing gates, open
  incidents, open action items carried over from earlier calls, and items people added to this
  occurrence. The text itself is
  :func:`charter.agenda.build_agenda` (deterministic, so unchanged state means an unchanged body).
- Only what may be public goes into an agenda: confidential proposals that are not disclosed,
  confidential rollouts and confidential incidents (those that name or pause an undisclosed
  confidential proposal: ``storage.dashboard_queries.confidential_incidents``) are left out,
  because the agenda is a public GitHub issue. A private call's agenda lists every open
  incident. A failing gate names a confidential incident only as such
  (:func:`charter.gates.incident_reason`).
- A call whose every announcement channel is private (the security council's) is *private*: its
  agenda is announced to those channels only and never posted as a GitHub issue.
- Action items carry over: an open item recorded on a call of series S appears on every later
  agenda of S; items recorded on ad-hoc calls appear on every later agenda. An item recorded on
  a private call (a confidential rollout's go/no-go, the security council's) appears only on
  the agendas of private calls: it never reaches a public agenda or its GitHub issue.
- The GitHub issue is an ``agenda-issue`` outbox item keyed ``agenda-issue:<occurrence>:pending``
  (one pending post or edit per occurrence; the relay creates the issue once and edits it only
  when the body changed, see :mod:`bot.github.relay`). A post still waiting for the relay is
  given the newest text instead (:func:`queue_post`), so the relay never posts a stale one.
- One issue per call occurrence, kept true: a move or a cancellation edits a posted agenda at
  once (:func:`follow`: the new time, or "[Cancelled]"); a moved call keeps its key and so its
  issue; and when a charter amendment moves a series' hour, the call of that day takes over the
  agenda posted for the old hour (:func:`adopt`: its issue, its pending post, its added items)
  rather than opening a second issue, unless outcomes were recorded on the old one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime

from sqlmodel import Session

from bot import rollout_reads
from bot.rollout_views import next_stage
from charter.agenda import (
    ActionItem,
    AddedItem,
    Agenda,
    AgendaSnapshot,
    ConcernItem,
    GateItem,
    IncidentItem,
    ProposalItem,
    build_agenda,
)
from charter.deadlines import deadlines
from charter.gates import evaluate
from charter.lifecycle import State
from charter.meetings import (
    Call,
    Occurrence,
    find_occurrence,
    is_private,
    parse_key,
    superseded,
)
from charter.model import Charter, Meeting
from charter.proposal import rules_for
from storage import (
    agendas as agenda_store,
    check_results as check_store,
    incidents as incident_store,
    meeting_outcomes as outcome_store,
    meetings as store,
    outbox,
    proposals as repo,
    rollouts as rollout_store,
)
from storage.dashboard_queries import confidential_incidents
from storage.models.meetings import AdhocMeetingRow
from storage.times import aware

log = logging.getLogger("charterbot.meetings")

AGENDA_KIND = "agenda-issue"
AGENDA_LABEL = "meeting-agenda"


def digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _proposals(session: Session, charter: Charter) -> tuple[list[ProposalItem], list[ConcernItem]]:
    states = [State.REVIEW.value, State.VOTING.value]
    items: list[ProposalItem] = []
    concerns: list[ConcernItem] = []
    for stored in repo.listing(session, states=states, include_confidential=False):
        p = stored.proposal
        deadline = None
        if p.track in rules_for(p, charter).tracks:
            d = deadlines(p, charter)
            deadline = (
                d.review_ends if p.state is State.REVIEW else d.confirm_until or (d.voting_closes)
            )
        items.append(ProposalItem(p.number, p.title, p.state.value, deadline))
        concerns.extend(
            ConcernItem(p.number, c.raised_by, c.text) for c in p.concerns if c.resolved_at is None
        )
    return items, concerns


def _rollouts(session: Session, charter: Charter, now: datetime) -> list[GateItem]:
    """Failing gates of each public rollout's next stage."""
    items: list[GateItem] = []
    for rollout in rollout_store.rollouts(session, charter, active_only=True):
        target = next_stage(rollout, charter)
        stored = repo.load(session, rollout.proposal)
        if rollout.confidential or target is None or stored is None:
            continue
        stage = charter.stage(target)
        if stage is None:
            continue
        checked = check_store.with_checks(session, rollout, rollout_reads.client_repos(charter))
        facts = rollout_reads.gate_facts(session, stored.proposal)
        for result in evaluate(stage, checked, facts, charter, now):
            if not result.passed:
                items.append(GateItem(rollout.proposal, target, result.gate, result.reason))
    return items


def _incidents(session: Session, public: bool) -> list[IncidentItem]:
    """The open incidents; for a public call, all but the confidential ones."""
    opened = incident_store.incidents(session, open_only=True)
    secret = confidential_incidents(session) if public and opened else set()
    return [
        IncidentItem(str(i.id), i.severity, i.summary, i.declared_at)
        for i in opened
        if i.id not in secret
    ]


def _private_source(session: Session, charter: Charter, meeting_id: str) -> bool:
    """Whether the call an action item was recorded on is private (an unknown call counts as
    private: nothing is carried into a public agenda unless it is known to be public)."""
    meeting = charter.meeting(meeting_id)
    if meeting is not None:
        return is_private(meeting, charter)
    row = session.get(AdhocMeetingRow, meeting_id)
    return row is None or is_private(store.to_adhoc(row), charter)


def _actions(session: Session, charter: Charter, call: Call, occ: Occurrence) -> list[ActionItem]:
    """Open action items recorded before ``occ`` on this series (or on any ad-hoc call); items
    of a private call reach only the agendas of private calls."""
    series = {m.id for m in charter.meetings}
    public = not is_private(call, charter)
    out: list[ActionItem] = []
    for row in outcome_store.open_actions(session):
        carried = row.meeting_id == call.id or row.meeting_id not in series
        if not carried or row.occurrence_key == occ.key or aware(row.at) >= occ.starts_at:
            continue
        if public and _private_source(session, charter, row.meeting_id):
            continue
        out.append(ActionItem(f"[{row.id}] {row.text}", row.owner, row.occurrence_key))
    return out


def snapshot(
    session: Session, charter: Charter, call: Call, occ: Occurrence, now: datetime
) -> AgendaSnapshot:
    """Everything open now that belongs on ``occ``'s agenda."""
    proposals, concerns = _proposals(session, charter)
    added = [
        AddedItem(row.text, row.added_by, aware(row.added_at))
        for row in agenda_store.agenda_items(session, occ.key)
    ]
    return AgendaSnapshot(
        proposals=tuple(proposals),
        concerns=tuple(concerns),
        failing_gates=tuple(_rollouts(session, charter, now)),
        incidents=tuple(_incidents(session, public=not is_private(call, charter))),
        actions=tuple(_actions(session, charter, call, occ)),
        added=tuple(added),
    )


def agenda_for(
    session: Session,
    charter: Charter,
    call: Call,
    occ: Occurrence,
    now: datetime,
    *,
    cancelled: bool = False,
) -> Agenda:
    built = snapshot(session, charter, call, occ, now)
    return build_agenda(call, occ, built, now, cancelled=cancelled)


def _pending_key(occurrence_key: str) -> str:
    return agenda_store.pending_key(occurrence_key)  # "agenda-issue:<key>:pending"


def queue_post(session: Session, occ: Occurrence, agenda: Agenda, now: datetime) -> bool:
    """Queue the agenda issue's creation or edit unless GitHub already holds this body; a post
    still waiting for the relay gets this text instead. True when something changed."""
    payload = {"occurrence_key": occ.key, "title": agenda.title, "body": agenda.body_markdown}
    waiting = agenda_store.waiting_post(session, _pending_key(occ.key))
    if waiting is not None:
        if outbox.payload(waiting) == payload:
            return False
        waiting.payload = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        session.add(waiting)
        return True
    known = agenda_store.agenda_issue(session, occ.key)
    if known is not None and known.body_sha256 == digest(agenda.body_markdown):
        return False
    outbox.enqueue(session, kind=AGENDA_KIND, payload=payload, now=now, key=_pending_key(occ.key))
    return True


def follow(
    session: Session,
    charter: Charter,
    call: Call,
    key: str,
    now: datetime,
    *,
    cancelled: bool = False,
) -> bool:
    """Make the posted agenda of occurrence ``key`` say what is true now: where the call now
    falls (after a move), or that it is ``cancelled``. Nothing for a private call (no issue),
    nor before the agenda is posted: its timer then posts it where the call now falls."""
    if is_private(call, charter) or not agenda_store.posted_agendas(session, keys=[key]):
        return False
    occ = find_occurrence(call, key, store.schedule(session))
    if occ is None:
        return False
    built = agenda_for(session, charter, call, occ, now, cancelled=cancelled)
    return queue_post(session, occ, built, now)


def adopt(session: Session, meeting: Meeting, occ: Occurrence, now: datetime) -> str | None:
    """Let ``occ`` take over the agenda posted for a call of the same series on the same day
    that the charter no longer holds and whose heir ``occ`` is (:func:`charter.meetings.
    superseded`): its added items, its GitHub issue and its post still waiting for the relay,
    which then carry ``occ``'s key. Only an agenda that still holds something counts (one taken
    over already holds nothing, though its timer fired); one that outcomes were recorded on is
    left alone; and an ``occ`` with an issue or a waiting post of its own takes over nothing
    (an amendment that drops one of a day's calls does not merge it into another: the dropped
    call's issue says it is cancelled, see :func:`bot.meetings_timers.refresh_agendas`).
    Returns the key taken over, if any."""
    if agenda_store.holding_agendas(session, [occ.key], items=False):
        return None
    local = parse_key(occ.key)[1]
    same_day = agenda_store.posted_agendas(session, prefix=f"{meeting.id}@{local:%Y-%m-%d}T")
    old = superseded(meeting, occ, agenda_store.holding_agendas(session, same_day - {occ.key}))
    if old is None or outcome_store.outcomes(session, old):
        return None
    moved = agenda_store.rekey_agenda(session, old, occ.key, now)
    waiting = agenda_store.waiting_post(session, _pending_key(old))
    if waiting is not None and agenda_store.waiting_post(session, _pending_key(occ.key)) is None:
        waiting.key = _pending_key(occ.key)  # queue_post gives it occ's text
        session.add(waiting)
        moved = True
    if moved:
        log.info("agenda of %s taken over by %s", old, occ.key)
    return old if moved else None
