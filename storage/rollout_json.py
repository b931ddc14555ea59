"""The stored form of a rollout: the aggregate as canonical JSON, in ``rollout.data``.

Rules:
- Where a rollout is (its stage, each client's) is written by stage id with the stage list of
  the charter it was saved under (``charter.rollout_facts.Placement``), and read back as
  indexes into the charter the reader passes, the running one: an amendment that inserts,
  drops or reorders stages moves no rollout. A row saved before ids were kept holds indexes
  ("stage_index"), read as indexes into the reader's charter (:func:`stored_placement`);
  :func:`storage.rollouts.keep_stage_ids` rewrites such rows.
- Check results are not part of the stored aggregate (``storage.check_results.with_checks``);
  rollback drills are (:mod:`storage.drills`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from charter.model import Charter
from charter.rollout_facts import (
    Override,
    Placement,
    ReadyReport,
    RollbackRecord,
    Rollout,
    indexed,
    placed,
    placement,
)
from storage.drills import drills_from_json, drills_to_json, planned_from_json


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _p(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _report(r: ReadyReport) -> dict[str, Any]:
    return {
        "client": r.client,
        "stage": r.stage,
        "version": r.version,
        "ref": r.ref,
        "notes": r.notes,
        "by": r.reported_by,
        "at": _t(r.at),
    }


def placement_json(where: Placement) -> dict[str, Any]:
    return {"stage": where.stage, "positions": dict(where.positions), "stages": list(where.stages)}


def rollout_to_json(rollout: Rollout, charter: Charter) -> str:
    """The aggregate, decided under ``charter``, as canonical JSON: its stages by id (without
    check results: see the module rules)."""
    data = {
        "proposal": rollout.proposal,
        "clients": list(rollout.clients),
        "started_at": _t(rollout.started_at),
        **placement_json(placement(rollout, charter)),
        "stage_entered_at": {k: _t(v) for k, v in rollout.stage_entered_at.items()},
        "reports": [_report(r) for r in rollout.reports],
        "pauses": [list(p) for p in rollout.pauses],
        "overrides": [
            {
                "stage": o.stage,
                "reason": o.reason,
                "by": o.by,
                "at": _t(o.at),
                "gates": list(o.gates),
            }
            for o in rollout.overrides
        ],
        "rollbacks": [
            {"clients": list(b.clients), "reason": b.reason, "by": b.by, "at": _t(b.at)}
            for b in rollout.rollbacks
        ],
        "completed_at": _t(rollout.completed_at),
        "confidential": rollout.confidential,
        **drills_to_json(rollout.drills, rollout.planned_drills),
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stored_placement(d: Mapping[str, Any], charter: Charter) -> Placement:
    """Where the stored rollout ``d`` is; a row that still keeps indexes: into ``charter``."""
    if "stage_index" in d:
        return indexed(d["stage_index"], d["positions"], charter.stage_ids)
    return Placement(d["stage"], dict(d["positions"]), tuple(d["stages"]))


def rollout_from_json(text: str, charter: Charter) -> Rollout:
    """The stored aggregate, its stages as indexes into ``charter`` (see the module rules)."""
    d = json.loads(text)
    return placed(stored_rollout(d), stored_placement(d, charter), charter)


def stored_rollout(d: Mapping[str, Any]) -> Rollout:
    """The stored aggregate ``d`` as it is, not yet placed on any charter's stages."""
    return Rollout(
        proposal=d["proposal"],
        clients=tuple(d["clients"]),
        started_at=datetime.fromisoformat(d["started_at"]),
        stage_entered_at={k: datetime.fromisoformat(v) for k, v in d["stage_entered_at"].items()},
        reports=tuple(
            ReadyReport(
                r["client"],
                r["stage"],
                r["version"],
                r["ref"],
                r["notes"],
                r["by"],
                datetime.fromisoformat(r["at"]),
            )
            for r in d["reports"]
        ),
        pauses=tuple((p[0], p[1]) for p in d["pauses"]),
        overrides=tuple(
            Override(
                o["stage"], o["reason"], o["by"], datetime.fromisoformat(o["at"]), tuple(o["gates"])
            )
            for o in d["overrides"]
        ),
        rollbacks=tuple(
            RollbackRecord(
                tuple(b["clients"]), b["reason"], b["by"], datetime.fromisoformat(b["at"])
            )
            for b in d["rollbacks"]
        ),
        completed_at=_p(d["completed_at"]),
        confidential=d["confidential"],
        drills=drills_from_json(d),
        planned_drills=planned_from_json(d),
    )
