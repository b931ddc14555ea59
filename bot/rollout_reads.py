"""A rollout as it stands, read from storage: the facts its gates are evaluated on and its view.

What chat, the dashboard, the agenda and the API all show of a rollout comes from here, so they
agree. Nothing here writes, and nothing here depends on a transport (the dashboard imports it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.meetings_go_no_go import private_call
from bot.meetings_hand_cancel import hand_cancelled_call
from bot.rollout_views import next_stage, rollout_view
from bot.service import Governance
from charter.gates import GateFacts, GateResult, GoNoGo, evaluate
from charter.model import Charter
from charter.prerequisites import form_minimums
from charter.proposal import Proposal
from charter.risk import Assessment
from charter.rollout import Rollout
from storage import (
    check_results as check_store,
    incidents as incident_store,
    meetings as meeting_store,
    proposals as repo,
    rollout_reports as report_store,
)
from storage.dashboard_queries import confidential_incidents


def client_repos(charter: Charter) -> dict[str, str]:
    return {cl.id: cl.repository for cl in charter.clients if cl.repository}


def assessment(p: Proposal) -> Assessment | None:
    """The risk the author scored in the form, when both numbers are there."""
    likelihood, impact = p.fields.get("likelihood"), p.fields.get("impact")
    if isinstance(likelihood, int) and isinstance(impact, int):
        return Assessment(likelihood, impact)
    return None


def gate_facts(
    session: Session, p: Proposal, rollout: Rollout | None = None, charter: Charter | None = None
) -> GateFacts:
    """What ``p``'s gates are evaluated on; the confidential incidents among the open ones are
    marked, so no gate reason (shown in public) quotes them. With ``rollout`` and ``charter``,
    the next stage's current go/no-go call cancelled by hand too (:func:`cancelled_call`)."""
    incidents = tuple(incident_store.incidents(session, open_only=True))
    decisions = report_store.go_no_go(session, p.number)
    return GateFacts(
        incidents=incidents,
        risk=assessment(p),
        go_no_go=decisions,
        minimums=form_minimums(p.fields),
        confidential=frozenset(confidential_incidents(session)) if incidents else frozenset(),
        cancelled_call=(
            None
            if rollout is None or charter is None
            else cancelled_call(session, rollout, charter, decisions)
        ),
    )


def cancelled_call(
    session: Session, rollout: Rollout, charter: Charter, decisions: Sequence[GoNoGo]
) -> str | None:
    """The id of the current go/no-go call of ``rollout``'s next stage when it was cancelled by
    hand (:func:`bot.meetings_hand_cancel.hand_cancelled_call`), for a gate reason. A private call
    of a rollout the public may see (its proposal disclosed since the call was stored) is not
    named: the dashboard and the API show this reason, and they keep private calls out."""
    target = next_stage(rollout, charter)
    stage = charter.stage(target) if target else None
    if stage is None or not stage.go_no_go_meeting:
        return None  # no call to read: the gate asks for none
    calls = meeting_store.go_no_go_calls(session, rollout.proposal, stage.id)
    row = hand_cancelled_call(rollout, charter, calls, decisions)
    if row is None or (row.private and not private_call(session, rollout)):
        return None
    return row.id


def checked(gov: Governance, session: Session, rollout: Rollout) -> Rollout:
    return check_store.with_checks(session, rollout, client_repos(gov.charter))


def gates_of(
    gov: Governance, session: Session, stored: repo.Stored, rollout: Rollout, now: datetime
) -> tuple[GateResult, ...]:
    """The gates of the stage ``advance`` would enter (none once the last stage is reached)."""
    target = next_stage(rollout, gov.charter)
    if target is None:
        return ()
    stage = gov.charter.stage(target)
    assert stage is not None
    facts = gate_facts(session, stored.proposal, rollout, gov.charter)
    return evaluate(stage, rollout, facts, gov.charter, now)


def view_of(
    gov: Governance, session: Session, stored: repo.Stored, rollout: Rollout, now: datetime
) -> dict[str, Any]:
    """The JSON view of one rollout, gates evaluated now (for chat, the dashboard and the API)."""
    current = checked(gov, session, rollout)
    gates = gates_of(gov, session, stored, current, now)
    p = stored.proposal
    return rollout_view(current, gov.charter, gates=gates, title=p.title, state=p.state.value)
