"""An export line is UTF-8 text as stored: a payload's non-ASCII characters appear as
themselves, not as ``\\uXXXX`` escapes (the export is read by people too), and it verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from storage import audit
from storage.db import read_scope, session_scope
from storage.verify_export import verify_file
from tests.storage.audit_fixtures import draft


@pytest.mark.parametrize("text", ["café é", "日本", "emoji 🗳"])
def test_an_export_line_keeps_non_ascii_text(
    sqlite_engine: Engine, tmp_path: Path, text: str
) -> None:
    with session_scope(sqlite_engine) as session:
        record = audit.append_many(session, [draft(1, payload={"note": text})])[0]
    export = tmp_path / "audit.jsonl"
    with read_scope(sqlite_engine) as session, export.open("w", encoding="utf-8") as out:
        head = audit.export(session, out)
    [line] = export.read_bytes().decode("utf-8").splitlines()
    assert text in line
    assert "\\u" not in line
    assert verify_file(str(export), head) == (1, record.hash)
