"""``charterbot serve --demo`` (what ``make run`` starts) seeds a fresh database through the
real path: webhook deliveries stored in the inbox and console commands, never table writes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlmodel import select

from bot.bootstrap import build
from bot.demo import seed_if_empty
from bot.settings import Settings
from storage import audit, audit_query, inbox, state
from storage.db import session_scope
from storage.models.core import InboxRow

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CHARTERBOT_DATABASE_URL": url, "CHARTERBOT_LOG_FORMAT": "json"}
    env.pop("CHARTERBOT_CHARTER", None)
    env.pop("CHARTERBOT_PUBLIC_URL", None)
    charterbot = Path(sys.executable).parent / "charterbot"  # the installed entry point
    command = [str(charterbot), "serve", "--demo", "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE)


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("charterbot serve --demo did not become ready in 60 s")


def test_serve_demo_seeds_a_fresh_database_through_the_real_path(tmp_path: Path) -> None:
    """The served dashboard is populated and marked as demo; the log holds webhook-driven
    proposal-opened entries and votes from GitHub comments and the console, and verifies;
    the deliveries sit processed in the inbox; a second start does not seed again."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    port = _free_port()
    proc = _serve(url, port)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc)
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200
        assert "Demo data" in page.text and "Raise the blob target" in page.text
        # No public URL set: links name the port the server was started on, not the default.
        feed = httpx.get(f"http://127.0.0.1:{port}/feeds/announcements.atom", timeout=10).text
        assert f"http://127.0.0.1:{port}/" in feed and ":8080" not in feed
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
    # Webhook mode (the default) without a secret: every delivery would be refused; said once.
    assert err.decode().count("CHARTERBOT_GITHUB_WEBHOOK_SECRET is not set") == 1
    logs = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert any(entry.get("delivery_id", "").startswith("github:demo-") for entry in logs)

    rt = build(Settings(database_url=url))
    try:
        with session_scope(rt.engine) as session:
            assert state.get(session, "demo") is True
            opened = [e.actor for e in audit_query.entries(session, kind="proposal-opened")]
            vias = {
                json.loads(e.payload)["via"] for e in audit_query.entries(session, kind="vote-cast")
            }
            rows = [(r.source, r.processed_at) for r in session.exec(select(InboxRow)).all()]
            assert audit.verify(session).ok
            assert inbox.counts(session)["total"] == len(rows)
        assert len(opened) == 10 and "alice-aurora" in opened  # the issue authors
        assert vias >= {"github", "console"}
        assert len(rows) >= 30 and all(source == "github" for source, _ in rows)
        assert all(processed is not None for _, processed in rows)
        assert seed_if_empty(rt) is False  # not a fresh database any more
    finally:
        rt.engine.dispose()
