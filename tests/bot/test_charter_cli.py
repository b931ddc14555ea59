"""``charterbot charter check|show|schema`` and reading charter files from disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.charter_file import CharterUnreadable, example_charter_path, read_charter
from bot.cli import charter_cmd
from charter.load import CharterInvalid, json_schema
from tests.paths import REFERENCE_CHARTER, REPO, reference_charter_text

OK_LINE = "ok: Meridian network upgrade charter v3 — 5 clients, 4 tracks, 3 stages, 2 meetings\n"


@pytest.fixture
def app() -> typer.Typer:
    """A root app with only the charter commands, so other areas cannot break these tests."""
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """charterbot (test root)."""

    charter_cmd.register(root)
    return root


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "CHARTERBOT_CHARTER": None})


def write(tmp_path: Path, text: str | bytes, name: str = "charter.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def test_check_accepts_the_reference_charter(app: typer.Typer, runner: CliRunner) -> None:
    """A good charter exits 0 with one line naming it and counting what it holds."""
    result = runner.invoke(app, ["charter", "check", str(REFERENCE_CHARTER)])
    assert result.exit_code == 0, result.output
    assert result.stdout == OK_LINE


def test_check_reads_the_charter_named_by_the_environment(
    app: typer.Typer, runner: CliRunner
) -> None:
    """Without FILE, ``check`` reads the charter named by CHARTERBOT_CHARTER, and says so."""
    result = runner.invoke(
        app, ["charter", "check"], env={"CHARTERBOT_CHARTER": str(REFERENCE_CHARTER)}
    )
    said = OK_LINE.replace("\n", f" (from CHARTERBOT_CHARTER: {REFERENCE_CHARTER})\n")
    assert (result.exit_code, result.stdout) == (0, said)


def test_check_prints_every_problem_and_exits_1(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    """A broken charter exits 1 and prints each problem as ``file:line:column: path: message``."""
    text = reference_charter_text()
    text = text.replace("approval: 0.66", "approval: 1.5").replace(
        "  - id: borealis", "  - id: aurora"
    )
    path = write(tmp_path, text)
    result = runner.invoke(app, ["charter", "check", str(path)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:28:9: clients[1].id: duplicate client id 'aurora' (also clients[0])",
        f"{path}:69:15: tracks.feature-flag.approval: approval must be a share between 0 and 1, "
        "got 1.5",
    ]
    assert "2 problems; the charter was not loaded" in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "charter file not found: {path} (pass the path of your charter.yaml, or set "
            "CHARTERBOT_CHARTER)"),
     ("dir", "cannot read charter file {path}: Is a directory")],
)  # fmt: skip
def test_check_explains_a_file_it_cannot_read(
    app: typer.Typer, runner: CliRunner, tmp_path: Path, content: str | None, expected: str
) -> None:
    """A missing or unreadable file exits 1 with the path and what to do, no traceback."""
    path = tmp_path / "charter.yaml"
    if content == "dir":
        path.mkdir()
    result = runner.invoke(app, ["charter", "check", str(path)])
    assert result.exit_code == 1
    assert result.stderr == f"error: {expected.format(path=path)}\n"
    assert result.stdout == ""


def test_a_file_that_is_not_utf8_is_a_problem_at_the_bad_byte(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported at their line and column, not as a crash."""
    path = write(tmp_path, b"charter:\n  name: Caf\xe9\n")
    with pytest.raises(CharterInvalid) as caught:
        read_charter(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:2:12: (yaml): byte 0xe9 is not UTF-8; save the file as UTF-8"
    ]


def test_read_charter_keeps_the_exact_bytes(tmp_path: Path) -> None:
    """The loaded text is the file's text byte for byte (CRLF kept), so the hash is the file's."""
    raw = reference_charter_text().replace("\n", "\r\n").encode("utf-8")
    loaded = read_charter(write(tmp_path, raw))
    assert loaded.text.encode("utf-8") == raw
    assert loaded.charter.version == 3


def test_read_charter_of_a_missing_file_raises_charter_unreadable(tmp_path: Path) -> None:
    """A missing charter raises CharterUnreadable naming the path."""
    with pytest.raises(CharterUnreadable, match="charter file not found"):
        read_charter(tmp_path / "nope.yaml")


def test_example_charter_is_the_reference_charter() -> None:
    """The packaged example is a byte copy of the shared reference charter, and loads."""
    assert example_charter_path() == REPO / "bot" / "examples" / "charter.yaml"
    if not REFERENCE_CHARTER.exists():
        pytest.skip(f"shared reference charter not found at {REFERENCE_CHARTER}")
    assert example_charter_path().read_bytes() == REFERENCE_CHARTER.read_bytes()
    assert read_charter(example_charter_path()).charter.charter.name.startswith("Meridian")


@pytest.mark.parametrize(
    "expected",
    [
        "Meridian network upgrade charter (version 3)",
        "issues in meridian-net/upgrades labelled upgrade-proposal",
        "│ cirrus   │ Cirrus   │ Java",
        "security-council │ kofi-sec, lena-sec, mateo-sec",
        "clients (5) + security-council (3) = 8 seats",
        "clients (5) + coordinators (2) = 7 seats",
        "60% of seats vote",
        "66% of approve + reject",
        "│ lazy consensus │ —",
        "│ 3 │ production │ 14d  │ all-clients │ interop-matrix, differential-fuzz │ sev3 or worse",
        "│ pause           │ an incident of sev1 or worse pauses the rollouts it names",
        "likelihood x impact (each 1..5) above 15 needs an override to advance past staging",
        "│ severities      │ sev1, sev2, sev3 (worst first)",
        "│ incident review │ 5d",
        "│ core-sync     │ Core client sync",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
        "2026-01-08T15:00 │ Europe/Berlin │ 90m",
        "│ council-private │ slack    │ G0COUNCIL01",
        "│ decision        │ core-discord, upgrades-slack, operators-mail",
        "│ no-maintainer-response   │ 3d    │ coordinators",
    ],
)
def test_show_explains_the_charter_in_tables(
    app: typer.Typer, runner: CliRunner, expected: str
) -> None:
    """``show`` lays out clients, roles, tracks with seat counts, stages, meetings and routing."""
    result = runner.invoke(app, ["charter", "show", str(REFERENCE_CHARTER)])
    assert result.exit_code == 0, result.output
    assert expected in result.stdout


def test_show_of_a_minimal_charter_marks_unset_values(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    """Optional rules left out show as — and a missing risk limit is said in words."""
    text = (
        "charter: {name: Tiny, version: 1}\n"
        "github: {repository: o/r}\n"
        "clients: [{id: a, name: A}]\n"
        "tracks: {t: {review: 90s, voting: 1d, electorate: [clients], quorum: 1, approval: 1}}\n"
        "rollout: {stages: [{id: only}]}\n"
    )
    result = runner.invoke(app, ["charter", "show", str(write(tmp_path, text))])
    assert result.exit_code == 0, result.output
    for rule in ("│ pause           │ —", "│ risk limit      │ —", "│ overrides       │ nobody"):
        assert rule in result.stdout
    assert "│ review         │ 90s" in result.stdout
    assert "│ 1 │ only  │ —" in result.stdout


def test_show_lists_a_stage_s_required_rollback_drill(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    """A stage's ``require_drill`` shows in the stage table as its gate asks it."""
    text = (
        "charter: {name: Tiny, version: 1}\n"
        "github: {repository: o/r}\n"
        "clients: [{id: a, name: A}]\n"
        "tracks: {t: {review: 1d, voting: 1d, electorate: [clients], quorum: 1, approval: 1}}\n"
        "rollout: {stages: [{id: canary}, {id: production,"
        " require_drill: {stage: canary, recover_within: 30m}}]}\n"
    )
    result = runner.invoke(app, ["charter", "show", str(write(tmp_path, text))])
    assert result.exit_code == 0, result.output
    rows = {
        cells[1]: cells[-1]
        for line in result.stdout.replace("┃", "│").splitlines()
        if len(cells := [c.strip() for c in line.strip().strip("│").split("│")]) == 8
    }
    assert rows == {"stage": "drill", "canary": "—", "production": "drill on canary within 30m"}


def test_show_says_whether_a_tracks_author_may_vote(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    """``author_may_vote: false`` is a row of the tracks table, beside the tracks that allow it."""
    text = reference_charter_text().replace(
        "    lazy_consensus: 5d ", "    author_may_vote: false\n    lazy_consensus: 5d ", 1
    )
    result = runner.invoke(app, ["charter", "show", str(write(tmp_path, text))])
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if "author votes" in line]
    cells = [c.strip() for c in row.strip().strip("│").split("│")]
    assert cells == ["author votes", "yes", "no: author_may_vote false", "yes", "yes"]


def test_show_of_a_broken_charter_prints_problems(
    app: typer.Typer, runner: CliRunner, tmp_path: Path
) -> None:
    """``show`` refuses a broken charter the way ``check`` does."""
    result = runner.invoke(app, ["charter", "show", str(write(tmp_path, "charter: [\n"))])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{tmp_path / 'charter.yaml'}:2:1: (yaml): ")
    assert "1 problem;" in result.stderr


def test_schema_prints_the_json_schema(app: typer.Typer, runner: CliRunner) -> None:
    """``schema`` prints the generated JSON Schema, which is what the committed file holds."""
    result = runner.invoke(app, ["charter", "schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json_schema()
    committed = (REPO / "charter" / "schema" / "charter.schema.json").read_text("utf-8")
    assert result.stdout == committed, (
        "regenerate: charterbot charter schema > charter/schema/charter.schema.json"
    )
