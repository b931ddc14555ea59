"""The console follows the charter the database follows: given another one it refuses to start
(naming both charters and how to go on) unless ``--adopt`` asks it to adopt it; a fresh database
adopts the console's charter. ``--as`` a login the charter does not name is warned about."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.charter_file import example_charter_path
from bot.cli import app
from storage import audit_query
from storage.db import make_engine, read_scope
from tests.paths import reference_charter_text

# The reviewer's v3: the reference charter with feature-flag authors barred from voting.
BARRED = reference_charter_text().replace(
    "    lazy_consensus: 5d ", "    author_may_vote: false\n    lazy_consensus: 5d ", 1
)
assert reference_charter_text() != BARRED


def _console(
    args: list[str], db: Path, charter: Path | None = None, stdin: str = "whoami\n"
) -> tuple[int, str, str]:
    env = {
        "CHARTERBOT_DATABASE_URL": f"sqlite:///{db}",
        "CHARTERBOT_CHARTER": str(charter) if charter else None,
    }
    result = CliRunner().invoke(app, ["console", *args], env=env, input=stdin)
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


def _adoptions(db: Path) -> list[str]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with read_scope(engine) as session:
            found = audit_query.entries(session, kind="charter-adopted")  # newest first
            return [json.loads(e.payload)["sha256"] for e in found]
    finally:
        engine.dispose()


@pytest.fixture
def db(tmp_path: Path, migrated_sqlite_file: Path) -> Path:
    """A database that adopted the barred charter (as the server started with it would)."""
    path = tmp_path / "y.db"
    shutil.copyfile(migrated_sqlite_file, path)
    (tmp_path / "v3.yaml").write_text(BARRED, encoding="utf-8")
    code, _, err = _console(["--as", "ines-coord"], path, tmp_path / "v3.yaml")
    assert code == 0, err  # a fresh database adopts the console's charter
    assert len(_adoptions(path)) == 1
    return path


def test_the_console_refuses_a_charter_other_than_the_databases(db: Path, tmp_path: Path) -> None:
    code, out, err = _console(["--as", "ines-coord"], db, stdin="proposals\n")
    assert code == 2 and out == ""
    assert err.startswith(
        f"error: the database follows charter v3 (sha256 {_sha(BARRED)}…, adopted from"
        f" {tmp_path}/v3.yaml), but the console was given charter v3 (sha256"
        f" {_sha(example_charter_path().read_text('utf-8'))}…, {example_charter_path()}, the"
        " bundled example, used when CHARTERBOT_CHARTER is not set): the console does not"
        " change the rules a database follows. Set CHARTERBOT_CHARTER (or --charter) to the"
        " charter the database follows; or, to adopt this charter on purpose"
    )
    assert err.rstrip().endswith("or run `charterbot console --adopt`")
    assert len(_adoptions(db)) == 1  # nothing adopted, however often it is tried
    assert _console(["--as", "ines-coord"], db)[0] == 2
    assert len(_adoptions(db)) == 1


def test_the_console_runs_on_the_databases_own_charter(db: Path, tmp_path: Path) -> None:
    code, out, err = _console(["--as", "ines-coord"], db, tmp_path / "v3.yaml")
    assert (code, err) == (0, "")
    assert "You are ines-coord" in out
    assert len(_adoptions(db)) == 1


def test_adopt_asks_the_console_to_adopt_the_charter_given(db: Path) -> None:
    code, _, err = _console(["--as", "ines-coord", "--adopt"], db)
    assert code == 0, err
    example = example_charter_path().read_text("utf-8")
    assert _adoptions(db) == [_sha(example, 64), _sha(BARRED, 64)]
    assert _console(["--as", "ines-coord"], db)[0] == 0  # now the database's charter


def _sha(text: str, length: int = 12) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


@pytest.mark.parametrize(
    ("login", "warning"),
    [
        (
            "alice-auroa",
            "warning: alice-auroa is not a login in the charter (no client maintainer or role"
            " member): the console acts as a contributor, who holds no seat and may not vote;"
            " did you mean alice-aurora?\n",
        ),
        (
            "zed",
            "warning: zed is not a login in the charter (no client maintainer or role member):"
            " the console acts as a contributor, who holds no seat and may not vote\n",
        ),
        ("Alice-Aurora", ""),  # logins compare case-insensitively
        ("kofi-sec", ""),  # a role member
    ],
)
def test_a_login_the_charter_does_not_name_is_warned_about(
    tmp_path: Path, migrated_sqlite_file: Path, login: str, warning: str
) -> None:
    shutil.copyfile(migrated_sqlite_file, tmp_path / "c.db")
    code, out, err = _console(["--as", login], tmp_path / "c.db")
    assert (code, err) == (0, warning)
    assert f"You are {login}" in out
