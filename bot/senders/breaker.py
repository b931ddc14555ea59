"""The credentials breaker: hold a platform that refuses charterbot's own credentials.

Rules:
- A platform that refuses our credentials or our own settings (``SendResult.credentials``: a
  revoked token, Slack ``invalid_auth``, a mail server refusing our login or sender address)
  would refuse every send alike, whatever the destination: nothing more is sent to it for
  ``CREDENTIALS_PAUSE``, then one send tries again (and trips the breaker again if refused).
- What would have been sent meanwhile is handed back unattempted (no attempt counted): it goes
  out once an operator fixes the setting, never failed for it.
- One breaker is shared by the broadcast relay and the notify relay (both send through the same
  senders), so a refusal seen by either holds the platform for both.
- A send the platform accepts closes the breaker at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

CREDENTIALS_PAUSE = timedelta(minutes=15)


class CredentialsBreaker:
    def __init__(self, pause: timedelta = CREDENTIALS_PAUSE) -> None:
        self.pause = pause
        self._until: dict[str, datetime] = {}  # platform -> no sends before

    def held_for(self, platform: str, now: datetime) -> float:
        """Seconds left before ``platform`` is tried again (0.0: not held)."""
        until = self._until.get(platform)
        return 0.0 if until is None else max((until - now).total_seconds(), 0.0)

    def trip(self, platform: str, now: datetime) -> datetime:
        """Hold ``platform`` for ``pause`` from ``now``; returns the end of the hold."""
        until = self._until[platform] = now + self.pause
        return until

    def accepted(self, platform: str) -> None:
        """The platform took a send: its credentials work again."""
        self._until.pop(platform, None)
