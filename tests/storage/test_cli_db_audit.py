"""`charterbot db …` and `charterbot audit …` from the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli import audit_cmd, db_cmd
from storage import migrate
from storage.db import make_engine, missing_sqlite_file
from storage.verify_export import verify_file
from tests.storage.audit_fixtures import fill

HEAD_LINE = re.compile(r"ok: 5 entries, head 5 ([0-9a-f]{64})\n")


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    db_cmd.register(app)
    audit_cmd.register(app)
    return app


def _run(cli: typer.Typer, *args: str, url: str | None = None) -> tuple[int, str, str]:
    env = {"CHARTERBOT_DATABASE_URL": url} if url else {}
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_and_current(cli: typer.Typer, engine_url: str) -> None:
    """`db upgrade` migrates an empty database (URL from the environment), then is a no-op."""
    head = migrate.head_revision()
    missing = missing_sqlite_file(engine_url)
    before = (
        f"empty database; run `charterbot db upgrade` to reach {head}\n"
        if missing is None
        else f"no database at {missing} yet; `charterbot db upgrade` creates it at {head}\n"
    )
    assert _run(cli, "db", "current", url=engine_url)[:2] == (0, before)
    assert _run(cli, "db", "upgrade", url=engine_url)[:2] == (
        0,
        f"upgraded from an empty database to {head}\n",
    )
    assert _run(cli, "db", "upgrade", url=engine_url)[1] == f"already up to date at {head}\n"
    assert _run(cli, "db", "current", url=engine_url)[1] == f"{head} (up to date)\n"


def test_database_url_option_wins(cli: typer.Typer, sqlite_url: str, tmp_path: Path) -> None:
    """--database-url overrides $CHARTERBOT_DATABASE_URL."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert _run(cli, "db", "upgrade", "--database-url", other, url=sqlite_url)[0] == 0
    engine = make_engine(sqlite_url)
    try:
        assert migrate.current_revision(engine) is None
    finally:
        engine.dispose()


def test_audit_verify_head_export(engine: Engine, cli: typer.Typer, tmp_path: Path) -> None:
    """verify prints the head; head prints SEQ HEX; export writes a file the verifier accepts."""
    url = engine.url.render_as_string(hide_password=False)
    fill(engine, 5)
    code, out, _ = _run(cli, "audit", "verify", url=url)
    match = HEAD_LINE.fullmatch(out)
    assert code == 0, out
    assert match is not None, out
    digest = match.group(1)
    assert _run(cli, "audit", "head", url=url)[:2] == (0, f"5 {digest}\n")
    anchored = _run(cli, "audit", "verify", "--expected-head", f"5:{digest}", url=url)
    assert anchored[:2] == (0, out)

    export = tmp_path / "audit.jsonl"
    code, out, _ = _run(cli, "audit", "export", "--out", str(export), url=url)
    assert (code, out) == (0, f"exported 5 entries to {export}, head 5 {digest}\n")
    assert verify_file(str(export)) == (5, digest)


def test_audit_verify_fails_against_a_later_published_head(
    sqlite_engine: Engine, cli: typer.Typer
) -> None:
    """A published head beyond the log's end means truncation: exit 1, first missing entry."""
    url = str(sqlite_engine.url)
    fill(sqlite_engine, 2)
    code, out, _ = _run(cli, "audit", "verify", "--expected-head", f"4:{'ab' * 32}", url=url)
    assert code == 1
    assert out.startswith("FAILED (first bad entry: 3): entry 3 missing: the log ends at entry 2")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("audit", "verify"), 2, "run `charterbot db upgrade`"),
        (("audit", "head"), 2, "run `charterbot db upgrade`"),
        (("audit", "verify", "--expected-head", "xyz"), 2, "64 hex digits"),
        (("db", "current", "--database-url", "mysql://x/y"), 2, "unsupported database URL"),
    ],
)
def test_unusable_databases_and_arguments_exit_2(
    cli: typer.Typer, sqlite_url: str, args: tuple[str, ...], code: int, message: str
) -> None:
    """Problems that are not a verdict on the log exit 2 with an actionable message."""
    Path(sqlite_url.removeprefix("sqlite:///")).touch()  # there, but never migrated
    result = _run(cli, *args, url=sqlite_url)
    assert result[0] == code
    assert message in result[2]


@pytest.mark.parametrize(
    "args",
    [("audit", "verify"), ("audit", "head"), ("audit", "export", "--out", "log.jsonl")],
)
def test_a_missing_sqlite_file_is_named_and_not_created(
    cli: typer.Typer, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Reading commands on a SQLite file that does not exist say where they looked and how to
    create it, instead of leaving an empty file behind and complaining about its schema."""
    path = tmp_path / "nowhere" / "charterbot.db"
    code, _, err = _run(cli, *args, url=f"sqlite:///{path}")
    assert code == 2
    assert f"no database at {path}" in err and "charterbot db upgrade" in err
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize(
    ("url", "missing"),
    [
        ("sqlite:///{tmp}/absent.db", "{tmp}/absent.db"),
        ("sqlite:///{tmp}/present.db", None),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("postgresql://postgres@127.0.0.1:5432/test", None),
    ],
)
def test_missing_sqlite_file(tmp_path: Path, url: str, missing: str | None) -> None:
    (tmp_path / "present.db").touch()
    found = missing_sqlite_file(url.format(tmp=tmp_path))
    assert found == (None if missing is None else Path(missing.format(tmp=tmp_path)))


def test_empty_log(cli: typer.Typer, sqlite_engine: Engine) -> None:
    """An empty, migrated log verifies; ``head`` prints nothing and exits 0 (as its help says),
    so a cron job that publishes non-empty output never publishes something that is no head."""
    url = str(sqlite_engine.url)
    assert _run(cli, "audit", "verify", url=url)[:2] == (0, f"ok: 0 entries, head 0 {'0' * 64}\n")
    assert _run(cli, "audit", "head", url=url)[:2] == (0, "")
    assert "prints nothing" in _run(cli, "audit", "head", "--help")[1]


@pytest.mark.parametrize(("total", "drawn"), [(10, False), (10_001, True)])
def test_progress_bars_only_for_long_runs(total: int, drawn: bool) -> None:
    """Off a terminal, progress bars appear only for logs over 10,000 entries."""
    with audit_cmd._progress("verify", total) as tick:
        assert (tick is not None) is drawn
        if tick is not None:
            tick(total)
