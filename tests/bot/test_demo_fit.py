"""``--demo`` plays a script written for the bundled example charter: a charter without what
the script uses (clients, their repositories and logins, roles, tracks, stages, incident
severities and roles) is refused up front, naming all it lacks, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import demo
from bot.bootstrap import build
from bot.charter_file import example_charter_path
from bot.cli import app
from bot.demo_script import unfit
from bot.settings import Settings
from charter.load import load_charter
from tests.paths import mutate

# The reviewer's v4: client aurora renamed apex.
APEX = mutate(("  - id: aurora\n", "  - id: apex\n"))


@pytest.mark.parametrize(
    ("pairs", "lacks"),
    [
        ((), []),
        ((("  - id: aurora\n", "  - id: apex\n"),), ["no client aurora"]),
        (
            (("maintainers: [alice-aurora, bob-aurora]", "maintainers: [Alice-Aurora]"),),
            ["no bob-aurora among aurora's maintainers"],  # logins compare case-insensitively
        ),
        (
            (("repository: meridian-net/cirrus", "repository: meridian-net/cirrus-java"),),
            ["no repository meridian-net/cirrus for client cirrus"],
        ),
        (
            (("coordinators: [ines-coord, jonas-coord]", "coordinators: [ines-coord]"),),
            ["no jonas-coord among the coordinators"],
        ),
        (
            (
                ("  security-council: [kofi-sec, lena-sec, mateo-sec]\n", ""),
                ("electorate: [clients, security-council]", "electorate: [clients]"),
                ("    veto: [security-council]", "    veto: []"),
            ),
            ["no role security-council"],
        ),
        (
            (
                ("  charter-amendment:\n", "  amendment:\n"),
                ("severities: [sev1, sev2, sev3]", "severities: [sev1, sev2]"),
                ("roles: [lead, comms, scribe]", "roles: [comms]"),
                ("block_on_incident: sev3", "block_on_incident: sev2"),
            ),
            ["no track charter-amendment", "no incident severity sev3", "no incident role lead"],
        ),
    ],
)
def test_unfit_names_all_the_script_uses_that_the_charter_lacks(
    pairs: tuple[tuple[str, str], ...], lacks: list[str]
) -> None:
    assert unfit(load_charter(mutate(*pairs)).charter) == lacks


def test_a_charter_without_a_stage_the_script_uses_is_unfit() -> None:
    text = mutate(("      go_no_go_meeting: true", "      go_no_go_meeting: false"))
    text = text.replace("    - id: production\n", "    - id: mainnet\n", 1)
    assert unfit(load_charter(text).charter) == ["no stage production"]


@pytest.mark.parametrize("command", ["console", "serve"])
def test_demo_with_an_unfit_charter_is_refused_before_the_database_is_made(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "v4.yaml").write_text(APEX, encoding="utf-8")
    env = {
        "CHARTERBOT_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
        "CHARTERBOT_CHARTER": f"{tmp_path}/v4.yaml",
    }
    result = CliRunner().invoke(app, [command, "--demo"], env=env, input="show 1\n")
    example = example_charter_path()
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: the demo needs the bundled example charter ({example}): {tmp_path}/v4.yaml has"
        f" no client aurora. Run --demo with the example charter (--charter {example}, or leave"
        " CHARTERBOT_CHARTER unset), or run without --demo\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v4.yaml"]


def test_seeding_under_an_unfit_charter_writes_no_step(tmp_path: Path) -> None:
    (tmp_path / "v4.yaml").write_text(APEX, encoding="utf-8")
    settings = Settings(database_url=f"sqlite:///{tmp_path}/d.db", charter=tmp_path / "v4.yaml")
    rt = build(settings)
    try:
        with pytest.raises(demo.DemoFailed) as refused:
            demo.seed_if_empty(rt)
        assert "v4.yaml has no client aurora. Run --demo with" in str(refused.value)
        assert demo.is_fresh(rt) and demo.half_seeded(rt) is None
    finally:
        rt.engine.dispose()
