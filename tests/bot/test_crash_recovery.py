"""A crash after the 202 loses nothing; SIGTERM stops the server cleanly.

The first server runs as a standby (this test holds the leader lock on the SQLite database), so
it stores and acknowledges the delivery but cannot process it; it is then killed with SIGKILL.
The second server, now the leader, processes the stored delivery at start.
"""

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
import pytest

from bot.leader import FileLeadership
from storage import inbox
from storage.db import make_engine, session_scope
from tests.bot.harness import REPO, fixture, sign, valid_body

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CHARTERBOT_DATABASE_URL": f"sqlite:///{db}",
        "CHARTERBOT_GITHUB_WEBHOOK_SECRET": "s3cret",
        "CHARTERBOT_HTTP_PORT": str(port),
        "CHARTERBOT_TICK_SECONDS": "0.2",
    }
    for key in ("CHARTERBOT_GITHUB_TOKEN", "DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        env.pop(key, None)
    cmd = [sys.executable, "-c", "from bot.cli import main; main()", "serve"]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def test_kill_9_right_after_202_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    port = _free_port()
    payload = fixture("issues/opened.payload.json")
    payload["repository"]["full_name"] = REPO
    payload["issue"].update(number=5, body=valid_body(), title="Raise the gas target")
    payload["issue"]["labels"] = [{"name": "upgrade-proposal"}]
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "crash-1",
        "X-Hub-Signature-256": sign(body, "s3cret"),
    }

    engine = make_engine(f"sqlite:///{db}")
    from storage.migrate import upgrade

    upgrade(engine)
    held = FileLeadership(db.resolve())
    assert held.try_acquire()
    first = _serve(db, port, tmp_path / "first.log")
    try:
        _wait_ready(port, first, tmp_path / "first.log")
        response = httpx.post(
            f"http://127.0.0.1:{port}/github/webhook", content=body, headers=headers
        )
        assert response.status_code == 202
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
        held.release()
    with session_scope(engine) as session:
        assert inbox.counts(session) == {"total": 1, "pending": 1}

    second = _serve(db, port, tmp_path / "second.log")
    try:
        _wait_ready(port, second, tmp_path / "second.log")
        deadline = time.monotonic() + 20
        state = None
        while time.monotonic() < deadline:
            got = httpx.get(f"http://127.0.0.1:{port}/api/proposals/5")
            if got.status_code == 200:
                state = got.json()["state"]
                break
            time.sleep(0.2)
        assert state == "review"
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0, (tmp_path / "second.log").read_text()
    finally:
        if second.poll() is None:
            second.kill()
    with session_scope(engine) as session:
        assert inbox.counts(session) == {"total": 1, "pending": 0}
    engine.dispose()
