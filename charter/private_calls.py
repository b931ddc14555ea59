"""Who may change a private call: its audience, not everyone who may schedule calls.

Rules (:func:`refusal`):

- A call announced only to private channels (:func:`charter.meetings.is_private`; the security
  council's sync) is on the public calendar, but what is done to it is its audience's:
  private channels are fit for confidential matters, which coordinators and the security
  council see. Only they add to its agenda, cancel or move it (the move's confirmation too),
  and record or close action items on it; decisions are coordinators' anyway
  (:mod:`charter.authz`). Anyone else is refused, whatever other privilege they hold, with a
  reply saying who may, but for one thing: an action item's owner closes their own item
  (``owner``), for they were assigned it and know it already.
- A private ad-hoc call (a confidential rollout's go/no-go, a call about an undisclosed
  confidential proposal, a confidential incident's review) exists only for those who may see
  its proposal, who are its audience: the bot never names it to anyone else (it is "no
  meeting", :mod:`bot.meetings_lookup`), so nothing more is asked here.
- A public call needs only the command's own privilege (:mod:`charter.authz`).
"""

from __future__ import annotations

from enum import StrEnum

from charter.actors import Actor
from charter.authz import Refusal, Role, roles_for
from charter.meetings import AdhocMeeting, Call, is_private
from charter.model import Charter

_AUDIENCE = frozenset({Role.COORDINATOR, Role.SECURITY_COUNCIL})


class CallChange(StrEnum):
    """A change to a call, as the refusal names it (what only its audience may do)."""

    AGENDA = "add to its agenda"
    CANCEL = "cancel it"
    MOVE = "move it"
    ACTION = "record or close action items on it"


def refusal(
    call: Call, charter: Charter, actor: Actor, change: CallChange, *, owner: str = ""
) -> Refusal | None:
    """``None`` when ``actor`` may make ``change`` to ``call``; else why not and who may (see
    the module rules). ``owner``: closing an action item, the login it is assigned to."""
    if not is_private(call, charter) or (isinstance(call, AdhocMeeting) and call.private):
        return None
    if _AUDIENCE & roles_for(actor, charter):
        return None
    if change is CallChange.ACTION and owner and _same_login(actor.login, owner):
        return None
    return Refusal(
        f"{call.title} is a private call: only coordinators and the security council may"
        f" {change}; ask one of them to."
    )


def _same_login(login: str | None, owner: str) -> bool:
    """GitHub logins compare case-insensitively; an unlinked actor owns nothing."""
    return login is not None and login.lower() == owner.lower()
