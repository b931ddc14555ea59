"""The links the console prints: it cannot know where a server was started (``serve --port``),
so without CHARTERBOT_PUBLIC_URL it builds them from its own CHARTERBOT_HTTP_HOST/PORT, as a
server started with the same settings listens there, and says they are that guess."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from bot.audit_witness import Witness
from bot.cli import app
from bot.meetings_service import GUESSED_LINKS
from storage import audit, audit_witness as witness_store
from storage.db import make_engine, read_scope, session_scope
from tests.paths import REFERENCE_CHARTER

NOW = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)
ATOM_GUESS = (
    "(if the server runs with this console's CHARTERBOT_HTTP_HOST and CHARTERBOT_HTTP_PORT;"
    " set CHARTERBOT_PUBLIC_URL to name its address)"
)


@pytest.mark.parametrize(
    ("env", "base", "guessed"),
    [
        ({}, "http://127.0.0.1:8080", True),
        ({"CHARTERBOT_HTTP_PORT": "18945"}, "http://127.0.0.1:18945", True),
        ({"CHARTERBOT_HTTP_HOST": "0.0.0.0", "CHARTERBOT_HTTP_PORT": "9001"},
         "http://127.0.0.1:9001", True),
        ({"CHARTERBOT_PUBLIC_URL": "https://gov.example.org/"}, "https://gov.example.org", False),
        ({"CHARTERBOT_PUBLIC_URL": "https://example.org/gov/"}, "https://example.org/gov", False),
    ],
)  # fmt: skip
def test_console_links_follow_the_settings_and_say_when_they_guess(
    tmp_path: Path, migrated_sqlite_file: Path, env: dict[str, str], base: str, guessed: bool
) -> None:
    db = tmp_path / "c.db"
    shutil.copyfile(migrated_sqlite_file, db)
    unset = dict.fromkeys(
        ("CHARTERBOT_HTTP_HOST", "CHARTERBOT_HTTP_PORT", "CHARTERBOT_PUBLIC_URL"), None
    )
    result = CliRunner().invoke(
        app,
        ["console", "--as", "ines-coord"],
        env={
            **unset,
            "CHARTERBOT_DATABASE_URL": f"sqlite:///{db}",
            "CHARTERBOT_CHARTER": str(REFERENCE_CHARTER),
            **env,
        },
        input="meetings\nsubscribe me\n",
    )
    assert result.exit_code == 0, result.output
    [footer] = [line for line in result.stdout.splitlines() if "Subscribe to every call" in line]
    assert footer.startswith(f"Subscribe to every call: {base}/calendar.ics ")
    assert footer.endswith(GUESSED_LINKS) is guessed
    [atom] = [line for line in result.stdout.splitlines() if "the Atom feed" in line]
    assert f": {base}/feeds/announcements.atom" in atom
    assert atom.endswith(ATOM_GUESS) is guessed


@pytest.mark.parametrize(("guessed", "queued"), [(True, 0), (False, 1)])
def test_a_console_that_guesses_leaves_the_audit_witness_to_the_server(
    tmp_path: Path, migrated_sqlite_file: Path, guessed: bool, queued: int
) -> None:
    """The witness comment tells anyone to fetch the export from the dashboard's address: one
    queued by a console's tick (it ticks after each command) would name its guess."""
    db = tmp_path / "w.db"
    shutil.copyfile(migrated_sqlite_file, db)
    engine = make_engine(f"sqlite:///{db}")
    gov = SimpleNamespace(links_guessed=guessed, on_change=lambda: None)
    try:
        with session_scope(engine) as session:
            audit.append(
                session, actor="ines-coord", kind="test-decision", subject="proposal:1",
                payload={}, charter_version=1, at=NOW,
            )  # fmt: skip
        with session_scope(engine) as session:
            witness = Witness(timedelta(hours=24), "http://127.0.0.1:8080")
            assert witness.tick(gov, session, NOW) == queued  # type: ignore[arg-type]
        with read_scope(engine) as session:
            assert len(witness_store.due_posts(session, NOW + timedelta(days=1))) == queued
    finally:
        engine.dispose()
