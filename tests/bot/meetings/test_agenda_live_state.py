"""The agenda is built from live state: proposals with deadlines, open concerns, failing gates,
open incidents — and nothing confidential, because it is posted publicly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.meetings_agenda import agenda_for
from bot.meetings_lookup import resolve
from bot.service import Governance
from charter.concerns import Concern
from charter.lifecycle import State
from charter.proposal import Proposal
from charter.rollout import Rollout
from storage import incidents as incident_store, proposals as repo, rollouts as rollout_store
from storage.db import session_scope
from tests.bot.meetings.conftest import COORDINATOR

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
CLIENTS = ("aurora", "borealis", "cirrus", "dorado", "eridanus")


def proposal(number: int, track: str, state: State, **kw: object) -> Proposal:
    return Proposal(
        number=number,
        title=f"Proposal {number}",
        author="alice-aurora",
        track=track,
        state=state,
        fields={},
        charter_version=3,
        created_at=NOW - timedelta(days=3),
        **kw,  # type: ignore[arg-type]
    )


def seed(gov: Governance) -> None:
    concerns = (
        Concern(
            "gas", "Gas @maintainers limit too low", "carmen-borealis", NOW - timedelta(days=1)
        ),
        Concern(
            "old",
            "Resolved already",
            "bob-aurora",
            NOW - timedelta(days=2),
            resolved_by="bob-aurora",
            resolved_at=NOW - timedelta(days=1),
        ),
    )
    stored = [
        proposal(
            11,
            "protocol-change",
            State.REVIEW,
            entered_review_at=NOW - timedelta(days=2),
            concerns=concerns,
        ),
        proposal(
            12,
            "security-patch",
            State.VOTING,
            entered_review_at=NOW - timedelta(days=1),
            voting_opened_at=NOW - timedelta(hours=5),
        ),
        proposal(
            14,
            "feature-flag",
            State.ROLLING_OUT,
            entered_review_at=NOW - timedelta(days=9),
            voting_opened_at=NOW - timedelta(days=7),
            decided_at=NOW - timedelta(days=4),
        ),
    ]
    rollout = Rollout(
        proposal=14,
        clients=CLIENTS,
        started_at=NOW - timedelta(days=4),
        stage_index=0,
        positions=dict.fromkeys(CLIENTS, 0),
        stage_entered_at={"staging": NOW - timedelta(days=1)},
    )
    with session_scope(gov.engine) as session:
        for p in stored:
            repo.save(session, repo.Stored(p), gov.charter, NOW)
        rollout_store.save_rollout(session, rollout, gov.charter, NOW)
        incident_store.new_incident_id(session, "sev2", "Peering storm", "ines-coord", NOW)


def test_the_agenda_lists_what_is_open_now(gov: Governance) -> None:
    """Review and voting proposals with their next deadline in the call's zone, open concerns
    (not resolved ones), the failing gates of a rollout's next stage and open incidents; a
    confidential proposal that is not disclosed is left out; user text is escaped."""
    seed(gov)
    with session_scope(gov.engine) as session:
        found = resolve(session, gov, "core-sync", NOW, COORDINATOR)
        assert not isinstance(found, str)
        body = agenda_for(session, gov.charter, *found, NOW).body_markdown
    assert body.startswith("<!-- charterbot:agenda:core-sync@2026-04-02T15:00 -->\n")
    assert "- #11 Proposal 11 — review, until 2026-03-25 13:00 CET" in body
    assert "#12" not in body  # security-patch: confidential until disclosed
    assert "- #11 carmen-borealis: Gas @\u200bmaintainers limit too low" in body
    assert "Resolved already" not in body
    assert "## Rollouts with failing gates" in body
    assert "- #14 canary: soak — soak: staging has run 24h of 72h" in body
    assert "- sev2 1: Peering storm (open since 2026-03-20 13:00 CET)" in body
