"""What the public sees of a rollout: its view with confidential incidents redacted.

The dashboard and the read API are public. A public rollout paused or blocked by a confidential
incident (``storage.dashboard_queries.confidential_incidents``) says "a confidential incident"
(no number, severity or summary) in its pause and gate reasons (:func:`redact_rollout`). A
gate's row names the gate once: its reason without the gate's own label (:func:`gate_rows`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from charter.gates import CONFIDENTIAL_INCIDENT, unlabelled

CONFIDENTIAL_OPEN = f"{CONFIDENTIAL_INCIDENT} is open"
# how charter.gates.incident_reason says a confidential incident: only its severity
_CONFIDENTIAL = re.compile(rf"{re.escape(CONFIDENTIAL_INCIDENT)} \([^()]*\) is open")


def _gate_reason(reason: str) -> str:
    """A gate's reason with each confidential incident (which the gate already words without
    its id or summary, ``charter.gates.incident_reason``) said without its severity either."""
    parts = [CONFIDENTIAL_OPEN if _CONFIDENTIAL.fullmatch(p) else p for p in reason.split("; ")]
    return _once(parts, CONFIDENTIAL_OPEN)


def _once(parts: Iterable[str], said: str) -> str:
    """``parts`` joined with "; ", the confidential wording said once."""
    out: list[str] = []
    for part in parts:
        if part != said or said not in out:
            out.append(part)
    return "; ".join(out)


def redact_rollout(
    view: dict[str, Any], pauses: Iterable[tuple[str, str]], secret: Collection[str]
) -> dict[str, Any]:
    """A public rollout's view as the dashboard shows it: its gate rows as :func:`gate_rows`
    says, and the confidential incidents (ids in ``secret``) said as "a confidential incident"
    in its pause reason and gate reasons."""
    if not secret:
        return {**view, "gates": gate_rows(view["gates"])}
    reasons = [CONFIDENTIAL_INCIDENT if key in secret else reason for key, reason in pauses]
    gates = redact_gates(view["gates"])
    return {**view, "pause_reason": _once(reasons, CONFIDENTIAL_INCIDENT), "gates": gates}


def gate_rows(gates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gate views (``gate``, ``passed``, ``reason``) as a page lists them, the gate's name next
    to its reason: the reason without the label some gates begin it with
    (``charter.gates.unlabelled``), so "soak" is said once."""
    return [{**g, "reason": unlabelled(g["gate"], g["reason"])} for g in gates]


def redact_gates(gates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Gate rows (:func:`gate_rows`) with each confidential incident said as "a confidential
    incident is open" (no severity, see the module rules)."""
    return [{**g, "reason": _gate_reason(g["reason"])} for g in gate_rows(gates)]
