"""An amended charter takes effect for proposals opened after it (the reference charter's
charter-amendment track), across a restart with the new file.

Version 4 lengthens protocol-change voting from 5 to 10 days and lowers its quorum and approval
from every client to 0.6. A proposal opened under v3 keeps v3's rules to its decision; one
opened after the restart follows v4. The store keeps each version's text, so this survives any
number of restarts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.charter_adoption import CharterVersionLowered
from bot.clock import FixedClock
from storage import audit_query, charters
from storage.db import make_engine, read_scope, session_scope
from tests.bot.harness import Bot, later, valid_body
from tests.paths import SHARED
from tests.standins.github_server import GitHubStandin

CLIENTS = ("alice-aurora", "carmen-borealis", "emeka-cirrus", "fatima-dorado")  # 4 of 5
AMENDMENTS = {
    "  version: 3 ": "  version: 4 ",
    "    voting: 5d ": "    voting: 10d",
    "    quorum: 1.0 ": "    quorum: 0.6 ",
    "    approval: 1.0 ": "    approval: 0.6 ",
    "coordinators: [ines-coord, jonas-coord]": "coordinators: [ines-coord, petra-coord]",
}


def _write(tmp_path: Path, name: str, changes: dict[str, str]) -> Path:
    text = (SHARED / "charter" / "reference-charter.yaml").read_text()
    for old, new in changes.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


async def _view(bot: Bot, n: int) -> dict[str, Any]:
    view: dict[str, Any] = (await bot.http.get(f"/api/proposals/{n}")).json()
    return view


def _closes(view: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(view["deadlines"]["voting_closes"])


def _audited_versions(bot: Bot, n: int, kind: str) -> list[int]:
    """The charter_version column of the audit entries of ``kind`` about proposal ``n``."""
    with read_scope(bot.rt.engine) as session:
        entries = audit_query.entries(session, subject=f"proposal:{n}", kind=kind)
        return [e.charter_version for e in entries]


async def test_proposals_keep_the_version_they_were_opened_under(
    sqlite_url: str, github: GitHubStandin, tmp_path: Path
) -> None:
    github.reset()
    clock = FixedClock(datetime.fromisoformat("2026-11-27T12:00:00+00:00"))
    bot = Bot(sqlite_url, github, clock)
    github.store.now = clock.now()
    old = await bot.open_voting("Opened under v3")
    for login in CLIENTS:
        await bot.comment(old, "/vote approve", login)
    await bot.settle()
    assert _closes(await _view(bot, old)) - clock.now() == timedelta(days=5)
    other = github.store.add_issue(
        "Also opened under v3", valid_body(), "alice-aurora", ("upgrade-proposal",)
    ).number
    opened = bot.issue_payload("opened", other, valid_body(), title="Also opened under v3")
    assert (await bot.post("issues", opened)).status_code == 202
    await bot.settle()
    await bot.close()

    bot = Bot(sqlite_url, github, clock, charter=str(_write(tmp_path, "v4.yaml", AMENDMENTS)))
    assert bot.gov.charter.version == 4
    view = await _view(bot, old)
    assert view["charter_version"] == 3
    assert _closes(view) - datetime.fromisoformat(view["deadlines"]["voting_opens"]) == timedelta(
        days=5
    )
    # Roles are the running charter's: a coordinator added by v4 may withdraw a v3 proposal.
    await bot.comment(other, "/withdraw", "petra-coord")
    await bot.settle()
    view_other = await _view(bot, other)
    assert (view_other["state"], view_other["charter_version"]) == ("withdrawn", 3)
    new = await bot.open_voting("Opened under v4")
    for login in CLIENTS:
        await bot.comment(new, "/vote approve", login)
    await bot.settle()
    new_view = await _view(bot, new)
    assert new_view["charter_version"] == 4
    assert _closes(new_view) - datetime.fromisoformat(
        new_view["deadlines"]["voting_opens"]
    ) == timedelta(days=10)

    await bot.advance(_closes(view) - clock.now() + later(seconds=1))
    view = await _view(bot, old)
    assert view["state"] == "expired"  # v3: every client must vote, four did
    assert view["decision"]["charter_version"] == 3
    assert (await _view(bot, new))["state"] == "voting"  # v4: ten days

    await bot.advance(_closes(new_view) - clock.now() + later(seconds=1))
    new_view = await _view(bot, new)
    assert new_view["state"] == "accepted"  # v4: quorum and approval 0.6 of five seats
    assert new_view["decision"]["charter_version"] == 4
    with read_scope(bot.rt.engine) as session:
        assert set(charters.version_texts(session)) == {3, 4}
    # The hash-chained entries record the version that decided, as their payloads do.
    assert _audited_versions(bot, old, "proposal-decided") == [3]
    assert _audited_versions(bot, other, "proposal-withdrawn") == [3]
    assert _audited_versions(bot, new, "proposal-decided") == [4]
    await bot.close()


async def test_open_proposals_under_a_version_never_kept_are_named_at_start(
    sqlite_url: str, github: GitHubStandin, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database from before texts were kept, amended on upgrade: the open proposals that
    now follow the running charter are named in a warning."""
    github.reset()
    bot = Bot(sqlite_url, github)
    n = await bot.open_voting()
    with session_scope(bot.rt.engine) as session:
        session.execute(text("DELETE FROM charter_text"))
    await bot.close()
    with caplog.at_level(logging.WARNING, logger="charterbot"):
        bot = Bot(sqlite_url, github, charter=str(_write(tmp_path, "v4.yaml", AMENDMENTS)))
    await bot.close()
    [warning] = [r.getMessage() for r in caplog.records if "never kept" in r.getMessage()]
    assert (
        warning == f"the text of charter version(s) 3 was never kept: open proposals #{n} follow v4"
    )


async def test_changed_content_without_a_version_bump_is_logged(
    sqlite_url: str, github: GitHubStandin, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    github.reset()
    bot = Bot(sqlite_url, github)
    await bot.close()
    same_version = {"    voting: 5d ": "    voting: 6d "}
    with caplog.at_level(logging.WARNING, logger="charterbot"):
        bot = Bot(sqlite_url, github, charter=str(_write(tmp_path, "v3b.yaml", same_version)))
    await bot.close()
    [warning] = [r.getMessage() for r in caplog.records if "was not raised" in r.getMessage()]
    assert "version (3) was not raised above 3" in warning


async def test_a_lower_version_is_refused_at_start(
    sqlite_url: str, github: GitHubStandin, tmp_path: Path
) -> None:
    """Going back below the version adopted last would reuse version numbers proposals were
    decided under: the start is refused, naming the file and both versions."""
    github.reset()
    bot = Bot(sqlite_url, github, charter=str(_write(tmp_path, "v4.yaml", AMENDMENTS)))
    await bot.close()
    older = _write(tmp_path, "v3.yaml", {})
    with pytest.raises(CharterVersionLowered) as refused:
        Bot(sqlite_url, github, charter=str(older))
    assert str(refused.value).startswith(
        f"the charter {older} is version 3, lower than version 4 adopted before"
    )
    engine = make_engine(sqlite_url)
    try:
        with read_scope(engine) as session:
            assert charters.adopted_version(session) == 4  # nothing of v3 was recorded
    finally:
        engine.dispose()
