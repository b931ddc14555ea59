"""How far away a time is, in the one rounding every surface uses.

Rules:
- A span is said in the largest unit that keeps it readable: minutes under an hour, hours
  under two days, then days, each rounded to the *nearest* whole unit, not floored. A 48-hour
  vote opened ten minutes ago closes "in 2d" (floored it read "in 1d", half the time left);
  59m40s is "1h", 47h40m is "2d".
- Under half a minute there is no span to speak of: "now".
- The surfaces word the unit their own way (the tracking comment "2d", the dashboard "2
  days"); the amount is this module's.
"""

from __future__ import annotations

import math
from enum import StrEnum


class Unit(StrEnum):
    NOW = "now"
    MINUTE = "m"
    HOUR = "h"
    DAY = "d"


# (the unit, its seconds, how many of it are said before the next unit takes over)
_UNITS = ((Unit.MINUTE, 60, 60), (Unit.HOUR, 3600, 48), (Unit.DAY, 86400, math.inf))


def nearest(seconds: float) -> tuple[int, Unit]:
    """``abs(seconds)`` as (amount, unit) by the module's rules; ``(0, Unit.NOW)`` under 30 s."""
    span = abs(seconds)
    if span < 30:
        return 0, Unit.NOW
    return next(
        (amount, unit)
        for unit, size, limit in _UNITS
        if (amount := int((span + size / 2) // size)) < limit
    )
