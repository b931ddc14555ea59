"""Feedback requests: asking someone for their view on a proposal, without blocking it.

rfcbot's ``f? @user``. A request names a proposal and a GitHub login; it is listed on the
proposal's tracking message until that person answers, and it never blocks: it changes no
tally, no deadline and no state, and an unanswered request holds nothing up.

Rules:
- who may ask is :mod:`charter.authz`'s rule (whoever may vote on the proposal or raise a
  concern on it); what is asked is decided here;
- requests are taken while the proposal is open (draft, review or voting); a closed one is
  refused, saying why, and an answer to a closed proposal's request is not recorded (it is
  history: asked, never answered, owed by nobody);
- at most ``MAX_OPEN`` requests are open on a proposal at a time: a command that would pass
  it asks nobody ("ask fewer people, or wait for answers"), so the list stays readable and the
  tracking message keeps room for what blocks;
- a login compares case-insensitively (GitHub's logins do); one the charter knows (a client's
  maintainer or a role's member, :func:`charter_logins`), named in any case, is asked, stored
  and shown as the charter spells it, any other as written; asking someone with an open
  request on the proposal is a no-op ("already asked"), and so is asking oneself; someone
  whose request was answered may be asked again;
- a confidential proposal not yet disclosed is never shown to someone who may not see it, so a
  request naming such a person is refused whole (nothing is asked): the caller says who they
  are (``cannot_see``);
- a request is answered by the asked person's first comment on the proposal's issue, vote or
  concern on the proposal (from any surface, once their chat identity is linked) at or after
  the moment it was asked; an earlier one answers nothing;
- every request and every answer is audited (``feedback-requested``, ``feedback-given``) and
  re-renders the tracking message.

Functions are pure: they take the proposal's requests and return a :class:`FeedbackDecision`
(the requests to store, new or answered, and the effects to carry out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from charter.effects import Audit, Effect, Reply, SyncTracking
from charter.lifecycle import State, is_open
from charter.model import Charter

MAX_OPEN = 50  # open requests on one proposal at a time


class Answer(StrEnum):
    """How an asked person answered."""

    COMMENT = "comment"
    VOTE = "vote"
    CONCERN = "concern"


@dataclass(frozen=True)
class FeedbackRequest:
    proposal: int
    login: str  # the person asked (a GitHub login)
    asked_by: str
    asked_at: datetime
    note: str = ""
    answered_at: datetime | None = None
    answered_how: Answer | None = None

    @property
    def open(self) -> bool:
        return self.answered_at is None

    def of(self, login: str) -> bool:
        return self.login.casefold() == login.casefold()


@dataclass(frozen=True)
class FeedbackDecision:
    """The requests to store (new ones, or open ones now answered) and the effects."""

    requests: tuple[FeedbackRequest, ...] = ()
    effects: tuple[Effect, ...] = ()


def outstanding(requests: Sequence[FeedbackRequest]) -> tuple[FeedbackRequest, ...]:
    """The requests not yet answered, in the order they were asked."""
    return tuple(r for r in requests if r.open)


def request_feedback(
    number: int,
    state: State,
    requests: Sequence[FeedbackRequest],
    asker: str,
    logins: Sequence[str],
    note: str,
    now: datetime,
    *,
    cannot_see: frozenset[str] = frozenset(),
    known: Sequence[str] = (),
) -> FeedbackDecision:
    """Ask ``logins`` for feedback on proposal ``number`` (in ``state``) for ``asker``; see
    the module rules. ``cannot_see`` holds the logins (casefolded) a confidential proposal is
    hidden from until it is disclosed; empty for a public or disclosed one. ``known`` holds
    the logins the charter names (:func:`charter_logins`), as it spells them."""
    logins = _spelled(logins, known)
    if not is_open(state):
        why = (
            f"#{number} is {state.value}: feedback can be asked only while a proposal is open"
            " (draft, review or voting)."
        )
        return FeedbackDecision(effects=(Reply(why, ok=False),))
    hidden = [login for login in logins if login.casefold() in cannot_see]
    if hidden:
        who = ", ".join(hidden)
        why = (
            f"#{number} is confidential until disclosed, and {who} may not see it, so nobody"
            " was asked: ask only coordinators, the security council or voters on its track,"
            " or disclose it first."
        )
        return FeedbackDecision(effects=(Reply(why, ok=False),))
    asked: list[FeedbackRequest] = []
    notes: list[str] = []
    for login in _once(logins):
        if login.casefold() == asker.casefold():
            notes.append("You need not ask yourself.")
        elif any(r.open and r.of(login) for r in requests):
            notes.append(f"{login} was already asked and has not answered yet.")
        else:
            asked.append(FeedbackRequest(number, login, asker, now, note))
    waiting = len(outstanding(requests))
    if asked and waiting + len(asked) > MAX_OPEN:
        why = (
            f"#{number} has {waiting} open feedback request{'' if waiting == 1 else 's'}, and at"
            f" most {MAX_OPEN} may be open at a time, so nobody was asked: ask fewer people,"
            " or wait for answers."
        )
        return FeedbackDecision(effects=(Reply(why, ok=False),))
    return FeedbackDecision(tuple(asked), _asked_effects(number, asked, notes))


def charter_logins(charter: Charter) -> tuple[str, ...]:
    """The logins ``charter`` names, as it spells them: its clients' maintainers, then its
    roles' members."""
    maintainers = (m for client in charter.clients for m in client.maintainers)
    members = (m for people in charter.roles.values() for m in people)
    return (*maintainers, *members)


def _spelled(logins: Sequence[str], known: Sequence[str]) -> list[str]:
    """Each of ``logins`` as ``known`` spells it when it is there in any case (the first
    spelling wins), else as written: ``@Emeka-Cirrus`` is stored as the charter's
    ``emeka-cirrus``, so every list shows one person one way."""
    spelling: dict[str, str] = {}
    for login in known:
        spelling.setdefault(login.casefold(), login)
    return [spelling.get(login.casefold(), login) for login in logins]


def _once(logins: Sequence[str]) -> list[str]:
    """Each login once, as first written: one named twice (as typed and through a chat mention
    of the same person) is asked once."""
    first: dict[str, str] = {}
    for login in logins:
        first.setdefault(login.casefold(), login)
    return list(first.values())


def _asked_effects(
    number: int, asked: Sequence[FeedbackRequest], notes: Sequence[str]
) -> tuple[Effect, ...]:
    effects: list[Effect] = [
        Audit(
            kind="feedback-requested",
            subject=f"proposal:{number}",
            payload={
                "login": r.login,
                "by": r.asked_by,
                "note": r.note,
                "at": r.asked_at.isoformat(),
            },
        )
        for r in asked
    ]
    said = list(notes)
    if asked:
        who = ", ".join(r.login for r in asked)
        said.insert(0, f"Asked {who} for feedback on #{number}; it does not block the decision.")
        effects.append(SyncTracking(number))
    effects.append(Reply(" ".join(said)))
    return tuple(effects)


def answer(
    number: int,
    state: State,
    requests: Sequence[FeedbackRequest],
    login: str,
    how: Answer,
    at: datetime,
) -> FeedbackDecision:
    """``login`` commented on, voted on or raised a concern on proposal ``number`` (in
    ``state``) at ``at``: their open request, if asked by then and the proposal is still open,
    is answered. Nothing else changes."""
    if not is_open(state):
        return FeedbackDecision()
    answered = [
        replace(r, answered_at=at, answered_how=how)
        for r in requests
        if r.open and r.of(login) and r.asked_at <= at
    ]
    effects: list[Effect] = [
        Audit(
            kind="feedback-given",
            subject=f"proposal:{number}",
            payload={
                "login": r.login,
                "how": how.value,
                "asked_by": r.asked_by,
                "at": at.isoformat(),
            },
        )
        for r in answered
    ]
    if answered:
        effects.append(SyncTracking(number))
    return FeedbackDecision(tuple(answered), tuple(effects))
