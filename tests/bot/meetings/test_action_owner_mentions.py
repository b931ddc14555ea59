"""An action item's owner is a GitHub login: a chat mention (``meeting action <@U0BOB> …``) is the
login that chat user linked on the surface the command came from, never the raw mention token,
and a mention with no link there is refused (as for ``incident role``)."""

from __future__ import annotations

from bot.messages import Actor, plain_text
from bot.service import Governance
from storage import meeting_outcomes as store
from storage.db import session_scope
from tests.bot.meetings.test_commands import NOW, audit_kinds
from tests.bot.mentions import LINKED, UNLINKED, link

DURING = NOW.replace(day=19, hour=14, minute=30)  # the 2026-03-19 core-sync is the latest call


def run(gov: Governance, text: str, surface: str) -> tuple[bool, str]:
    actor = Actor(login="ines-coord", surface=surface, surface_id="U0INES", display="Ines")
    message = gov.run_sync(text, actor, DURING)
    return message.ok, plain_text(message)


def owners(gov: Governance) -> list[str]:
    with session_scope(gov.engine) as session:
        return [r.owner for r in store.open_actions(session)]


@LINKED
def test_a_mentioned_owner_is_the_login_its_user_linked(
    gov: Governance, surface: str, user: str
) -> None:
    link(gov.engine, "slack", "U0BOB", NOW)
    link(gov.engine, "discord", "417", NOW)
    ok, said = run(gov, f"meeting action {user} draft the notes", surface)
    assert ok, said
    assert said.startswith("Action item [1] for bob-borealis recorded on ")
    assert owners(gov) == ["bob-borealis"]
    assert audit_kinds(gov)[0][2]["owner"] == "bob-borealis"
    ok, said = run(gov, f"meeting action {user} done 1", surface)  # the same mention closes it
    assert ok, said
    assert owners(gov) == []


@UNLINKED
def test_a_mentioned_owner_without_a_link_is_refused(
    gov: Governance, surface: str, user: str
) -> None:
    link(gov.engine, "slack", "U0BOB", NOW)
    ok, said = run(gov, f"meeting action {user} draft the notes", surface)
    assert not ok
    assert said == (
        "error: The person you mentioned has not linked a GitHub login here, so the action item "
        "cannot be theirs: name their GitHub login instead (/charter meeting action @their-login "
        "<action>), or ask them to run /charter link first."
    )
    assert owners(gov) == []
    assert audit_kinds(gov) == []
