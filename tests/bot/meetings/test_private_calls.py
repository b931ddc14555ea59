"""Calls about confidential matters stay private: a confidential rollout's go/no-go call (until
its proposal is disclosed) and every announcement of a call announced only to private channels
(scheduled, moved, cancelled) reach private channels only, and private ad-hoc calls are neither
posted as public agenda issues nor listed in the public calendar feed or on the dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot import calendar
from bot.clock import FixedClock
from bot.relay_fanout import announcement
from bot.service import Governance
from bot.web.calls import upcoming
from charter.subscriptions import recipients
from storage import meetings as store
from storage.db import session_scope
from tests.bot.meetings.conftest import (
    COORDINATOR,
    announcements,
    charter_with,
    make_gov,
    outbox_kind,
)
from tests.bot.meetings.test_go_no_go import SOAK_END, on_canary


def _channels(gov: Governance, a: dict[str, Any]) -> list[str | None]:
    return [d.channel for d in recipients(announcement(a), gov.charter, [])]


@pytest.mark.parametrize("confidential", [True, False])
def test_a_confidential_rollouts_go_no_go_call_is_private(db_url: str, confidential: bool) -> None:
    """Scheduling, reminders and the agenda of a confidential rollout's go/no-go call go to
    private channels only (none in this charter's meeting routing), no agenda issue is posted,
    and the call is in neither the public feed nor the dashboard; a public rollout's call is
    announced as before."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov, confidential=confidential)
    gov.tick(now)
    gov.tick(datetime(2026, 6, 14, 10, 0, tzinfo=UTC))  # agenda time: a day before the call
    gov.tick(datetime(2026, 6, 15, 9, 0, tzinfo=UTC))  # the 1 h reminder
    about = [a for a in announcements(gov.engine) if "#7" in a["title"] + a["text"]]
    assert about
    agenda_issues = [p for p in outbox_kind(gov.engine, "agenda-issue") if "#7" in p["title"]]
    ics = calendar_text(gov, now)
    listed = [c["id"] for c in upcoming(gov.engine, gov.charter, now)]
    if confidential:
        assert all(a["confidential"] and _channels(gov, a) == [] for a in about)
        assert agenda_issues == []
        assert "Go/no-go" not in ics and "go-no-go-7-production" not in listed
    else:
        assert all(_channels(gov, a) == ["core-discord", "upgrades-slack"] for a in about)
        assert agenda_issues
        assert "Go/no-go" in ics and "go-no-go-7-production" in listed
    gov.engine.dispose()


def calendar_text(gov: Governance, now: datetime) -> str:
    with session_scope(gov.engine) as session:
        adhoc = [store.to_adhoc(r) for r in store.adhoc_rows(session)]
        exceptions = store.schedule(session)
    return calendar.calendar_ics(gov.charter, exceptions, adhoc, now=now).decode()


def test_disclosing_the_proposal_makes_its_calls_public(db_url: str) -> None:
    """`disclose` clears the private mark of the proposal's calls: later reminders go out on the
    meeting channels and the call is listed again."""
    now = SOAK_END - timedelta(days=1)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    on_canary(gov, confidential=True)
    gov.tick(now)
    with session_scope(gov.engine) as session:
        assert [r.private for r in store.adhoc_rows(session)] == [True]
        assert store.publish_adhoc(session, 7) == 1
        assert [r.private for r in store.adhoc_rows(session)] == [False]
        assert store.publish_adhoc(session, 7) == 0
    gov.tick(datetime(2026, 6, 15, 9, 0, tzinfo=UTC))
    reminder = [a for a in announcements(gov.engine) if "starts in" in a["text"]]
    assert reminder and _channels(gov, reminder[-1]) == ["core-discord", "upgrades-slack"]
    gov.engine.dispose()


def _confirmed(gov: Governance, command: str, now: datetime) -> None:
    """Run ``command``, confirming it when it asks for confirmation."""
    reply = gov.run_sync(command, COORDINATOR, now)
    assert reply.ok, reply.lines
    found = re.search(r"confirm (\S+) within", str(reply.lines))
    if found:
        assert gov.run_sync(f"confirm {found.group(1)}", COORDINATOR, now).ok


@pytest.mark.parametrize(
    "command",
    [
        "meeting move security-sync@2026-04-07T17:00 2026-04-08 17:00Z",
        "meeting cancel security-sync@2026-04-07T17:00",
    ],
    ids=["move", "cancel"],
)
def test_moving_or_cancelling_a_private_series_stays_private(db_url: str, command: str) -> None:
    """The security council's call is announced only to its private channel: so are its moves
    and cancellations (they used to go to the public meeting channels too)."""
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    gov = make_gov(db_url, charter_with(), FixedClock(now))
    _confirmed(gov, command, now)
    said = [a for a in announcements(gov.engine) if "Security council sync" in a["title"]]
    assert said
    assert all(a["confidential"] and _channels(gov, a) == ["council-private"] for a in said)
    gov.engine.dispose()
