"""Rollback drills as stored: part of the rollout's JSON document (``rollout.data``).

Rules:
- A rollout's drills are kept in its aggregate under ``"drills"``, in the order they were
  reported, so no table or migration is needed: a rollout saved before drills existed has no
  such key and reads as having none, and a rollout without drills is saved without the key, so
  its stored text is what it was before (:func:`storage.rollout_json.rollout_to_json`).
- Planned drills (``drill schedule``) are kept the same way under ``"planned_drills"``.
- A recovery is kept in whole seconds (``null`` for a drill that did not recover); times as
  ISO 8601, like the rest of the aggregate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from charter.rollout_facts import DrillReport, PlannedDrill


def drills_to_json(
    drills: Sequence[DrillReport], planned: Sequence[PlannedDrill] = ()
) -> dict[str, Any]:
    """The ``"drills"`` and ``"planned_drills"`` entries of a stored rollout: each only when
    it has some."""
    out: dict[str, Any] = {}
    if planned:
        out["planned_drills"] = [
            {
                "client": p.client,
                "stage": p.stage,
                "at": p.at.isoformat(),
                "by": p.by,
                "planned_at": p.planned_at.isoformat(),
            }
            for p in planned
        ]
    if not drills:
        return out
    return out | {
        "drills": [
            {
                "client": d.client,
                "stage": d.stage,
                "recovered": None if d.recovered is None else int(d.recovered.total_seconds()),
                "notes": d.notes,
                "by": d.reported_by,
                "at": d.at.isoformat(),
                "release": d.release,
            }
            for d in drills
        ]
    }


def drills_from_json(stored: Mapping[str, Any]) -> tuple[DrillReport, ...]:
    """The drills of a stored rollout (none when it was saved before drills existed)."""
    return tuple(
        DrillReport(
            d["client"],
            d["stage"],
            None if d["recovered"] is None else timedelta(seconds=d["recovered"]),
            d["notes"],
            d["by"],
            datetime.fromisoformat(d["at"]),
            d["release"],
        )
        for d in stored.get("drills", ())
    )


def planned_from_json(stored: Mapping[str, Any]) -> tuple[PlannedDrill, ...]:
    """The planned drills of a stored rollout (none when it has no such key)."""
    return tuple(
        PlannedDrill(
            p["client"],
            p["stage"],
            datetime.fromisoformat(p["at"]),
            p["by"],
            datetime.fromisoformat(p["planned_at"]),
        )
        for p in stored.get("planned_drills", ())
    )
