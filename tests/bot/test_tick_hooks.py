"""The service's tick runs every hook in its own transaction; one hook that fails (a stored row
it cannot handle) rolls back alone, the hooks after it still run, and the tick then raises
the first failure so the leader's loop reports it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.clock import FixedClock
from bot.service import Governance
from charter.load import load_charter
from storage import outbox
from tests.paths import REFERENCE_CHARTER


def _queued(gov: Governance) -> list[str]:
    with Session(gov.engine) as session:
        return [row.key or "" for row in outbox.listing(session)]


def test_a_failing_hook_does_not_starve_the_others(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.fromisoformat("2026-06-01T09:00:00+00:00")
    gov = Governance(
        sqlite_engine, load_charter(REFERENCE_CHARTER.read_text(), "reference"), FixedClock(now)
    )
    ran: list[str] = []

    def broken(g: Governance, session: Session, at: datetime) -> int:
        ran.append("broken")
        outbox.enqueue(session, kind="test", payload={}, now=at, key="broken:written")
        raise ValueError("unknown stage 'production'")

    def later(g: Governance, session: Session, at: datetime) -> int:
        ran.append("later")
        outbox.enqueue(session, kind="test", payload={}, now=at, key="later:written")
        return 1

    gov.add_tick_hook(broken)
    gov.add_tick_hook(later)
    with pytest.raises(ValueError, match="unknown stage"):
        gov.tick(now)
    assert ran == ["broken", "later"]
    assert _queued(gov) == ["later:written"]  # the failing hook's transaction rolled back
    assert "tick hook" in caplog.text and "broken" in caplog.text
