"""``charterbot audit …``: verify, show and export the hash-chained audit log.

- ``verify`` prints ``ok: N entries, head <seq> <hex>`` and exits 0, or names the first bad
  entry and why and exits 1. ``--expected-head`` (or ``--head``; HEX or SEQ:HEX, as printed by
  ``audit head``) also catches truncation and rewritten tails against a head published
  elsewhere; an empty one is a usage error (exit 2), never a run without the anchor.
- ``head`` prints ``<seq> <hex>`` (publish it somewhere the database owner cannot edit); for an
  empty log it prints nothing and exits 0, so a cron job publishing non-empty output never
  publishes something that is not a head. ``--witnessed`` prints the head last posted to
  GitHub instead (bot.audit_witness), then ``posted <when> <link>``; nothing if none was.
- ``export --out FILE.jsonl`` writes the log for ``python -m storage.verify_export FILE.jsonl``,
  replacing FILE only once the export is complete.
Progress bars go to stderr, only on a terminal or for logs over 10,000 entries.
Exit code 2: the database cannot be used (bad URL, unreachable, never migrated).
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from sqlalchemy import Engine
from sqlmodel import Session

from bot.cli.db_cmd import DatabaseUrl, open_engine
from storage import audit, audit_witness, migrate
from storage.db import read_scope
from storage.verify_export import parse_head

PROGRESS_THRESHOLD = 10_000
_T = TypeVar("_T")

audit_app = typer.Typer(name="audit", help="The hash-chained audit log.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


@contextmanager
def _reader(url: str | None) -> Iterator[tuple[Engine, Session]]:
    with open_engine(url) as engine:
        if migrate.current_revision(engine) is None:
            typer.echo("error: the database has no schema; run `charterbot db upgrade`", err=True)
            raise typer.Exit(2)
        with read_scope(engine) as session:
            yield engine, session


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress callback drawing on stderr, or None when a bar would only be noise."""
    if not (sys.stderr.isatty() or total > PROGRESS_THRESHOLD):
        yield None
        return
    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


@audit_app.command("verify")
def verify(
    database_url: DatabaseUrl = None,
    expected_head: Annotated[
        str | None,
        typer.Option(
            "--expected-head",
            "--head",
            help="A published head, HEX or SEQ:HEX; the log must contain it. --head is the same"
            " option (the standalone verifier's name). An empty value is an error, never 'no"
            " head'.",
        ),
    ] = None,
) -> None:
    """Recompute the whole chain and check every stored column against the hashed bytes."""
    try:
        # `is not None`: an empty head (a failed fetch in `--expected-head "$(curl …)"`) must
        # not quietly verify without the anchor; parse_head refuses it.
        anchor = parse_head(expected_head) if expected_head is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--expected-head") from None
    with _reader(database_url) as (_, session), _progress("verify", audit.size(session)) as tick:
        result = audit.verify(session, expected_head=anchor, progress=tick)
    if result.ok:
        typer.echo(f"ok: {result.count} entries, head {result.head_seq} {result.head_hash}")
        return
    where = f"first bad entry: {result.first_bad_seq}"
    if result.first_bad_seq is None:
        where = "no single bad entry"
    typer.echo(f"FAILED ({where}): {result.reason}")
    raise typer.Exit(1)


@audit_app.command("head")
def head(
    database_url: DatabaseUrl = None,
    witnessed: Annotated[
        bool,
        typer.Option(
            "--witnessed",
            help="The head last posted to GitHub instead, then when and where it was posted.",
        ),
    ] = False,
) -> None:
    """Print the newest entry as SEQ HEX; an empty log prints nothing (exit 0)."""
    with _reader(database_url) as (_, session):
        top = audit.head(session)
        posted = audit_witness.last_posted(session) if witnessed else None
    if witnessed:
        if posted is not None:
            typer.echo(f"{posted.seq} {posted.hash}")
            when = posted.posted_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            typer.echo(f"posted {when} {posted.comment_url}")
    elif top is not None:
        typer.echo(f"{top[0]} {top[1]}")


@audit_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="Where to write the JSONL export.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Write the log as JSON Lines, verifiable with: python -m storage.verify_export FILE.

    The file is replaced only once the whole export is written: a failed export leaves the
    previous one as it was."""
    with _reader(database_url) as (_, session), _progress("export", audit.size(session)) as tick:
        try:
            seq, digest = _write_replacing(
                out, lambda handle: audit.export(session, handle, progress=tick)
            )
        except OSError as exc:
            typer.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
    typer.echo(f"exported {seq} entries to {out}, head {seq} {digest}")


def _write_replacing(out: Path, write: Callable[[TextIO], _T]) -> _T:
    """``write`` to a new file beside ``out`` (symlinks followed), flushed to disk, that then
    takes ``out``'s place in one rename; on any failure the new file is removed and ``out`` is
    left untouched. A partial export must never stand in for a whole one: it could even verify,
    with fewer entries. Something that is not a regular file (``/dev/stdout``, a pipe) is
    written in place, as there is nothing to replace."""
    if out.exists() and not out.is_file():
        with out.open("w", encoding="utf-8") as handle:
            return write(handle)
    target = Path(os.path.realpath(out))
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never write through someone else's file; 0o666 less the umask, as open() gives.
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "w", encoding="utf-8") as handle:
            result = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)
    return result


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every platform opens directories)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
