"""Who may change a private call (:func:`charter.private_calls.refusal`): a series announced only
to private channels is changed by coordinators and the security council only; a private ad-hoc
call is its audience's already (only they can name it); a public call is anyone's who holds
the command's privilege."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from charter.actors import Actor
from charter.load import load_charter
from charter.meetings import AdhocMeeting, Call
from charter.private_calls import CallChange, refusal
from tests.paths import reference_charter_text

CHARTER = load_charter(reference_charter_text()).charter
SERIES = {m.id: m for m in CHARTER.meetings}
COORDINATOR = Actor(login="ines-coord")
COUNCIL = Actor(login="kofi-sec")
MAINTAINER = Actor(login="emeka-cirrus")
CONTRIBUTOR = Actor(login="zoe-outsider")
ANONYMOUS = Actor(login=None, surface="slack")


def adhoc(*, private: bool = False, announce_to: tuple[str, ...] = ()) -> AdhocMeeting:
    start = datetime(2026, 6, 15, 10, tzinfo=UTC)
    return AdhocMeeting(
        "call-20260615-1000-k3m9",
        "Fork sync",
        start,
        timedelta(hours=1),
        announce_to=announce_to,
        private=private,
    )


COUNCIL_ONLY = (
    "{title} is a private call: only coordinators and the security council may {change};"
    " ask one of them to."
)


@pytest.mark.parametrize(
    ("call", "actor", "refused"),
    [
        (SERIES["security-sync"], COORDINATOR, False),
        (SERIES["security-sync"], COUNCIL, False),
        (SERIES["security-sync"], MAINTAINER, True),
        (SERIES["security-sync"], CONTRIBUTOR, True),
        (SERIES["security-sync"], ANONYMOUS, True),
        (adhoc(announce_to=("council-private",)), MAINTAINER, True),  # private-only channels
        (adhoc(announce_to=("council-private",)), COUNCIL, False),
        (adhoc(private=True), MAINTAINER, False),  # seen only by its audience: asked already
        (adhoc(private=True, announce_to=("council-private",)), MAINTAINER, False),
        (SERIES["core-sync"], MAINTAINER, False),  # public
        (SERIES["core-sync"], CONTRIBUTOR, False),  # the command's own privilege decides
        (adhoc(announce_to=("council-private", "core-discord")), MAINTAINER, False),
    ],
    ids=[
        "council-sync-coordinator", "council-sync-council", "council-sync-maintainer",
        "council-sync-contributor", "council-sync-anonymous", "private-channel-adhoc-maintainer",
        "private-channel-adhoc-council", "private-adhoc", "private-adhoc-private-channel",
        "public-series-maintainer", "public-series-contributor", "one-public-channel",
    ],
)  # fmt: skip
@pytest.mark.parametrize("change", list(CallChange))
def test_who_may_change_a_private_call(
    call: Call, actor: Actor, refused: bool, change: CallChange
) -> None:
    found = refusal(call, CHARTER, actor, change)
    if not refused:
        assert found is None
        return
    assert found is not None
    assert found.reason == COUNCIL_ONLY.format(title=call.title, change=change.value)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (CallChange.AGENDA, "may add to its agenda;"),
        (CallChange.CANCEL, "may cancel it;"),
        (CallChange.MOVE, "may move it;"),
        (CallChange.ACTION, "may record or close action items on it;"),
    ],
)
def test_the_refusal_names_the_change(change: CallChange, says: str) -> None:
    found = refusal(SERIES["security-sync"], CHARTER, MAINTAINER, change)
    assert found is not None and says in found.reason


@pytest.mark.parametrize(
    ("actor", "owner", "change", "refused"),
    [
        (MAINTAINER, "emeka-cirrus", CallChange.ACTION, False),  # their own item
        (MAINTAINER, "Emeka-Cirrus", CallChange.ACTION, False),  # logins ignore case
        (MAINTAINER, "alice-aurora", CallChange.ACTION, True),  # someone else's
        (MAINTAINER, "", CallChange.ACTION, True),  # recording: no item is theirs yet
        (MAINTAINER, "emeka-cirrus", CallChange.AGENDA, True),  # an item closes, nothing else
        (ANONYMOUS, "emeka-cirrus", CallChange.ACTION, True),  # unlinked: owns nothing
    ],
    ids=["own", "own-case", "other", "no-owner", "own-agenda", "anonymous"],
)
def test_an_action_items_owner_closes_it_on_a_private_call(
    actor: Actor, owner: str, change: CallChange, refused: bool
) -> None:
    """They were assigned it and know it already: closing it tells them nothing new."""
    found = refusal(SERIES["security-sync"], CHARTER, actor, change, owner=owner)
    assert (found is not None) is refused
