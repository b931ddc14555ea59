"""Builders shared by the rollout, gate, incident and watchdog tests.

The reference charter is loaded unchanged from ``shared/charter/reference-charter.yaml``;
variants are made by editing the parsed YAML before validation, never the file.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from charter.model import Charter
from charter.rollout import CheckResult, ReadyReport, Rollout

SHARED = Path(
    os.environ.get("CHARTERBOT_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared"
)
CLIENTS = ("aurora", "borealis", "cirrus", "dorado", "eridanus")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def reference_data() -> dict[str, Any]:
    text = (SHARED / "charter" / "reference-charter.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def reference() -> Charter:
    return Charter.model_validate(reference_data())


def sha(client: str, stage: str, version: str = "1.4.0") -> str:
    """A stable, distinct 40-hex commit id per client, stage and version."""
    return hashlib.sha1(f"{client}/{stage}/{version}".encode(), usedforsecurity=False).hexdigest()


def report(
    client: str, stage: str, at: datetime, *, version: str = "1.4.0", ref: str | None = ""
) -> ReadyReport:
    """A readiness report; ``ref=""`` means "the commit ``sha`` gives", None means no ref."""
    commit = sha(client, stage, version) if ref == "" else ref
    return ReadyReport(client, stage, version, commit, "", f"{client}-bot", at)


def check(client: str, stage: str, name: str, conclusion: str | None, at: datetime) -> CheckResult:
    return CheckResult(client, name, sha(client, stage), conclusion, at)


def rollout_at(
    stage_index: int,
    *,
    positions: dict[str, int] | None = None,
    entered: dict[str, datetime] | None = None,
    reports: tuple[ReadyReport, ...] = (),
    checks: tuple[CheckResult, ...] = (),
    proposal: int = 42,
) -> Rollout:
    """A rollout built directly from facts (for gate tables): every client on ``stage_index``
    unless ``positions`` says otherwise."""
    return Rollout(
        proposal=proposal,
        clients=CLIENTS,
        started_at=T0,
        stage_index=stage_index,
        positions={c: stage_index for c in CLIENTS} | (positions or {}),
        stage_entered_at=entered or {},
        reports=reports,
        checks=checks,
    )
