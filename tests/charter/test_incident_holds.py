"""Which of the rollouts an incident holds it holds quietly
(:func:`charter.incident_holds.split_held`): each list comes sorted by proposal number."""

from __future__ import annotations

from charter.incident_holds import split_held
from charter.rollout import Rollout
from tests.charter.rollout_support import T0
from tests.charter.test_incident_holding import incident


def test_held_rollouts_are_split_and_sorted() -> None:
    """Embargoed proposals the incident does not name by number are held quietly, the rest
    paused; both by number, whatever order they came in."""
    numbers = (51, 58, 43, 50)
    rollouts = [Rollout(n, ("aurora",), T0) for n in numbers]
    assert split_held(incident(), numbers, rollouts, embargoed={43, 50}) == ((51, 58), (43, 50))
