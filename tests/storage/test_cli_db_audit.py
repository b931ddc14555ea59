"""`charterbot db …` and `charterbot audit …` from the command line."""

from __future__ import annotations

import errno
import os
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import psycopg
import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.cli import audit_cmd, db_cmd
from storage import audit_witness, migrate
from storage.db import make_engine, missing_sqlite_file, read_scope, session_scope
from storage.models.witness import AuditWitnessRow
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


def _flat(text: str) -> str:
    """Typer's error panel wraps and frames its message: compare words only."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize("option", ["--expected-head", "--head"])
@pytest.mark.parametrize("head", ["", "   "])
def test_an_empty_published_head_is_an_error(
    cli: typer.Typer, sqlite_engine: Engine, option: str, head: str
) -> None:
    """`--expected-head "$(curl …)"` after a failed fetch passes ""; verifying without the anchor
    then would pass a truncated log. Exit 2, saying the head given is empty."""
    fill(sqlite_engine, 2)
    code, out, err = _run(cli, "audit", "verify", option, head, url=str(sqlite_engine.url))
    assert (code, out) == (2, "")
    assert "the expected head given is empty" in _flat(err)


def test_head_is_an_alias_of_expected_head(cli: typer.Typer, sqlite_engine: Engine) -> None:
    """`--head`, the standalone verifier's name for it, works the same (and says so in help)."""
    url = str(sqlite_engine.url)
    fill(sqlite_engine, 5)
    digest = _run(cli, "audit", "head", url=url)[1].split()[1]
    code, out, _ = _run(cli, "audit", "verify", "--head", f"5:{digest}", url=url)
    assert (code, out) == (0, f"ok: 5 entries, head 5 {digest}\n")
    code, out, _ = _run(cli, "audit", "verify", "--head", f"7:{digest}", url=url)
    assert code == 1 and "the log was truncated" in out
    assert "--head" in _run(cli, "audit", "verify", "--help")[1]


@pytest.mark.parametrize(
    "args",
    [
        ("audit", "verify"),
        ("audit", "head"),
        ("audit", "export", "--out", "x.jsonl"),
        ("db", "current"),
    ],
)
def test_a_file_that_is_not_a_database_exits_2(
    cli: typer.Typer, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """A file that is no SQLite database is not a tampered log (exit 1): exit 2, with the reason."""
    path = tmp_path / "garbage.db"
    path.write_text("not a database, just some text of a reasonable length to look like a header")
    code, out, err = _run(cli, *args, url=f"sqlite:///{path}")
    assert (code, out) == (2, "")
    assert err == f"error: cannot use the database sqlite:///{path}: file is not a database\n"


class _DiskFull(OSError):
    pass


def test_a_failed_export_leaves_the_previous_one_untouched(
    cli: typer.Typer, sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export is written beside the target and renamed over it only when complete: a failure
    half-way (disk full) keeps the old export whole and leaves no partial file behind."""
    url = str(sqlite_engine.url)
    fill(sqlite_engine, 5)
    out = tmp_path / "exports" / "audit.jsonl"
    out.parent.mkdir()
    assert _run(cli, "audit", "export", "--out", str(out), url=url)[0] == 0
    previous = out.read_bytes()
    real_export = audit_cmd.audit.export

    def fail_half_way(session: object, handle: TextIO, **kwargs: object) -> tuple[int, str]:
        handle.write(previous.decode("utf-8").splitlines(keepends=True)[0])
        handle.flush()
        raise _DiskFull(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(audit_cmd.audit, "export", fail_half_way)
    code, _, err = _run(cli, "audit", "export", "--out", str(out), url=url)
    assert (code, err) == (2, f"error: cannot write {out}: No space left on device\n")
    assert out.read_bytes() == previous
    assert [p.name for p in out.parent.iterdir()] == ["audit.jsonl"]
    assert verify_file(str(out))[0] == 5

    monkeypatch.setattr(audit_cmd.audit, "export", real_export)
    fill(sqlite_engine, 2)  # the log grows to 7 entries
    code, said, _ = _run(cli, "audit", "export", "--out", str(out), url=url)
    assert code == 0 and said.startswith(f"exported 7 entries to {out}")
    assert [p.name for p in out.parent.iterdir()] == ["audit.jsonl"]
    assert verify_file(str(out))[0] == 7


def test_export_into_a_directory_it_cannot_write_exits_2(
    cli: typer.Typer, sqlite_engine: Engine, tmp_path: Path
) -> None:
    fill(sqlite_engine, 1)
    out = tmp_path / "missing-dir" / "audit.jsonl"
    code, _, err = _run(cli, "audit", "export", "--out", str(out), url=str(sqlite_engine.url))
    assert (code, err) == (2, f"error: cannot write {out}: No such file or directory\n")


@pytest.mark.postgres
def test_a_reader_without_select_is_told_the_grant_it_lacks(
    cli: typer.Typer, pg_engine: Engine, pg_server_url: str, tmp_path: Path
) -> None:
    """A read refused for want of a privilege names the grant (SELECT on the table); telling a
    reader to run `db upgrade` as the schema's owner would not help it."""
    fill(pg_engine, 2)
    schema = pg_engine.url.query["application_name"]
    role = f"cb_reader_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(f'GRANT SELECT ON "{schema}".alembic_version TO "{role}"')
    url = pg_engine.url.set(username=role).render_as_string(hide_password=False)
    try:
        for args in (("audit", "verify"), ("audit", "export", "--out", str(tmp_path / "a.jsonl"))):
            code, out, err = _run(cli, *args, url=url)
            assert (code, out) == (2, ""), err
            assert err.startswith(f"error: {role} may not do this (permission denied for table")
            assert "grant it SELECT on table audit_entry" in err
            assert "db upgrade" not in err
        assert list(tmp_path.iterdir()) == []
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


def test_export_to_a_pipe_writes_through_it(
    cli: typer.Typer, sqlite_engine: Engine, tmp_path: Path
) -> None:
    """`--out /dev/stdout` or a named pipe is no file to replace: written in place, as before."""
    fill(sqlite_engine, 3)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()))
    reader.start()
    code, _, err = _run(cli, "audit", "export", "--out", str(pipe), url=str(sqlite_engine.url))
    reader.join(timeout=10)
    assert code == 0, err
    (tmp_path / "got.jsonl").write_bytes(received[0])
    assert verify_file(str(tmp_path / "got.jsonl"))[0] == 3
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


POSTED = datetime(2026, 11, 28, 0, 5, tzinfo=UTC)


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_the_witnessed_head_is_said_in_utc_whatever_the_session_zone(
    cli: typer.Typer, pg_engine: Engine, zone: str
) -> None:
    """On PostgreSQL a timestamptz comes back in the session's TimeZone: the post's time is
    said in UTC (its Z) by `audit head --witnessed`, and in UTC to the dashboard."""
    with session_scope(pg_engine) as session:
        session.add(
            AuditWitnessRow(
                period_start=datetime(2026, 11, 28, tzinfo=UTC),
                seq=7,
                hash="ab" * 32,
                queued_at=POSTED,
                issue_number=3,
                comment_id="99",
                comment_url="https://github.com/o/r/issues/3#issuecomment-99",
                posted_at=POSTED,
            )
        )
    url = pg_engine.url
    zoned = url.update_query_dict({"options": f"{url.query['options']} -cTimeZone={zone}"})
    code, out, err = _run(cli, "audit", "head", "--witnessed", url=zoned.render_as_string(False))
    assert (code, err) == (0, "")
    assert out.splitlines()[1] == (
        "posted 2026-11-28T00:05:00Z https://github.com/o/r/issues/3#issuecomment-99"
    )
    engine = make_engine(zoned.render_as_string(False))
    try:
        with read_scope(engine) as session:
            posted = audit_witness.last_posted(session)
        assert posted is not None and posted.posted_at.utcoffset() == timedelta(0)
    finally:
        engine.dispose()
