"""A kept charter version is read as it was adopted: a rule added since for new charters (lists
that hold one entry or more, :mod:`charter.validate`) does not drop it, so the proposals opened
under it are still decided by it, not by the running version. A kept version without stages
moves no rollout: rollouts follow the running charter, which that rule holds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.charter_adoption import adopt_charter
from charter.load import load_charter
from storage import charters, migrate
from storage.db import make_engine, session_scope
from tests.paths import reference_charter_text

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _text(version: int, quorum: float, **empty: Any) -> str:
    data = yaml.safe_load(reference_charter_text())
    data["charter"]["version"] = version
    data["tracks"][next(iter(data["tracks"]))]["quorum"] = quorum
    data["escalation"] = [
        {"when": "no-maintainer-response", "after": "3d", "notify": ["coordinators"]}
    ]
    if "notify" in empty:
        data["escalation"][0]["notify"] = empty["notify"]
    if "stages" in empty:
        data["rollout"]["stages"] = empty["stages"]
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize("empty", [{"notify": []}, {"stages": []}], ids=["notify", "stages"])
def test_a_version_kept_before_the_rule_still_decides_its_proposals(
    tmp_path: Path, empty: dict[str, Any]
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    migrate.upgrade(engine)
    with session_scope(engine) as session:  # v1 as the bot kept it before the rule
        charters.adopt(session, "sha-v1", 1, "v1.yaml", NOW, _text(1, 0.5, **empty))
    v2 = load_charter(_text(2, 1.0), "v2.yaml")
    running = adopt_charter(engine, v2, NOW).charter
    track = next(iter(v2.charter.tracks))
    assert running.for_version(1).tracks[track].quorum == 0.5
    assert running.stage_ids == v2.charter.stage_ids  # what a rollout follows
