"""Risk: likelihood × impact, and the pause point it sets for a rollout.

Rules (charter ``rollout.risk``):
- Likelihood and impact are each scored 1..``scale`` in the proposal form; the score is their
  product.
- A score above ``pause_above`` needs an override by an ``override_roles`` member before the
  rollout may advance past its first stage. Without ``pause_above`` no score needs one.
"""

from __future__ import annotations

from dataclasses import dataclass

from charter.model import Charter


@dataclass(frozen=True)
class Assessment:
    """The proposal's risk as its author scored it."""

    likelihood: int
    impact: int

    @property
    def score(self) -> int:
        return risk_score(self.likelihood, self.impact)


def risk_score(likelihood: int, impact: int, *, scale: int | None = None) -> int:
    """likelihood × impact; each must be a whole number from 1 to ``scale`` (when given)."""
    for name, value in (("likelihood", likelihood), ("impact", impact)):
        top = scale if scale is not None else value
        if isinstance(value, bool) or not 1 <= value <= max(top, 1):
            bound = f"1..{scale}" if scale is not None else "1 or more"
            raise ValueError(f"{name} must be a whole number {bound}, got {value!r}")
    return likelihood * impact


def needs_override(score: int, charter: Charter) -> bool:
    """True when ``score`` is above the charter's pause point (never when none is set)."""
    limit = charter.rollout.risk.pause_above
    return limit is not None and score > limit
