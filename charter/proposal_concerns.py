"""Concerns on a proposal: named objections raised while it is open; while one is open the
proposal cannot be accepted. The concern rules themselves are :mod:`charter.concerns`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from charter import concerns as concern_rules
from charter.concerns import ConcernRefused
from charter.effects import Audit, Effect, Reply, SyncTracking
from charter.lifecycle import is_open
from charter.model import Charter
from charter.proposal import Decision, Proposal, refuse, rules_for, why_settled
from charter.proposal_transitions import close_if_settled


def raise_concern(
    p: Proposal, charter: Charter, actor_login: str, name: str, text: str, now: datetime
) -> Decision:
    """An open proposal takes named concerns; while one is open it cannot be accepted."""
    charter = rules_for(p, charter)
    if not is_open(p.state):
        why = f"#{p.number} is closed ({p.state.value}); concerns can no longer be raised"
        return refuse(p, actor_login, "concern", why)
    settled = why_settled(p, charter, now)
    if settled is not None:
        return refuse(p, actor_login, "concern", settled)
    try:
        updated = concern_rules.raise_concern(p.concerns, name, text, actor_login, now)
    except ConcernRefused as refused:
        return refuse(p, actor_login, "concern", str(refused))
    raised = next(c for c in updated if c.open and c.named(name))
    payload = {"name": raised.name, "text": text, "by": actor_login, "at": now.isoformat()}
    effects: tuple[Effect, ...] = (
        Audit(kind="concern-raised", subject=p.subject, payload=payload),
        SyncTracking(p.number),
        Reply(text=f"Concern '{raised.name}' is open; #{p.number} cannot pass until resolved."),
    )
    return Decision(replace(p, concerns=updated), effects)


def resolve_concern(
    p: Proposal,
    charter: Charter,
    actor_login: str,
    name: str,
    now: datetime,
    *,
    may_resolve_any: bool = False,
    grace: timedelta = timedelta(0),
) -> Decision:
    """Resolve an open concern (its raiser, or a coordinator); may settle the outcome, which
    closes the proposal at once or, with a ``grace``, by the timer (:func:`close_if_settled`)."""
    charter = rules_for(p, charter)
    if not is_open(p.state):
        why = f"#{p.number} is closed ({p.state.value}); its concerns are final"
        return refuse(p, actor_login, "resolve", why)
    settled = why_settled(p, charter, now)
    if settled is not None:
        return refuse(p, actor_login, "resolve", settled)
    try:
        updated = concern_rules.resolve(
            p.concerns, name, actor_login, now, may_resolve_any=may_resolve_any
        )
    except ConcernRefused as refused:
        return refuse(p, actor_login, "resolve", str(refused))
    payload = {"name": name, "by": actor_login, "at": now.isoformat()}
    effects: list[Effect] = [
        Audit(kind="concern-resolved", subject=p.subject, payload=payload),
        SyncTracking(p.number),
        Reply(text=f"Concern '{name}' on #{p.number} is resolved."),
    ]
    return close_if_settled(replace(p, concerns=updated), charter, effects, now, grace)
