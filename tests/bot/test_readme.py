"""The README's settings table is generated from bot.settings and must stay in sync."""

from __future__ import annotations

import os
import re

from bot.settings import Settings
from bot.settings_doc import SETTINGS_DOC
from tests.paths import REPO

START, END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{name}` | {default} | {meaning} |" for name, default, meaning in SETTINGS_DOC]
    return "\n".join(rows)


def test_readme_settings_table_is_current() -> None:
    readme = (REPO / "README.md").read_text()
    current = readme.split(START)[1].split(END)[0].strip()
    if os.environ.get("CHARTERBOT_REGENERATE_DOCS") == "1":
        readme = (
            readme.replace(current, settings_table())
            if current
            else readme.replace(START + "\n", START + "\n" + settings_table() + "\n")
        )
        (REPO / "README.md").write_text(readme)
        return
    assert current == settings_table(), (
        "README settings table is stale: CHARTERBOT_REGENERATE_DOCS=1 .venv/bin/pytest "
        "tests/bot/test_readme.py"
    )


def test_every_setting_is_documented() -> None:
    """Each environment variable Settings reads appears in the documented table, and back."""
    documented = {name for name, _, _ in SETTINGS_DOC}
    read = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        read |= set(getattr(alias, "choices", []) or [])
    assert read == documented


def test_readme_starts_with_what_and_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    head = readme[:2500]
    assert re.search(r"^# charterbot", readme)
    assert "make run" in head and "make test" in head
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci


def test_every_help_topic_the_readme_names_is_one() -> None:
    """``help <topic>`` written in the README is a topic chat answers, not a parse error."""
    from charter.commands import ParseError
    from charter.grammar import parse_chat

    readme = (REPO / "README.md").read_text()
    topics = re.findall(r"`help ([a-z-]+)`", readme)
    assert len(topics) >= 5
    assert [t for t in topics if isinstance(parse_chat(f"help {t}"), ParseError)] == []
