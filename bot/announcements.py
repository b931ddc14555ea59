"""What an announcement carries, and what stays private.

Rules:
- A proposal confidential by the track it was opened under and not yet disclosed is a secret:
  whatever names it stays private (``undisclosed_secrets``; other areas ask it too).
- An announcement about a proposal carries its clients and labels, and one that names a
  secret is confidential whatever its author said (``announce``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from charter.effects import Announce
from charter.proposal import named_clients
from storage import outbox, proposals as repo

if TYPE_CHECKING:
    from bot.service import Governance


def announce(gov: Governance, session: Session, effect: Announce, now: datetime) -> None:
    """Queue an announcement for fan-out. One about a proposal carries, unless it names its
    own, the proposal's affected clients and GitHub labels, which subscriptions filter on
    (``client X``, ``label X``, ``not label X``). One that names a confidential proposal not
    yet disclosed (its own, or among ``data["proposals"]``/``data["paused"]``, as incidents
    and kill switches do) is confidential, whatever its author said: fan-out keeps it on
    private channels until that proposal is disclosed."""
    if effect.proposal is not None and (not effect.clients or "labels" not in effect.data):
        effect = _about_proposal(gov, session, effect, effect.proposal)
    if not effect.confidential and undisclosed_secrets(gov, session, _named(effect)):
        effect = replace(effect, confidential=True)
    payload = {
        "kind": effect.kind,
        "title": effect.title,
        "text": effect.text,
        "proposal": effect.proposal,
        "track": effect.track,
        "clients": list(effect.clients),
        "severity": effect.severity,
        "confidential": effect.confidential,
        "data": dict(effect.data),
        "at": now.isoformat(),
    }
    outbox.enqueue(session, kind="announce", payload=payload, now=now)


def undisclosed_secrets(gov: Governance, session: Session, numbers: Iterable[int]) -> list[int]:
    """Those of ``numbers`` that are confidential (by the track they were opened under) and
    not yet disclosed: whatever names them stays private."""
    found = []
    for number in dict.fromkeys(numbers):
        stored = repo.load(session, number)
        if stored is None or stored.disclosed:
            continue
        track = gov.rules_for(stored.proposal).tracks.get(stored.proposal.track)
        if track is not None and track.confidential:
            found.append(number)
    return found


def _about_proposal(gov: Governance, session: Session, effect: Announce, number: int) -> Announce:
    stored = repo.load(session, number)
    if stored is None:
        return effect
    clients = effect.clients or named_clients(stored.proposal, gov.charter)
    data = dict(effect.data)
    data.setdefault("labels", list(stored.extra.get("labels", ())))
    return replace(effect, clients=clients, data=data)


def _named(effect: Announce) -> list[int]:
    """The proposals an announcement names: its own and those listed in its data."""
    named = [effect.proposal] if effect.proposal is not None else []
    for key in ("proposals", "paused"):
        listed = effect.data.get(key)
        if isinstance(listed, list | tuple):
            named.extend(n for n in listed if isinstance(n, int) and not isinstance(n, bool))
    return named
