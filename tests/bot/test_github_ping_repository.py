"""A webhook added to the wrong repository is flagged at its ping.

Before, GitHub's real ``ping`` payload from Octocoders/Hello-World got ``200 ok`` though the
charter's repository is meridian-net/upgrades, and that hook's later ``issues`` deliveries were
accepted and silently ignored. GitHub shows the ping's answer on the hook's settings page.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator

import pytest

from tests.bot.harness import REPO, Bot, fixture
from tests.standins.github_server import GitHubStandin


@pytest.fixture
async def bot(sqlite_url: str, github: GitHubStandin) -> AsyncIterator[Bot]:
    b = Bot.fresh(sqlite_url, github)
    yield b
    await b.close()


async def test_a_ping_from_another_repository_is_refused_naming_the_right_one(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    ping = fixture("ping/payload.json")
    assert ping["repository"]["full_name"] == "Octocoders/Hello-World"
    with caplog.at_level(logging.WARNING, logger="charterbot.github"):
        answer = await bot.post("ping", ping)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error.startswith("this webhook is on Octocoders/Hello-World, but charterbot reads")
    assert REPO in error and "add the webhook to the charter's repository" in error
    assert any("Octocoders/Hello-World" in r.getMessage() for r in caplog.records)
    assert bot.rt.receiver.stats.rejected == {"wrong-repository": 1}


@pytest.mark.parametrize(
    "repository",
    [REPO, REPO.upper(), "meridian-net/aurora", None],  # charter's, any case; a client's; org hook
)
async def test_a_ping_from_a_repository_read_is_answered(bot: Bot, repository: str | None) -> None:
    ping = copy.deepcopy(fixture("ping/payload.json"))
    if repository is None:
        del ping["repository"]
    else:
        ping["repository"]["full_name"] = repository
    answer = await bot.post("ping", ping)
    assert answer.status_code == 200 and answer.json()["ok"] is True
