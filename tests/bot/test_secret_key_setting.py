"""``CHARTERBOT_SECRET_KEY`` reaches the signed links through the settings (so ``.env`` and
``Settings(secret_key=…)`` count), never by reading ``os.environ`` on the side."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import subscribe_tokens
from bot.bootstrap import build
from bot.settings import Settings
from storage.db import make_engine, read_scope, reader, session_scope

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHARTERBOT_SECRET_KEY", raising=False)


def test_the_runtime_signs_with_its_settings_key(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key the runtime was built with wins over the environment it happens to run in."""
    monkeypatch.setenv("CHARTERBOT_SECRET_KEY", "from-the-environment")
    rt = build(Settings(database_url=sqlite_url, secret_key="from-settings"))
    try:
        with session_scope(rt.engine) as session:
            assert subscribe_tokens.secret_key(session, NOW) == b"from-settings"
        with read_scope(rt.engine) as session:  # an engine with options: the same key
            assert subscribe_tokens.secret_key(session, NOW) == b"from-settings"
    finally:
        rt.engine.dispose()


def test_without_a_configured_key_the_runtime_keeps_one(sqlite_url: str) -> None:
    rt = build(Settings(database_url=sqlite_url))
    try:
        with session_scope(rt.engine) as session:
            first = subscribe_tokens.secret_key(session, NOW)
        with session_scope(rt.engine) as session:
            assert subscribe_tokens.secret_key(session, NOW) == first
        assert len(first) == 64
    finally:
        rt.engine.dispose()


def test_a_process_without_a_runtime_reads_the_key_from_dotenv(
    tmp_path: Path, sqlite_url: str
) -> None:
    """``python -m bot.relay`` builds no runtime: it reads the key as every entry point reads
    settings, ``.env`` included."""
    (tmp_path / ".env").write_text("CHARTERBOT_SECRET_KEY=from-dotenv\n", encoding="utf-8")
    rt = build(Settings(database_url=sqlite_url))  # migrates; its own engine has no key
    rt.engine.dispose()
    engine = make_engine(sqlite_url)
    try:
        with session_scope(engine) as session:
            assert subscribe_tokens.secret_key(session, NOW) == b"from-dotenv"
        with session_scope(reader(engine)) as session:
            assert subscribe_tokens.secret_key(session, NOW) == b"from-dotenv"
    finally:
        engine.dispose()
