"""Meeting fixtures: the reference charter (optionally with other meetings), a Governance with the
meetings area installed on a migrated database, and helpers that read what it queued."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # so `tests.*` imports without a root conftest
    sys.path.insert(0, str(ROOT))

from bot import meetings_service  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.messages import Actor  # noqa: E402
from bot.service import Governance  # noqa: E402
from charter.load import LoadedCharter, load_charter  # noqa: E402
from storage import identities, migrate  # noqa: E402
from storage.db import make_engine, session_scope  # noqa: E402
from storage.models.core import OutboxRow  # noqa: E402
from storage.models.meetings import FiredTimerRow  # noqa: E402
from tests.paths import reference_charter_text  # noqa: E402

COORDINATOR = Actor(login="ines-coord", surface="console", surface_id="ines-coord", display="Ines")
MAINTAINER = Actor(login="alice-aurora", surface="slack", surface_id="U0ALICE", display="Alice")
ANONYMOUS = Actor(login=None, surface="slack", surface_id="U0NOBODY", display="Nobody")

HOURLY = {
    "id": "hourly",
    "title": "Hourly standup",
    "rrule": "FREQ=HOURLY",
    "start": "2026-01-01T00:30",
    "timezone": "UTC",
    "duration": "15m",
    "reminders": ["10m"],
    "announce_to": ["core-discord"],
}


def charter_with(meetings: list[dict[str, Any]] | None = None) -> LoadedCharter:
    """The reference charter, with ``meetings`` in place of its own when given."""
    text = reference_charter_text()
    if meetings is None:
        return load_charter(text, "reference-charter.yaml")
    data = yaml.safe_load(text)
    data["meetings"] = meetings
    return load_charter(yaml.safe_dump(data, sort_keys=False), "variant.yaml")


def make_gov(url: str, loaded: LoadedCharter, clock: FixedClock) -> Governance:
    """A fresh Governance (as after a restart) on the database at ``url``."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    gov = Governance(engine, loaded, clock)
    meetings_service.install_on(gov)
    return gov


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'meetings.db'}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))


@pytest.fixture
def gov(db_url: str, clock: FixedClock) -> Iterator[Governance]:
    g = make_gov(db_url, charter_with(), clock)
    yield g
    g.engine.dispose()


def link_zone(gov: Governance, actor: Actor, zone: str | None, now: datetime) -> None:
    """Link ``actor``'s chat identity to its login at ``now``, with ``zone`` as their time zone
    (None: none set, the charter's is used)."""
    with session_scope(gov.engine) as session:
        row = identities.link(
            session,
            surface=actor.surface,
            surface_id=actor.surface_id,
            login=actor.login or "",
            method="console",
            now=now,
        )
        row.timezone = zone
        session.add(row)


def announcements(engine: Engine) -> list[dict[str, Any]]:
    """Payloads of every queued announcement, oldest first."""
    with session_scope(engine) as session:
        stmt = select(OutboxRow).where(OutboxRow.kind == "announce").order_by(col(OutboxRow.id))
        return [json.loads(r.payload) for r in session.exec(stmt)]


def reminders_sent(engine: Engine) -> list[str]:
    """The timer key of every reminder announced."""
    return [a["data"]["reminder"] for a in announcements(engine) if "reminder" in a["data"]]


def fired(engine: Engine) -> dict[str, str]:
    """Timer key → outcome (fired | missed)."""
    with session_scope(engine) as session:
        return {r.timer_key: r.outcome for r in session.exec(select(FiredTimerRow))}


def outbox_kind(engine: Engine, kind: str) -> list[dict[str, Any]]:
    """Payloads of the outbox items of ``kind``, oldest first."""
    with session_scope(engine) as session:
        stmt = select(OutboxRow).where(OutboxRow.kind == kind).order_by(col(OutboxRow.id))
        return [json.loads(r.payload) for r in session.exec(stmt)]
