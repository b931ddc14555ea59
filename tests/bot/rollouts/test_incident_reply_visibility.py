"""Incident replies name only the rollouts their reader may see: an undisclosed security patch
hidden from a borealis maintainer is left out of their replies entirely (neither named nor
counted, so a reply cannot reveal that it exists) when their incident pauses it, is raised to
pause it, or resolves. Naming nothing (it concerns everything), the incident holds the patch
quietly and stays public: its declarer and every other maintainer manage it, and its review
call is public (tests/bot/rollouts/test_incident_client_embargo.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.bot.rollouts.conftest import COORDINATOR, COUNCIL, MAINTAINER, World, form
from tests.bot.rollouts.test_rollout_commands import decide

DECLARER = MAINTAINER["borealis"]  # carmen-borealis: may not see #2
COLLEAGUE = "dmitri-borealis"  # borealis too, but did not declare it


@pytest.fixture
def hidden(sqlite_engine: Engine) -> World:
    """#1 (public, borealis) and #2 (a security patch for aurora, undisclosed) under way."""
    world = World(sqlite_engine)
    world.accept(1, form(clients=("borealis",)))
    world.open_issue(2, form(track="security-patch", clients=("aurora",)), "Embargoed fix")
    decide(world, 2)
    for n in (1, 2):
        world.ok(COORDINATOR, f"rollout {n}")
    assert "There is no proposal #2" in world.refused(DECLARER, "rollout 2")
    return world


@pytest.mark.parametrize(
    ("login", "said"),
    [
        (DECLARER, "Incident #1 declared (sev1). Paused: #1."),
        (COUNCIL, "Incident #1 declared (sev1). Paused: #1, #2."),
        (MAINTAINER["aurora"], "Incident #1 declared (sev1). Paused: #1, #2."),
    ],
    ids=["outsider", "council", "its-client"],
)
def test_the_declaration_names_only_what_its_reader_may_see(
    hidden: World, login: str, said: str
) -> None:
    assert hidden.ok(login, 'incident declare sev1 "devnet halted"') == said


def test_raising_it_to_pause_names_only_what_its_reader_may_see(hidden: World) -> None:
    """Below pause_on_incident it pauses nothing; raised, it pauses #1 and holds #2 quietly, and
    stays public: a colleague who may not see #2 manages it too."""
    assert hidden.ok(DECLARER, 'incident declare sev3 "devnet slow"') == (
        "Incident #1 declared (sev3)."
    )
    assert hidden.ok(DECLARER, 'incident severity #1 sev1 "devnet halted"') == (
        "Incident #1 is now sev1. Paused: #1."
    )
    assert hidden.ok(COLLEAGUE, "incident update #1 probe") == "Update added to incident #1."


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('incident update #1 "nodes restarting"', "Update added to incident #1."),
        ('incident update "nodes restarting"', "Update added to incident #1."),
        ("incident role lead @kofi-sec", "kofi-sec is now lead for incident 1"),
        ('incident severity #1 sev2 "contained"', "Incident #1 is now sev2."),
    ],
    ids=["update", "update-the-only-open", "role", "severity"],
)
@pytest.mark.parametrize("login", [DECLARER, COLLEAGUE], ids=["declarer", "colleague"])
def test_an_incident_naming_nothing_stays_public_though_it_holds_a_hidden_rollout(
    hidden: World, login: str, text: str, said: str
) -> None:
    """Its declarer and a colleague, neither of whom may see #2, manage it alike."""
    hidden.ok(DECLARER, 'incident declare sev1 "devnet halted"')
    assert hidden.ok(login, text) == said


REVIEW_CALL = "Its post-incident review call (incident-review-1) is at "


@pytest.mark.parametrize(
    ("login", "said"),
    [
        (DECLARER, ["Incident #1 resolved.", "#1 resumed"]),
        (COUNCIL, ["Incident #1 resolved.", "#1 resumed", "#2 resumed"]),
    ],
    ids=["declarer", "council"],
)
def test_resolving_names_only_what_its_reader_may_see(
    hidden: World, login: str, said: list[str]
) -> None:
    """The review call of the public incident is public: each reader is told when it is."""
    hidden.ok(DECLARER, 'incident declare sev1 "devnet halted"')
    lines = hidden.ok(login, 'incident resolve #1 "patched"').splitlines()
    review = [line for line in lines if line.startswith(REVIEW_CALL)]
    assert [line for line in lines if line not in review] == said
    assert len(review) == 1


@pytest.mark.parametrize(
    ("declare", "paused"),
    [
        ('incident declare sev1 "probe" clients aurora', "Incident #2 declared (sev1)."),
        ('incident declare sev1 "devnet halted"', "Incident #2 declared (sev1). Paused: #1."),
    ],
    ids=["only-hidden", "one-seen"],
)
def test_hidden_rollouts_are_not_even_counted(hidden: World, declare: str, paused: str) -> None:
    """Whatever the incident holds that its reader may not see is left out: declaring one that
    names aurora, a client of the hidden patches only, and resolving it, say nothing of them."""
    hidden.open_issue(3, form(track="security-patch", clients=("aurora",)), "Second fix")
    decide(hidden, 3)
    hidden.ok(COORDINATOR, "rollout 3")
    hidden.ok(DECLARER, 'incident declare sev3 "earlier, unrelated"')  # incident #1
    said = hidden.ok(DECLARER, declare)
    assert said == paused
    resolved = hidden.ok(DECLARER, "incident resolve #2 fixed").splitlines()
    assert [line for line in resolved if "review call" not in line] == [
        "Incident #2 resolved.",
        *(["#1 resumed"] if "#1" in paused else []),
    ]
    assert "confidential" not in said + "\n".join(resolved)
