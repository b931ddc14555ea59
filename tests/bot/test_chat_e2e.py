"""Chat end to end: Slack through Bolt's real dispatcher into the one service and store.

A Slack user proves their GitHub login with a one-time code posted as a GitHub comment, then
votes from Slack; the vote counts as that login's and shows in the GitHub tracking comment
"via Slack". Until linked, the same user can read but not vote (a claim alone is worthless).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import audit, audit_query, identities
from storage.db import session_scope
from tests.bot.harness import Bot, later, slack_settings, valid_body
from tests.bot.slack.wire import signed_headers, slash_body
from tests.standins.github_server import GitHubStandin
from tests.standins.slack_server import SlackStandIn


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin, slack: SlackStandIn) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github, **slack_settings(slack))
    yield b
    await b.close()


async def _slash(bot: Bot, slack: SlackStandIn, text: str, user: str, name: str) -> str:
    """Run ``/charter <text>`` as Slack user ``user``; returns the text Slack was answered."""
    body = slash_body(text, slack.response_url(name), encoded=True)
    body = re.sub(r"user_id=[^&]*", f"user_id={user}", body)
    response = await bot.http.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200, response.text
    [answer] = await slack.wait_for(f"/response/{name}")
    data = answer.data
    return str(data.get("text", "")) + " " + str(data.get("blocks", ""))


async def test_link_then_vote_from_slack(bot: Bot, slack: SlackStandIn) -> None:
    n = await bot.open_issue("Raise")
    await bot.advance(later(days=7, seconds=1))

    refused = await _slash(bot, slack, f"vote {n} approve", "U0ALICE", "r1")
    assert "not linked" in refused
    forged = await _slash(bot, slack, "whoami", "U0ALICE", "r2")
    assert "not linked" in forged

    answer = await _slash(bot, slack, "link", "U0ALICE", "r3")
    code = re.search(r"charterbot link ([A-Z0-9]{4}-[A-Z0-9]{4})", answer)
    assert code is not None, answer
    await bot.comment(n, f"charterbot link {code.group(1)}", "alice-aurora")
    await bot.settle()
    with session_scope(bot.rt.engine) as session:
        link = identities.lookup(session, "slack", "U0ALICE")
        assert link is not None and link.login == "alice-aurora"

    assert "alice-aurora" in await _slash(bot, slack, "whoami", "U0ALICE", "r4")
    recorded = await _slash(bot, slack, f"vote {n} approve ship it", "U0ALICE", "r5")
    assert "Recorded approve" in recorded
    await bot.settle()
    view = (await bot.http.get(f"/api/proposals/{n}")).json()
    assert [(v["voter"], v["via"]) for v in view["votes"]] == [("alice-aurora", "slack")]
    assert "alice-aurora (via Slack)" in bot.tracking(n)[0].body

    # A second Slack user claiming the same login without proof cannot vote.
    assert "not linked" in await _slash(bot, slack, f"vote {n} reject", "U0MALLORY", "r6")
    with session_scope(bot.rt.engine) as session:
        assert audit.verify(session).ok
        kinds = {e.kind for e in audit_query.entries(session)}
    assert {"identity-linked", "vote-cast", "command-refused"} <= kinds


def test_console_reads_commands_from_stdin(tmp_path: Path, migrated_sqlite_file: Path) -> None:
    """Scripted console: one reply per command line, same rules as chat."""
    shutil.copyfile(migrated_sqlite_file, tmp_path / "c.db")  # the console opens, never creates
    env = {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "PATH": "/usr/bin:/bin"}
    script = "help vote\nwhoami\nproposals\nvote 1 approve\n"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot.cli import main; main()",
            "console",
            "--as",
            "alice-aurora",
        ],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    out = done.stdout
    assert "vote <n> approve|reject|abstain" in out
    assert "You are alice-aurora" in out and "maintainer of Aurora" in out
    assert "No open proposals." in out
    assert "There is no proposal #1." in out


def test_console_without_a_login_says_to_start_it_with_one(
    tmp_path: Path, migrated_sqlite_file: Path
) -> None:
    """In the console the way to act is ``--as LOGIN`` (``/charter link`` is for chat users):
    ``whoami`` says so, and so does a refusal for not being linked."""
    from typer.testing import CliRunner

    from bot.cli import app

    shutil.copyfile(migrated_sqlite_file, tmp_path / "c.db")
    env = {"CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"}
    script = 'whoami\nflag fast-sync on "why"\n'
    result = CliRunner().invoke(app, ["console"], env=env, input=script)
    assert result.exit_code == 0, result.output
    whoami, refused = result.stdout.strip().split("\n\n")
    assert whoami == (
        "You are not linked to a GitHub login, so you can read but not act. Start the console"
        " with `--as LOGIN` to act as a GitHub login."
    )
    assert (
        refused.splitlines()[-1] == "Start the console with `--as LOGIN` to act as a GitHub login."
    )


async def test_confidential_proposal_is_visible_to_its_electorate_only(bot: Bot) -> None:
    """A security patch before disclosure: maintainers (seats) and the council see and vote on
    it; a linked contributor without a seat is told it does not exist; the API hides it."""
    from bot.messages import Actor, plain_text

    body = valid_body(**{"protocol-change": "security-patch"})
    n = await bot.open_issue("Fix", body, "kofi-sec")
    await bot.advance(later(seconds=1))  # review: 0d
    maintainer = Actor("carmen-borealis", "console", "carmen-borealis")
    outsider = Actor("mallory", "console", "mallory")
    assert "Recorded approve" in plain_text(bot.gov.run_sync(f"vote {n} approve", maintainer))
    assert "Recorded reject" in plain_text(
        bot.gov.run_sync(f"vote {n} reject", Actor("lena-sec", "console", "l"))
    )
    assert f"There is no proposal #{n}." in plain_text(bot.gov.run_sync(f"show {n}", outsider))
    assert (await bot.http.get(f"/api/proposals/{n}")).status_code == 404
