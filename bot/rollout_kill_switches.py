"""Kill switches: ``/charter flag <name> off|on "<reason>"`` (part of the rollout area; registered
with the incident commands by :func:`bot.rollout_incidents.install_on`).

Rules:
- ``/charter flag <name> off "<reason>"`` switches the flag off in every registry entry of that
  name and broadcasts the kill-switch instruction (announce kind ``rollout``, private while a
  rollout it concerns is confidential); ``on`` allows it back. Both need a written reason and
  are audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.messages import Actor, Message
from charter import commands as c
from charter.effects import Announce, Audit, Effect
from storage import feature_flags as flag_store, rollouts as store

if TYPE_CHECKING:
    from bot.service import Governance


def flag(gov: Governance, session: Session, cmd: c.Flag, actor: Actor, now: datetime) -> Message:
    rows = flag_store.flags(session, name=cmd.name)
    if not rows:
        known = sorted({r.name for r in flag_store.flags(session)})
        listed = ", ".join(known) if known else "none yet"
        why = f"No accepted proposal registers a feature flag {cmd.name} (registered: {listed})."
        return gov.refuse(session, actor, cmd, why, now)
    reason = cmd.reason.strip()
    if not reason:
        return gov.refuse(
            session, actor, cmd, f"Switching {cmd.name} {cmd.state} needs a written reason.", now
        )
    for row in rows:
        flag_store.switch_flag(session, row, cmd.state, by=actor.name, reason=reason, at=now)
    clients = tuple(dict.fromkeys(r.client for r in rows))
    proposals = sorted({r.proposal for r in rows})
    secret = any(
        (r := store.load_rollout(session, n, gov.charter)) is not None and r.confidential
        for n in proposals
    )
    where = ", ".join(clients)
    of = ", ".join(f"#{n}" for n in proposals)
    if cmd.state == "off":
        title = f"KILL SWITCH: turn feature flag {cmd.name} OFF"
        text = (
            f"Operators of {where}: turn feature flag {cmd.name} off on every node now "
            f"(proposal {of}).\nReason: {reason}\nSwitched by {actor.name}."
        )
    else:
        title = f"Feature flag {cmd.name} may be turned back on"
        text = (
            f"Operators of {where} may turn feature flag {cmd.name} on again "
            f"(proposal {of}).\nReason: {reason}\nBy {actor.name}."
        )
    payload = {
        "state": cmd.state,
        "reason": reason,
        "proposals": proposals,
        "clients": list(clients),
        "by": actor.name,
    }
    effects: list[Effect] = [
        Audit("flag-switched", f"flag:{cmd.name}", payload),
        Announce(
            kind="rollout",
            title=title,
            text=text,
            proposal=proposals[0] if len(proposals) == 1 else None,
            clients=clients,
            confidential=secret,
            data={"flag": cmd.name, "state": cmd.state, "proposals": proposals},
        ),
    ]
    gov.effects(session, effects, actor, now)
    return Message.text_only(
        f"Feature flag {cmd.name} is {cmd.state} for {where}; operators were told."
    )
