"""`charterbot meetings list`: one start column when local time is UTC (the charter's zone, or
``--tz UTC``), which would only repeat the UTC column; two otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.charter_file import example_charter_path
from bot.cli import meetings_cmd

app = typer.Typer()
meetings_cmd.register(app)


REST = "\tlength\ttitle\tkey zone\tkey"


@pytest.mark.parametrize(
    ("tz", "head"),
    [
        ((), "start (UTC)" + REST),  # the example charter's zone is UTC
        (("--tz", "UTC"), "start (UTC)" + REST),
        (("--tz", "Etc/UTC"), "start (UTC)" + REST),
        (("--tz", "Europe/Berlin"), "start (UTC)\tstart (Europe/Berlin)" + REST),
    ],
)
def test_local_times_in_utc_are_not_a_second_column(
    tmp_path: Path, tz: tuple[str, ...], head: str
) -> None:
    args = ["meetings", "list", "--next", "2", "--charter", str(example_charter_path())]
    url = f"sqlite:///{tmp_path / 'none.db'}"
    result = CliRunner().invoke(app, [*args, *tz, "--database-url", url])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == head
    columns = head.count("\t") + 1
    assert len(lines) == 3 and all(line.count("\t") + 1 == columns for line in lines[1:])
