"""deploy/README.md's steps and deploy/env.example agree: every file the settings name under
/etc/charterbot is installed by a step, and the database URL is the one the steps create."""

from __future__ import annotations

import re

from tests.paths import REPO

GUIDE = (REPO / "deploy" / "README.md").read_text("utf-8")
EXAMPLE = (REPO / "deploy" / "env.example").read_text("utf-8")


def _settings() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in EXAMPLE.splitlines() if re.match(r"^[A-Z_]+=", line))
    return dict(pairs)


def test_every_file_the_settings_name_is_installed_by_a_step() -> None:
    """``charter check`` (ExecStartPre) and ``serve`` read these files: a step puts each there."""
    named = {value for value in _settings().values() if value.startswith("/etc/charterbot/")}
    installed = set(
        re.findall(r"sudo install -m \d+ -g charterbot \S+ (/etc/charterbot/\S+)", GUIDE)
    )
    assert named == {"/etc/charterbot/charter.yaml"}
    assert named <= installed, f"no step installs {named - installed}"
    assert "/etc/charterbot/env" in installed


def test_the_example_database_url_is_the_app_role_the_steps_create() -> None:
    """The app role logs in with the password step 1 gives it; the example URL carries it."""
    url = _settings()["CHARTERBOT_DATABASE_URL"]
    assert "CREATE ROLE charterbot_app LOGIN PASSWORD 'app-password';" in GUIDE
    assert url == "postgresql+psycopg://charterbot_app:app-password@127.0.0.1:5432/charterbot"
    assert f"Serve with `CHARTERBOT_DATABASE_URL={url}`" in GUIDE
